"""Benchmark: counting a segment and planning a campaign to it, on 1,000,000 subscribers and 10,000,000 events.

    python benchmarks/segment_count.py [--scale 1.0] [--runs 5] [--keep]

Creates the PostgreSQL database ``wn_bench_segment_<pid>`` (from ``--database-url``), migrates it, and writes with
``INSERT … SELECT … FROM generate_series`` (no Python loop): 1,000,000 × scale subscribers with 3 custom fields
(city, age, birthday) in ``data``, 10 groups (each person in 0–3 of them), 10 campaigns sent over the last 60 days
to half the audience each (5,000,000 × scale deliveries) and 10,000,000 × scale events on them (people's opens and
clicks, privacy-proxy opens, pre-fetches, scanner clicks, bounces), then tracking's per-recipient rows (``Activity``)
folded from those events in one set-based statement with the machine rules of ``track.rules`` (agents and the
2-second delay; scanner bursts are not generated).

Then it times the segment "city is Lyon AND in group G1 AND opened one of the last 3 campaigns" (target < 1 s) and
planning a campaign to it, one ``INSERT … SELECT`` (target < 15 s), prints EXPLAIN's main nodes, checks the count
against a hand-written SQL query of the same conditions, and drops the database. Exit status 3: ran, but missed a
target.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from send_throughput import SITE, admin_sql, with_database  # noqa: E402
from tracking_load import TARGETS_MISSED, bench_env  # noqa: E402

TARGET_COUNT_MS = 1000
TARGET_PLAN_S = 15
CITIES = ["Lyon", "Paris", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg", "Bordeaux", "Lille", "Rennes"]
CAMPAIGNS, GROUPS = 10, 10


def run_sql(cursor, label, sql, params=None):
    started = time.monotonic()
    cursor.execute(sql, params)
    print(f"  {label}: {cursor.rowcount:,} rows in {time.monotonic() - started:.1f} s")


def generate(subscribers, events):
    """All rows, set-based. Returns the ids of the groups and campaigns."""
    from django.db import connection

    from wagtail_newsletter.audience.models import Field, Group
    from wagtail_newsletter.send.models import Campaign

    Field.objects.create(key="city", label="City")
    Field.objects.create(key="age", label="Age", type="number")
    Field.objects.create(key="birthday", label="Birthday", type="date")
    groups = [Group.objects.create(name=f"G{n + 1}").pk for n in range(GROUPS)]
    cities = "ARRAY[" + ",".join(f"'{c}'" for c in CITIES) + "]"
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET synchronous_commit = off")
        run_sql(
            cursor,
            "subscribers",
            "INSERT INTO wagtail_newsletter_subscriber (email, first_name, last_name, language, data, status, source,"
            " first_subscribed_at, status_changed_at, created_at, updated_at) "
            "SELECT 'reader' || g || '@d' || (g % 97) || '.example.org', 'First' || (g % 50), 'Last' || (g % 80), "
            "CASE WHEN g % 3 = 0 THEN 'fr' ELSE 'en' END, "
            f"jsonb_build_object('city', ({cities})[1 + abs(hashint4(g)) % {len(CITIES)}], 'age', 18 + (g * 31) % 70, "
            "'birthday', to_char(date '1950-01-01' + (g * 17) % 20000, 'YYYY-MM-DD')), "
            "CASE WHEN abs(hashint4(g + 7)) % 20 = 0 THEN 'unsubscribed' ELSE 'subscribed' END, 'import', "
            "now() - (g % 700) * interval '1 day', now(), now() - (g % 700) * interval '1 day', now() "
            f"FROM generate_series(1, {subscribers}) g",
        )
        cursor.execute("SELECT min(id) FROM wagtail_newsletter_subscriber")
        first = cursor.fetchone()[0]
        # Each person in 0–3 groups: group k when a hash of (id, k) falls under 25 %.
        run_sql(
            cursor,
            "memberships",
            "INSERT INTO wagtail_newsletter_membership (subscriber_id, group_id, created_at) "
            "SELECT s.id, gr.id, now() FROM wagtail_newsletter_subscriber s CROSS JOIN wagtail_newsletter_group gr "
            "WHERE abs(hashint8(s.id * 1000 + gr.id)) % 100 < 25",
        )
    campaigns = []
    for n in range(CAMPAIGNS):
        campaign = Campaign.objects.create(
            name=f"Issue {n + 1}", status="sent", all_subscribers=True, subject=f"Issue {n + 1}",
        )  # fmt: skip
        campaigns.append(campaign.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE wagtail_newsletter_campaign SET started_at = now() - (60 - 6 * (id - %s)) * interval '1 day' "
            "WHERE id = ANY(%s)",
            [campaigns[0], campaigns],
        )
        # Half the audience per campaign (a different half each time).
        run_sql(
            cursor,
            "deliveries",
            "INSERT INTO wagtail_newsletter_delivery (campaign_id, subscriber_id, status, attempts, sent_at, error) "
            "SELECT c.id, s.id, 2, 1, c.started_at + (s.id % 3600) * interval '1 second', '' "
            "FROM wagtail_newsletter_campaign c CROSS JOIN wagtail_newsletter_subscriber s "
            "WHERE (s.id + c.id) % 2 = 0",
        )
        cursor.execute("SELECT min(id), max(id) FROM wagtail_newsletter_delivery")
        low, high = cursor.fetchone()
        span = high - low + 1
        # Events on deliveries picked by a multiplicative hash: kind and agent from the series number.
        # k: 0–4 people's opens, 5 privacy-proxy open, 6 pre-fetch, 7–8 people's clicks, 9 scanner click (+ bounces).
        run_sql(
            cursor,
            "events",
            "INSERT INTO wagtail_newsletter_event (campaign_id, delivery_id, kind, link, at, agent, ip_prefix, detail) "
            "SELECT d.campaign_id, d.id, "
            "CASE WHEN e.k < 7 THEN 1 WHEN e.g % 200 = 0 THEN 4 ELSE 2 END, "
            "CASE WHEN e.k >= 7 AND e.g % 200 <> 0 THEN (e.g % 5) END, "
            "d.sent_at + CASE WHEN e.k = 6 THEN interval '1 second' ELSE (60 + e.g % 86400) * interval '1 second' END,"
            " CASE e.k WHEN 5 THEN 2 WHEN 9 THEN 3 ELSE 0 END, '', '' "
            f"FROM (SELECT g, g % 10 AS k, {low} + (g * 2654435761) % {span} AS delivery_id "
            f"FROM generate_series(1, {events}) g) e JOIN wagtail_newsletter_delivery d ON d.id = e.delivery_id",
        )
        # Tracking's per-recipient rows, folded from the events by the rules of track.rules (set-based).
        human = "e.agent IN (0, 1) AND e.at - d.sent_at >= interval '2 seconds'"
        run_sql(
            cursor,
            "activity (folded)",
            "INSERT INTO wagtail_newsletter_activity (delivery_id, campaign_id, first_open_at, opens, machine_opens,"
            " first_click_at, clicks, machine_clicks, bounced_at, hard_bounce, bounce_detail)"
            f" SELECT e.delivery_id, min(e.campaign_id), min(e.at) FILTER (WHERE e.kind IN (1, 2) AND {human}), "
            f"count(*) FILTER (WHERE e.kind = 1 AND {human}), count(*) FILTER (WHERE e.kind = 1 AND NOT ({human})), "
            f"min(e.at) FILTER (WHERE e.kind = 2 AND {human}), count(*) FILTER (WHERE e.kind = 2 AND {human}), "
            f"count(*) FILTER (WHERE e.kind = 2 AND NOT ({human})), min(e.at) FILTER (WHERE e.kind = 4), "
            "bool_or(e.kind = 4), '' "
            "FROM wagtail_newsletter_event e JOIN wagtail_newsletter_delivery d ON d.id = e.delivery_id "
            "GROUP BY e.delivery_id",
        )
        for table in ("subscriber", "membership", "delivery", "event", "activity"):
            cursor.execute(f"VACUUM ANALYZE wagtail_newsletter_{table}")
    return groups, campaigns, first


def segment_conditions(group_id):
    return {
        "and": [
            {"field": "data.city", "op": "is", "value": "Lyon"},
            {"groups": "any", "ids": [group_id]},
            {"behaviour": "opened", "scope": {"last_campaigns": 3}},
        ]
    }


def hand_count(group_id):
    """The same conditions written by hand in SQL (human opens are rows of Activity with a first open)."""
    from django.db import connection

    sql = (
        "SELECT count(*) FROM wagtail_newsletter_subscriber s WHERE s.deleted_at IS NULL "
        "AND lower(s.data->>'city') = 'lyon' "
        "AND EXISTS (SELECT 1 FROM wagtail_newsletter_membership m WHERE m.subscriber_id = s.id AND m.group_id = %s) "
        "AND EXISTS (SELECT 1 FROM wagtail_newsletter_activity a JOIN wagtail_newsletter_delivery d "
        "ON d.id = a.delivery_id WHERE d.subscriber_id = s.id AND a.first_open_at IS NOT NULL AND a.campaign_id IN "
        "(SELECT id FROM wagtail_newsletter_campaign WHERE started_at IS NOT NULL AND follow_up = '' "
        "ORDER BY started_at DESC, id DESC LIMIT 3))"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [group_id])
        return cursor.fetchone()[0]


def explain(queryset):
    """The main nodes of the plan PostgreSQL runs (EXPLAIN ANALYZE), one line each, without costs."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY ON) " + sql, params)
        lines = [row[0] for row in cursor.fetchall()]
    nodes = [line for line in lines if "->" in line or not line.startswith(" ")]
    return [line for line in nodes if "Filter" not in line and "Cond" not in line][:25]


