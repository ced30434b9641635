"""Campaigns delivered by real ``qcluster`` processes to a real SMTP server: workers killed with SIGKILL, a relay
that fails at random and goes down, pause and resume, a scheduled start."""

import os
import random
import signal
import time
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from wagtail_newsletter.schedules import ensure_schedules
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus

from .compose_editor_fixtures import make_newsletter
from .send_cluster import (  # noqa: F401 (fixtures)
    cluster_factory,
    cluster_log,
    make_audience,
    sending_workers,
    sink,
    start_campaign,
    wait_finished,
    wait_for,
)
from .test_send_engine import archive  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


FAST = {"SEND_BATCH_SIZE": 50, "SEND_RETRY_SECONDS": 0.2, "SEND_TASK_SECONDS": 8, "SEND_LEASE_SECONDS": 6}
CLUSTER = {"workers": 2, "timeout": 20, "retry": 25, "poll": 0.1}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the crash test runs on PostgreSQL (SKIP LOCKED)")
def test_workers_killed_at_random_lose_nothing(archive, sink, cluster_factory, queue_for_real):  # noqa: F811
    """20,000 recipients, 2 workers, a sending worker SIGKILLed at random moments (at least 5 times)."""
    audience = make_audience(20_000)
    ensure_schedules()  # the dispatcher backs up lost kicks
    settings = {**FAST, "SEND_BATCH_SIZE": 100, "SEND_LEASE_SECONDS": 5, "SEND_CONCURRENCY": 2}
    cluster = cluster_factory(sink.port, CLUSTER, settings)
    campaign = start_campaign(archive)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = 0
    deadline = time.monotonic() + 300
    while kills < 7 and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.5, 3.0))
        if Campaign.objects.get(pk=campaign.pk).is_finished:
            break
        senders = sending_workers(cluster.pid, sink.port)
        if senders:
            os.kill(rng.choice(senders), signal.SIGKILL)
            kills += 1
    campaign = wait_finished(campaign, cluster, timeout=300)

    received = list(sink.handler.received)
    per_recipient = Counter(rcpt for rcpt, _message_id, _sender in received)
    missed = audience - set(per_recipient)
    duplicates = sum(count - 1 for count in per_recipient.values())
    print(f"seed {seed}: {kills} kills, {len(received)} messages, {duplicates} duplicates, {len(missed)} missed")
    assert kills >= 5, f"only {kills} kills (seed {seed}): the campaign ended too soon"
    assert campaign.status == CampaignStatus.SENT
    assert not missed
    assert duplicates <= kills
    for rcpt, count in per_recipient.items():
        if count > 1:  # the message in flight when its worker died: sent again with the same Message-ID
            assert len({mid for r, mid, _s in received if r == rcpt}) == 1
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT).count() == 20_000


def test_flaky_relay_and_outage(archive, sink, cluster_factory, queue_for_real):  # noqa: F811
    """Random 421/451, permanent 550 for some addresses, and the relay down for a while: nothing lost."""
    audience = make_audience(400)
    refused = {f"r{i}@example.net" for i in range(0, 400, 37)}
    rng = random.Random(7)

    def answer(address):
        if address in refused:
            return "550 5.1.1 No such mailbox"
        roll = rng.random()
        if roll < 0.06:
            return "421 4.7.0 Too many messages, slow down"
        if roll < 0.15:
            return "451 4.3.0 Temporary local problem"
        return None

    sink.handler.rcpt_answer = answer
    sink.handler.delay = 0.003
    cluster = cluster_factory(sink.port, CLUSTER, {**FAST, "SEND_MAX_ATTEMPTS": 30, "SEND_CONCURRENCY": 2})
    campaign = start_campaign(archive)
    assert wait_for(lambda: sink.handler.count() >= 100, 60), cluster_log(cluster)
    sink.stop()  # the relay goes down…
    time.sleep(3)
    down_count = sink.handler.count()
    sink.start()  # …and comes back
    campaign = wait_finished(campaign, cluster, timeout=180)

    received = Counter(rcpt for rcpt, _mid, _s in sink.handler.received)
    assert down_count < 400
    assert set(received) == audience - refused
    assert max(received.values()) == 1
    failed = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.FAILED)
    assert set(failed.values_list("subscriber__email", flat=True)) == refused
    assert set(failed.values_list("smtp_code", flat=True)) == {550}
    assert all("No such mailbox" in error for error in failed.values_list("error", flat=True))
    retried = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT, attempts__gt=1)
    assert retried.exists()


def test_pause_resume_mid_send(archive, sink, cluster_factory, queue_for_real):  # noqa: F811
    audience = make_audience(1500)
    sink.handler.delay = 0.004
    cluster = cluster_factory(sink.port, CLUSTER, {**FAST, "SEND_CONCURRENCY": 2})
    campaign = start_campaign(archive)
    assert wait_for(lambda: sink.handler.count() >= 200, 60), cluster_log(cluster)
    campaigns.pause(campaign)
    time.sleep(2.5)  # messages already handed to the relay finish; nothing new starts
    paused_count = sink.handler.count()
    time.sleep(2)
    assert sink.handler.count() == paused_count < 1500
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.PAUSED
    campaigns.resume(campaign)
    campaign = wait_finished(campaign, cluster, timeout=120)
    received = Counter(rcpt for rcpt, _mid, _s in sink.handler.received)
    assert set(received) == audience and max(received.values()) == 1
    assert campaign.status == CampaignStatus.SENT


def test_scheduled_campaign_starts_on_time(archive, sink, cluster_factory, queue_for_real):  # noqa: F811
    audience = make_audience(30)
    newsletter = make_newsletter(archive)
    campaign = campaigns.create_campaign(newsletter)
    campaigns.set_audience(campaign, True)
    when = timezone.now() + timezone.timedelta(seconds=4)
    campaigns.schedule(campaign, when)
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SCHEDULED
    cluster = cluster_factory(sink.port, CLUSTER, FAST)
    time.sleep(2)
    assert sink.handler.count() == 0  # not before its time
    campaign = wait_finished(campaign, cluster, timeout=60)
    # django-q2's scheduler looks at its schedules every 30 s: that is the precision of a scheduled start.
    assert when <= campaign.started_at <= when + timezone.timedelta(seconds=35)
    assert {rcpt for rcpt, _mid, _s in sink.handler.received} == audience
