"""Benchmark: one automation tick with 1,000,000 people enrolled and 20,000 of them due.

    python benchmarks/automation_tick.py [--scale 1.0] [--send 1] [--keep]

Creates the PostgreSQL database ``wn_bench_automation_<pid>`` (from ``--database-url``), migrates it, COPYs
1,000,000 × scale subscribers (1 % of them unsubscribed since they entered), and enrols every one of them in a welcome
series (mail 1, wait 2 days, mail 2, wait 3 days, mail 3) with one ``INSERT … SELECT``: all past mail 1 and waiting
for mail 2, 2 % of them due now, the rest over the next days. Then it times one tick (target < 5 s): the leavers leave,
and the due people get their mail 2 as deliveries of the step's campaign, planned set-based, and move on to the
next wait. Then a second tick with nothing due (what every minute costs). It checks the deliveries and positions
against hand-written SQL.

Then (``--send 0`` skips it) the sends, timed as benchmarks/send_throughput.py times a campaign (its
``run_campaign``: a real ``newsletter_qcluster`` with 2 workers, Postfix's ``smtp-sink``, from the start to the relay
accepting the last message): the step's planned deliveries, started by the kick the tick queues (the campaign is held
until then), and an ordinary campaign of the same newsletter to the same people (a group of them) with ``send_now``;
``--send 2`` sends the campaign first. It prints both rates and their ratio (≈ 1: an automation's mails are a
campaign's deliveries) and drops the database. Exit status 3: ran, but missed the target.
"""

import os
import sys
import time
from datetime import timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from segment_count import run_benchmark  # noqa: E402
from send_throughput import copy_subscribers, make_page, run_campaign  # noqa: E402

TARGET_TICK_S = 5.0
DUE_SHARE = 0.02  # 20,000 of 1,000,000
LEFT_SHARE = 0.01  # unsubscribed since they entered


def build(subscribers):
    """The subscribers, the series and its enrolments; returns the automation."""
    from django.db import connection
    from django.utils import timezone

    from wagtail_newsletter.growth.automations.models import Automation, AutomationStep, StepKind
    from wagtail_newsletter.send.dkim_signing import generate_private_key
    from wagtail_newsletter.send.models import SenderDomain

    started = time.monotonic()
    copy_subscribers(subscribers)
    print(f"  {subscribers:,} subscribers copied in {time.monotonic() - started:.1f} s")
    SenderDomain.objects.create(domain="example.org", selector="bench", private_key=generate_private_key())
    pages = [make_page(sections=3)]
    automation = Automation.objects.create(name="Welcome series", trigger="api", active=True)
    steps = [
        {"kind": StepKind.SEND, "page": pages[0]},
        {"kind": StepKind.WAIT, "wait_amount": 2, "wait_unit": "days"},
        {"kind": StepKind.SEND, "page": pages[0]},
        {"kind": StepKind.WAIT, "wait_amount": 3, "wait_unit": "days"},
        {"kind": StepKind.SEND, "page": pages[0]},
    ]
    for order, values in enumerate(steps):
        AutomationStep.objects.create(automation=automation, sort_order=order, **values)
    now = timezone.now()
    due_every = round(1 / DUE_SHARE)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        # Everyone waits at step 3 (mail 2); one in 50 is due now, the others within the next 5 days.
        cursor.execute(
            "INSERT INTO wagtail_newsletter_enrolment (automation_id, subscriber_id, occurrence, round, status, "
            "position, due_at, entered_at, left_reason) "
            "SELECT %s, s.id, 'api:bench', 1, 0, 2, "
            "CASE WHEN s.id %% %s = 0 THEN %s - (s.id %% 600) * interval '1 second' "
            "ELSE %s + (1 + s.id %% 7200) * interval '1 minute' END, %s - interval '2 days', '' "
            "FROM wagtail_newsletter_subscriber s",
            [automation.pk, due_every, now, now, now],
        )
        enrolled = cursor.rowcount
        cursor.execute(
            "UPDATE wagtail_newsletter_subscriber SET status = 'unsubscribed' WHERE id %% %s = 7",
            [round(1 / LEFT_SHARE)],
        )
        cursor.execute("VACUUM ANALYZE wagtail_newsletter_enrolment")
        cursor.execute("VACUUM ANALYZE wagtail_newsletter_subscriber")
    print(f"  {enrolled:,} enrolments written in {time.monotonic() - started:.1f} s")
    return automation, now, pages[0]


def expected(cursor, automation, now):
    """(due and still subscribed, due, leavers) by hand-written SQL."""
    cursor.execute(
        "SELECT count(*) FILTER (WHERE e.due_at <= %s AND s.status = 'subscribed'), "
        "count(*) FILTER (WHERE s.status <> 'subscribed') "
        "FROM wagtail_newsletter_enrolment e JOIN wagtail_newsletter_subscriber s ON s.id = e.subscriber_id "
        "WHERE e.automation_id = %s AND e.status = 0 AND e.position = 2",
        [now, automation.pk],
    )
    return cursor.fetchone()


