"""Benchmark: what the segment indexes (migration 0008) cost the hot paths that write the indexed tables, on PostgreSQL.

    python benchmarks/segment_index_cost.py [--deliveries 200000] [--events 600000]

Folding tracking events into ``Activity`` (two partial indexes added) and planning a campaign's deliveries (the
subscriber index of ``Delivery`` now has three columns instead of one), each timed in one database with and without
those indexes, alternately: without, with, without, with. Data as ``report_scale.py`` makes it (a campaign sent to
N subscribers, human and machine opens and clicks, bounces). The database is dropped at the end.
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from report_scale import event_counts, insert_events, make_campaign  # noqa: E402
from send_throughput import SITE, admin_sql, with_database  # noqa: E402
from tracking_load import bench_env  # noqa: E402

ACTIVITY_INDEXES = {
    "wn_activity_opened": "ON wagtail_newsletter_activity (delivery_id) WHERE first_open_at IS NOT NULL",
    "wn_activity_clicked": "ON wagtail_newsletter_activity (delivery_id) WHERE first_click_at IS NOT NULL",
}
NEW_DELIVERY_INDEX = ("wn_delivery_by_subscriber", "ON wagtail_newsletter_delivery (subscriber_id, campaign_id, id)")
OLD_DELIVERY_INDEX = ("wn_delivery_subscriber", "ON wagtail_newsletter_delivery (subscriber_id)")
FOLDED = ("activity", "linkactivity", "campaignstats", "linkstats", "timelinebucket", "aggregationstate")


def sql(*statements):
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def set_indexes(with_new):
    drops = [
        f"DROP INDEX IF EXISTS {name}" for name in (*ACTIVITY_INDEXES, NEW_DELIVERY_INDEX[0], OLD_DELIVERY_INDEX[0])
    ]
    sql(*drops)
    if with_new:
        sql(*(f"CREATE INDEX {name} {body}" for name, body in (*ACTIVITY_INDEXES.items(), NEW_DELIVERY_INDEX)))
    else:
        sql(f"CREATE INDEX {OLD_DELIVERY_INDEX[0]} {OLD_DELIVERY_INDEX[1]}")


def fold_seconds():
    from django.db import connection

    from wagtail_newsletter.track import aggregate

    tables = [f"wagtail_newsletter_{name}" for name in FOLDED]
    if "wagtail_newsletter_audiencebreakdown" in connection.introspection.table_names():
        tables.append("wagtail_newsletter_audiencebreakdown")
    sql(f"TRUNCATE {', '.join(tables)}", "VACUUM ANALYZE wagtail_newsletter_activity")
    started = time.perf_counter()
    folded = aggregate.aggregate()
    return folded, time.perf_counter() - started


def plan_seconds(campaign_id):
    from django.db import transaction

    from wagtail_newsletter.send.models import Campaign, Delivery
    from wagtail_newsletter.send.planner import plan_deliveries

    campaign = Campaign.objects.create(name="plan bench", all_subscribers=True)
    with transaction.atomic():
        started = time.perf_counter()
        planned = plan_deliveries(campaign)
        seconds = time.perf_counter() - started
    Delivery.objects.filter(campaign=campaign).delete()
    campaign.delete()
    sql("VACUUM wagtail_newsletter_delivery")
    return planned, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default=f"wn_bench_index_cost_{os.getpid()}")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    env = bench_env(db_url)
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True, env=env)
        import django

        django.setup()
        print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        campaign, first, deliveries = make_campaign(args.deliveries)
        written = insert_events(campaign, first, deliveries, event_counts(deliveries, args.events))
        print(f"{deliveries:,} deliveries, {written:,} events")
        for with_new in (False, True, False, True):
            set_indexes(with_new)
            folded, fold = fold_seconds()
            planned, plan = plan_seconds(campaign.pk)
            label = "with the segment indexes   " if with_new else "without (the indexes before)"
            print(
                f"{label}: aggregate {folded:,} events in {fold:.1f} s = {folded / fold:,.0f} events/s; "
                f"planning {planned:,} deliveries in {plan:.2f} s"
            )
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