def measure(args, groups):
    from django.db import connection, transaction

    from wagtail_newsletter.growth.segments import Segment, set_campaign_segments
    from wagtail_newsletter.send.models import Campaign
    from wagtail_newsletter.send.planner import plan_deliveries

    segment = Segment(name="Lyon, G1, opened one of the last 3", conditions=segment_conditions(groups[0]))
    segment.full_clean()
    segment.save()
    durations, count = [], None
    for _ in range(args.runs):
        started = time.perf_counter()
        count = segment.subscribers().count()
        durations.append((time.perf_counter() - started) * 1000)
    met = max(durations) < TARGET_COUNT_MS
    print(
        f"segment count: {count:,} subscribers; median {statistics.median(durations):.0f} ms, max "
        f"{max(durations):.0f} ms (first {durations[0]:.0f} ms, {args.runs} runs); target < {TARGET_COUNT_MS} ms: "
        + ("met" if met else "NOT met")
    )
    expected = hand_count(groups[0])
    print(f"hand-written SQL count: {expected:,} " + ("(same)" if expected == count else "(DIFFERENT)"))
    met &= expected == count
    print("EXPLAIN ANALYZE of the count's query (main nodes):")
    for line in explain(segment.subscribers().order_by().values("pk")):
        print("   " + line)

    campaign = Campaign.objects.create(name="To the segment", all_subscribers=False)
    set_campaign_segments(campaign, [segment.pk])
    with transaction.atomic():
        started = time.perf_counter()
        planned = plan_deliveries(campaign)
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM wagtail_newsletter_delivery WHERE campaign_id = %s", [campaign.pk])
            rows = cursor.fetchone()[0]
    subscribed = segment.subscribers().filter(status="subscribed").count()
    plan_met = seconds < TARGET_PLAN_S and planned == rows == subscribed
    print(
        f"planning a campaign to the segment: {planned:,} deliveries in {seconds:.2f} s (one INSERT … SELECT; "
        f"{subscribed:,} subscribed in the segment); target < {TARGET_PLAN_S} s: " + ("met" if plan_met else "NOT met")
    )
    return met and plan_met