def build_and_measure(args, subscribers, _events):
    from django.db import connection

    from wagtail_newsletter.growth.automations.models import AutomationStep, Enrolment, StepCampaign
    from wagtail_newsletter.growth.automations.tick import tick
    from wagtail_newsletter.send.models import Delivery

    automation, now, page = build(subscribers)
    with connection.cursor() as cursor:
        due, leavers = expected(cursor, automation, now)
    print(f"due now: {due:,} people (hand-written SQL); leaving: {leavers:,}")
    started = time.monotonic()
    figures = tick(now=now)
    seconds = time.monotonic() - started
    campaign_id = StepCampaign.objects.get(step__automation=automation, step__sort_order=2).campaign_id
    planned = Delivery.objects.filter(campaign_id=campaign_id).count()
    moved = Enrolment.objects.filter(automation=automation, position=4, status=0).count()
    passed = AutomationStep.objects.get(automation=automation, sort_order=2).passed_count
    print(f"tick: {seconds:.2f} s (target < {TARGET_TICK_S:.0f} s): {figures['left']:,} left, {planned:,} deliveries "
          f"planned, {moved:,} moved on to the next wait, step passed count {passed:,}; "
          f"{planned / seconds:,.0f} people/s")  # fmt: skip
    checks = planned == due == moved == passed and figures["left"] == leavers
    print(f"checks against hand-written SQL: {'same' if checks else 'DIFFERENT'}")
    started = time.monotonic()
    tick(now=now + timedelta(seconds=30))
    idle = time.monotonic() - started
    print(f"a tick with nothing due: {idle:.2f} s")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_q_ormq")  # the tick's kicks: queued again below, once the cluster runs
    # The cluster's own minutely tick would enrol the next due people into the step's campaign while it is timed.
    automation.__class__.objects.filter(pk=automation.pk).update(active=False)
    met = checks and seconds < TARGET_TICK_S
    if args.send:
        met = measure_sends(page, campaign_id, campaign_first=args.send == 2) and met
    return met


def measure_sends(page, step_campaign_id, workers=2, batch=200, campaign_first=False):
    """The step's deliveries and a campaign to the same people, each sent by a cluster of its own (in that order,
    or the other: a check that the order doesn't decide the ratio); True when every message of both was sent and
    reached the sink."""
    import tempfile
    from argparse import Namespace

    from wagtail_newsletter.audience.models import Group, Membership
    from wagtail_newsletter.send import campaigns
    from wagtail_newsletter.send.models import Campaign, Delivery

    options = Namespace(concurrency=0, broker="orm", rss_only=0, profile_seconds=0, profile_cpu=False)
    db_url = os.environ["DATABASE_URL"]
    group = Group.objects.create(name="Due today")
    people = Delivery.objects.filter(campaign_id=step_campaign_id).values_list("subscriber_id", flat=True)
    Membership.objects.bulk_create(
        (Membership(subscriber_id=pk, group=group) for pk in people.iterator()), batch_size=5000
    )
    # Held until the timed start: the cluster's dispatcher would otherwise kick it while the cluster warms up.
    step_campaign = campaigns.pause(Campaign.objects.get(pk=step_campaign_id))
    campaign = campaigns.create_campaign(page, name="Same people, as a campaign")
    campaigns.set_audience(campaign, False, [group.pk])
    runs = [
        # resume: back to sending and the same kick (SEND_CONCURRENCY send tasks) as the tick's commit queues.
        ("automation", step_campaign, campaigns.resume),
        ("campaign", campaign, None),  # send_now, as benchmarks/send_throughput.py
    ]
    results = {}
    with tempfile.TemporaryDirectory(prefix="wn_automation_bench_") as tmp:
        for label, sent, start_sending in reversed(runs) if campaign_first else runs:
            results[label] = run_campaign(options, db_url, page, workers, batch, tmp, sent, start_sending)
    print(f"sends: qcluster, {workers} workers, SEND_BATCH_SIZE {batch} → smtp-sink, {' then '.join(results)}; "
          f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    for label, result in results.items():
        print(f"{label} sends: {result['total']:,} planned, {result['sent']:,} sent, {result['failed']:,} failed, "
              f"{result['skipped']:,} skipped, smtp-sink received {result['received']:,}; start → last accepted "
              f"{result['elapsed']:.1f} s = {result['rate']:,.0f} msgs/s (first → last accepted "
              f"{result['steady_rate']:,.0f} msgs/s)")  # fmt: skip
    automation, campaign = results["automation"], results["campaign"]
    print(f"ratio automation sends / campaign sends: {automation['rate'] / campaign['rate']:.2f} "
          f"(first → last accepted: {automation['steady_rate'] / (campaign['steady_rate'] or 1):.2f})")  # fmt: skip
    return all(r["sent"] == r["total"] == r["received"] for r in results.values())


def add_options(parser):
    parser.add_argument("--send", type=int, choices=(0, 1, 2), default=1,
                        help="1: then send the planned mails, then a campaign to the same people; 2: the campaign "
                        "first; 0: no sends")  # fmt: skip


def main():
    # The send benchmark's settings: the kicks queued here must reach the cluster it starts (same queue name).
    return run_benchmark(__doc__.split("\n\n")[0], "automation", build_and_measure, add_options, "_sendbench")


if __name__ == "__main__":
    sys.exit(main())
