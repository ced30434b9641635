"""Automations under SIGKILL (PostgreSQL, two workers of a real qcluster, aiosmtpd): 2,000 people go through two
"send" steps while workers are killed at random — those sending and those running the tick. Nothing is missed,
nothing is doubled beyond the one message in flight per kill (with the same Message-ID), and each step ran exactly
once per person (its passed count is the number of people)."""

import os
import random
import signal
import time
from collections import Counter

import pytest
from django.db import connection

from wagtail_newsletter.audience.models import Subscriber
from wagtail_newsletter.growth.automations.enrol import start_automation
from wagtail_newsletter.growth.automations.models import (
    Automation,
    AutomationStep,
    Enrolment,
    EnrolmentStatus,
    StepCampaign,
    StepKind,
    Trigger,
)
from wagtail_newsletter.schedules import ensure_schedules
from wagtail_newsletter.send.models import Delivery, DeliveryStatus
from wagtail_newsletter.send.outgoing import message_id_for

from .compose_editor_fixtures import make_newsletter
from .send_cluster import (  # noqa: F401 (fixtures)
    cluster_factory,
    cluster_log,
    descendants,
    make_audience,
    sending_workers,
    sink,
    wait_for,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the crash test runs on PostgreSQL (SKIP LOCKED)"),
]

PEOPLE = 2000
CLUSTER = {"workers": 2, "timeout": 20, "retry": 25, "poll": 0.1}
SETTINGS = {
    "SEND_BATCH_SIZE": 50,
    "SEND_RETRY_SECONDS": 0.2,
    "SEND_TASK_SECONDS": 8,
    "SEND_LEASE_SECONDS": 5,
    "SEND_CONCURRENCY": 2,
    "AUTOMATION_BATCH_SIZE": 50,  # many small tick transactions: kills land inside them
}


def _local_ports_to_postgres():
    """{local port: socket inode} of this machine's TCP connections to PostgreSQL (from /proc/net/tcp)."""
    found = {}
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if state == "01" and int(remote.split(":")[1], 16) == 5432:
                found[int(local.split(":")[1], 16)] = inode
    return found


def ticking_workers(cluster_pid):
    """Processes of the cluster whose database session is (or last was) working on enrolments: the tick."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_port FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query ILIKE %s AND client_port IS NOT NULL",
            ["%wagtail_newsletter_enrolment%"],
        )
        ports = {row[0] for row in cursor.fetchall()}
    inodes = {inode for port, inode in _local_ports_to_postgres().items() if port in ports}
    found = []
    for pid in descendants(cluster_pid):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(link.startswith("socket:[") and link[8:-1] in inodes for link in links):
            found.append(pid)
    return found


def done(automation):
    return Enrolment.objects.filter(automation=automation, status=EnrolmentStatus.DONE).count() == PEOPLE and not (
        Delivery.objects.filter(campaign__in=campaign_ids(automation))
        .exclude(status__in=(DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED))
        .exists()
    )


def campaign_ids(automation):
    return list(StepCampaign.objects.filter(step__automation=automation).values_list("campaign_id", flat=True))


def test_killed_workers_miss_nothing_and_double_only_the_message_in_flight(
    archive,
    sink,  # noqa: F811
    cluster_factory,  # noqa: F811
    queue_for_real,
):
    audience = make_audience(PEOPLE)
    automation = Automation.objects.create(name="Two mails", trigger=Trigger.API, active=True)
    for order, title in enumerate(("First", "Second")):
        page = make_newsletter(archive, title=title, slug=title.lower(), subject=f"{title} mail")
        AutomationStep.objects.create(automation=automation, sort_order=order, kind=StepKind.SEND, page=page)
    ensure_schedules()  # the tick every minute backs up a tick task lost with its worker
    sink.handler.delay = 0.002
    cluster = cluster_factory(sink.port, CLUSTER, SETTINGS)
    assert start_automation(automation, Subscriber.objects.all()) == PEOPLE  # asks the cluster for a tick

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = {"tick": 0, "send": 0}
    deadline = time.monotonic() + 300
    while sum(kills.values()) < 8 and time.monotonic() < deadline and not done(automation):
        time.sleep(rng.uniform(0.3, 2.0))
        ticking = ticking_workers(cluster.pid)
        sending = sending_workers(cluster.pid, sink.port)
        kind = "tick" if ticking and (kills["tick"] <= kills["send"] or not sending) else "send"
        victims = ticking if kind == "tick" else sending
        if victims:
            os.kill(rng.choice(victims), signal.SIGKILL)
            kills[kind] += 1
    if not wait_for(lambda: done(automation), 300, interval=1):
        pytest.fail(f"not done (seed {seed}, kills {kills}); qcluster said:\n{cluster_log(cluster)}")

    # Which mail each message was: its Message-ID names its delivery.
    deliveries = Delivery.objects.filter(campaign__in=campaign_ids(automation))
    mail_of = {message_id_for(pk, "example.org"): (email, campaign) for pk, email, campaign in
               deliveries.values_list("pk", "subscriber__email", "campaign_id")}  # fmt: skip
    received = list(sink.handler.received)
    per_mail = Counter(mail_of.get(message_id) for _rcpt, message_id, _sender in received)
    expected = {(email, campaign) for email in audience for campaign in campaign_ids(automation)}
    missed = expected - set(per_mail)
    duplicates = sum(count - 1 for count in per_mail.values())
    print(f"seed {seed}: kills {kills}, {len(received)} messages, {duplicates} duplicates, {len(missed)} missed")
    assert None not in per_mail  # every message was one of the automation's deliveries
    assert sum(kills.values()) >= 3, f"only {kills} kills (seed {seed})"
    assert not missed
    assert duplicates <= kills["send"]
    assert deliveries.count() == 2 * PEOPLE
    assert deliveries.filter(status=DeliveryStatus.SENT).count() == 2 * PEOPLE
    # Each step ran exactly once per person, whatever the kills.
    assert list(automation.steps.order_by("sort_order").values_list("passed_count", flat=True)) == [PEOPLE, PEOPLE]
