"""Benchmark: counting segments on device type, mail client, country and goals (growth/reader_conditions.py).

    python benchmarks/segment_reader_count.py [--scale 1.0] [--runs 5] [--keep]

Writes the audience of ``segment_count.py`` (1,000,000 × scale subscribers, 10 campaigns, 5,000,000 × scale
deliveries, 10,000,000 × scale events folded into ``Activity``), then gives each recipient who opened or clicked a
device type, a mail client and a country (set-based ``UPDATE``, by a hash of the delivery) and records a conversion
for one clicker in ten (``INSERT … SELECT``). It times four segments, each "city is Lyon AND <behaviour>", checks
each count against hand-written SQL, and prints EXPLAIN's main nodes of the first. Exit status 3: a count took 1 s or
more, or differed.
"""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from segment_count import TARGET_COUNT_MS, explain, generate, run_benchmark  # noqa: E402

CLIENTS = ["Apple Mail", "Gmail", "Outlook", "Thunderbird", "Gmail (proxy)", "Samsung Email"]
COUNTRIES = ["FR", "DE", "CH", "BE", "US", "CA", "ES", "IT"]
LAST_3 = (
    "SELECT id FROM wagtail_newsletter_campaign WHERE started_at IS NOT NULL AND follow_up = '' "
    "ORDER BY started_at DESC, id DESC LIMIT 3"
)


def add_readers():
    """Device, client, country on the people's Activity rows; conversions for one clicker in ten. Returns the goal."""
    from django.db import connection
    from wagtail.models import Page

    from wagtail_newsletter.growth.goals import Goal

    goal = Goal.objects.create(name="Ticket", page=Page.objects.get(depth=1))
    clients = "ARRAY[" + ",".join(f"'{c}'" for c in CLIENTS) + "]"
    countries = "ARRAY[" + ",".join(f"'{c}'" for c in COUNTRIES) + "]"
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        started = time.monotonic()
        cursor.execute(
            "UPDATE wagtail_newsletter_activity SET device = 1 + abs(hashint8(delivery_id)) % 3, "
            f"client = ({clients})[1 + abs(hashint8(delivery_id + 1)) % {len(CLIENTS)}], "
            f"country = ({countries})[1 + abs(hashint8(delivery_id + 2)) % {len(COUNTRIES)}] "
            "WHERE first_open_at IS NOT NULL OR first_click_at IS NOT NULL"
        )
        print(f"  readers: {cursor.rowcount:,} Activity rows in {time.monotonic() - started:.1f} s")
        started = time.monotonic()
        cursor.execute(
            "INSERT INTO wagtail_newsletter_conversion (delivery_id, campaign_id, goal_id, link, at) "
            "SELECT delivery_id, campaign_id, %s, 0, first_click_at FROM wagtail_newsletter_activity "
            "WHERE first_click_at IS NOT NULL AND abs(hashint8(delivery_id + 3)) %% 10 = 0",
            [goal.pk],
        )
        print(f"  conversions: {cursor.rowcount:,} in {time.monotonic() - started:.1f} s")
        for table in ("activity", "conversion"):
            cursor.execute(f"VACUUM ANALYZE wagtail_newsletter_{table}")
    return goal.pk


def cases(goal):
    """(label, behaviour node, the hand-written EXISTS of the same condition on subscriber ``s``)."""
    by_delivery = (
        "EXISTS (SELECT 1 FROM wagtail_newsletter_delivery d JOIN {table} x ON x.delivery_id = d.id "
        "WHERE d.subscriber_id = s.id AND {where})"
    )
    activity = "wagtail_newsletter_activity"
    return [
        (
            "phone, one of the last 3 campaigns",
            {"behaviour": "device", "scope": {"last_campaigns": 3}, "devices": ["phone"]},
            by_delivery.format(table=activity, where=f"x.device = 2 AND d.campaign_id IN ({LAST_3})"),
        ),
        (
            "Gmail or Outlook, any campaign",
            {"behaviour": "client", "scope": {}, "clients": ["Gmail", "Outlook"]},
            by_delivery.format(table=activity, where="x.client IN ('Gmail', 'Outlook')"),
        ),
        (
            "from CH or BE, last 30 days",
            {"behaviour": "country", "scope": {"last_days": 30}, "countries": ["CH", "BE"]},
            by_delivery.format(
                table=activity,
                where="x.country IN ('CH', 'BE') AND d.campaign_id IN (SELECT id FROM wagtail_newsletter_campaign "
                "WHERE started_at >= now() - interval '30 days')",
            ),
        ),
        (
            "reached the goal, any campaign",
            {"behaviour": "converted", "scope": {}, "goal": goal},
            by_delivery.format(table="wagtail_newsletter_conversion", where=f"x.goal_id = {int(goal)}"),
        ),
    ]


def measure(args, goal):
    from django.db import connection

    from wagtail_newsletter.growth.segments import Segment

    met = True
    for index, (label, node, hand) in enumerate(cases(goal)):
        conditions = {"and": [{"field": "data.city", "op": "is", "value": "Lyon"}, node]}
        segment = Segment(name=f"Lyon, {label}", conditions=conditions)
        segment.full_clean()
        segment.save()
        durations, count = [], None
        for _ in range(args.runs):
            started = time.perf_counter()
            count = segment.subscribers().count()
            durations.append((time.perf_counter() - started) * 1000)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM wagtail_newsletter_subscriber s WHERE s.deleted_at IS NULL "
                f"AND lower(s.data->>'city') = 'lyon' AND {hand}"
            )
            expected = cursor.fetchone()[0]
        ok = max(durations) < TARGET_COUNT_MS and expected == count
        met &= ok
        print(
            f"Lyon AND {label}: {count:,} subscribers; median {statistics.median(durations):.0f} ms, max "
            f"{max(durations):.0f} ms; hand-written SQL {expected:,} "
            + ("(same)" if expected == count else "(DIFFERENT)")
        )
        if index == 0:
            for line in explain(segment.subscribers().order_by().values("pk")):
                print("   " + line)
    return met


def build_and_measure(args, subscribers, events):
    started = time.monotonic()
    generate(subscribers, events)
    goal = add_readers()
    print(f"generated in {time.monotonic() - started:.0f} s")
    return measure(args, goal)


def main():
    return run_benchmark(__doc__.split("\n\n")[0], "segment_reader", build_and_measure)


if __name__ == "__main__":
    sys.exit(main())