def run_benchmark(description, name, build_and_measure, add_options=None, settings="_trackbench"):
    """Parse the common options (and a benchmark's own: ``add_options(parser)``), make a throwaway PostgreSQL
    database, migrate it, then ``build_and_measure(args, subscribers, events) -> met`` under the settings module
    ``settings``; the database is dropped unless --keep. Exit status."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 1,000,000 subscribers, 10,000,000 events")
    parser.add_argument("--runs", type=int, default=5, help="counts timed")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default=f"wn_bench_{name}_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    if add_options is not None:
        add_options(parser)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    subscribers, events = max(100, int(1_000_000 * args.scale)), max(1000, int(10_000_000 * args.scale))

    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    env = {**bench_env(db_url), "DJANGO_SETTINGS_MODULE": settings}
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True, env=env)
        import django

        django.setup()
        print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; scale {args.scale}: {subscribers:,} "
              f"subscribers, {events:,} events")  # fmt: skip
        met = build_and_measure(args, subscribers, events)
    finally:
        from django.db import connections

        connections.close_all()
        if args.keep:
            print(f"database kept: {db_url}")
        else:
            admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    return 0 if met else TARGETS_MISSED


def build_and_measure(args, subscribers, events):
    started = time.monotonic()
    groups, _campaigns, _first = generate(subscribers, events)
    print(f"generated in {time.monotonic() - started:.0f} s")
    return measure(args, groups)


def main():
    return run_benchmark(__doc__.split("\n\n")[0], "segment", build_and_measure)


if __name__ == "__main__":
    sys.exit(main())
