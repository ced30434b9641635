"""Two ``qcluster`` processes of one worker each send one campaign on PostgreSQL, with the default lease: its send
tasks spread over both clusters, and when one cluster's whole process group is SIGKILLed, the other sends the
next message at once and takes over the dead one's claimed recipients within 15 s (no dispatcher schedule, and
the dead cluster's tasks are not handed out again before django-q2's ``retry``). The killed cluster is started
again, as systemd's ``Restart=always`` would, and joins in. Nobody missed; at most one duplicate per kill, with the
same Message-ID."""

import os
import signal
import time
from collections import Counter
from functools import partial

import pytest
from django.db import connection

from wagtail_newsletter.send.models import Campaign, Delivery, DeliveryStatus

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

CLUSTER = {"workers": 1, "timeout": 60, "retry": 90, "poll": 0.1}
SENDING = {"SEND_BATCH_SIZE": 50, "SEND_CONCURRENCY": 2}  # the default lease and task length
KILLS = 3
TAKEOVER_SECONDS = 15


def seconds_until(predicate, since, timeout):
    """Seconds from ``since`` (a monotonic time) until ``predicate()`` holds; None if not within ``timeout``."""
    return time.monotonic() - since if wait_for(predicate, timeout - (time.monotonic() - since), 0.05) else None


def more_than(handler, count):
    return handler.count() > count


def taken_over(held):
    """Whether every row claimed at the kill (``held``: id -> claim) is sent or claimed again by a live worker."""
    rows = Delivery.objects.filter(id__in=held).exclude(status=DeliveryStatus.SENT).values_list("id", "claim")
    return all(claim != held[pk] for pk, claim in rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two clusters side by side: PostgreSQL (SKIP LOCKED)")
def test_a_killed_cluster_s_share_is_taken_over_within_15_s(archive, sink, cluster_factory, queue_for_real):  # noqa: F811
    audience = make_audience(8000)
    sink.handler.delay = 0.02  # about 50 messages/s per worker: the campaign outlasts the kills
    clusters = [cluster_factory(sink.port, CLUSTER, SENDING) for _ in range(2)]
    campaign = start_campaign(archive)
    for kill in range(KILLS):
        since = time.monotonic()
        spread = seconds_until(lambda: all(sending_workers(c.pid, sink.port) for c in clusters), since, 20)
        assert spread is not None, "the send tasks piled onto one cluster:\n" + "\n".join(map(cluster_log, clusters))
        victim = clusters[kill % 2]
        os.killpg(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        victim.wait(timeout=10)
        clusters[kill % 2] = cluster_factory(sink.port, CLUSTER, SENDING)  # as systemd's Restart=always would
        count = sink.handler.count()
        claimed = Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.CLAIMED)
        held = dict(claimed.values_list("id", "claim"))
        assert len(audience) - count > 1000, "the campaign ended too soon"
        next_message = seconds_until(partial(more_than, sink.handler, count), killed_at, TAKEOVER_SECONDS)
        takeover = seconds_until(partial(taken_over, held), killed_at, TAKEOVER_SECONDS)
        print(
            f"kill {kill + 1}: both clusters sending after {spread:.1f} s; next message after {next_message} s; "
            f"the {len(held)} claimed rows taken over after {takeover} s"
        )
        assert next_message is not None, f"no message within {TAKEOVER_SECONDS} s of the kill"
        assert takeover is not None, f"the dead cluster's claims were not taken over within {TAKEOVER_SECONDS} s"

    sink.handler.delay = 0
    wait_finished(campaign, clusters[0], timeout=120)
    messages = list(sink.handler.received)
    per_recipient = Counter(rcpt for rcpt, _mid, _sender in messages)
    missed = audience - set(per_recipient)
    duplicates = sum(count - 1 for count in per_recipient.values())
    print(f"{KILLS} kills, {len(messages)} messages, {duplicates} duplicates, {len(missed)} missed")
    assert not missed
    assert duplicates <= KILLS
    for rcpt, count in per_recipient.items():
        if count > 1:  # the message in flight when its cluster died: sent again with the same Message-ID
            assert len({mid for r, mid, _s in messages if r == rcpt}) == 1
    assert Campaign.objects.get(pk=campaign.pk).status == "sent"


def test_a_live_worker_keeps_its_claims_while_the_relay_is_slower_than_the_lease(
    archive, sink, cluster_factory, queue_for_real  # noqa: F811
):
    """Each message takes the relay 3 s, the lease is 2 s. One worker claims both recipients; the other, finding
    nothing to claim, waits for that lease to run out: the heartbeat keeps renewing it, so nothing is sent twice."""
    audience = make_audience(2)
    sink.handler.delay = 3
    settings = {"SEND_BATCH_SIZE": 3, "SEND_CONCURRENCY": 2, "SEND_LEASE_SECONDS": 2}
    cluster = cluster_factory(sink.port, {**CLUSTER, "workers": 2}, settings)
    campaign = start_campaign(archive)
    wait_finished(campaign, cluster, timeout=90)
    per_recipient = Counter(rcpt for rcpt, _mid, _sender in sink.handler.received)
    assert set(per_recipient) == audience
    assert max(per_recipient.values()) == 1
