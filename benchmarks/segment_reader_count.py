"""Benchmark: counting segments on device type, mail client, country and goals (growth/reader_conditions.py).

    python benchmarks/segment_reader_count.py [--scale 1.0] [--runs 5] [--keep]

Writes the audience of ``segment_count.py`` (1,000,000 × scale subscribers, 10 campaigns, 5,000,000 × scale
deliveries, 10,000,000 × scale events folded into ``Activity``), then gives each recipient who opened or clicked a
device type, a mail client and a country (set-based ``UPDATE``, by a hash of the delivery) and records a conversion
for one clicker in ten (``INSERT … SELECT``). It times four segments, each "city is Lyon AND <behaviour>", checks
each count against hand-written SQL, and prints EXPLAIN's main nodes of the first. Exit status 3: a count took 1 s or
more, or differed.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from segment_count import TARGET_COUNT_MS, explain, generate  # noqa: E402
from send_throughput import SITE, admin_sql, with_database  # noqa: E402
from tracking_load import TARGETS_MISSED, bench_env  # noqa: E402

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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 1,000,000 subscribers, 10,000,000 events")
    parser.add_argument("--runs", type=int, default=5, help="counts timed")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default=f"wn_bench_segment_reader_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    subscribers, events = max(100, int(1_000_000 * args.scale)), max(1000, int(10_000_000 * args.scale))

    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    env = bench_env(db_url)
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True, env=env)
        import django

        django.setup()
        print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; scale {args.scale}: {subscribers:,} "
              f"subscribers, {events:,} events")  # fmt: skip
        started = time.monotonic()
        generate(subscribers, events)
        goal = add_readers()
        print(f"generated in {time.monotonic() - started:.0f} s")
        met = measure(args, goal)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"database kept: {db_url}")
        else:
            admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    return 0 if met else TARGETS_MISSED


if __name__ == "__main__":
    sys.exit(main())
