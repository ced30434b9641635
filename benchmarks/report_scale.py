"""Benchmark: aggregating and reporting a campaign of 1,000,000 deliveries and 3,000,000 events on PostgreSQL.

    python benchmarks/report_scale.py [--deliveries 1000000] [--events 3000000] [--renders 7] [--quick]

Creates the PostgreSQL database ``wn_bench_report_<pid>`` (from ``--database-url``), migrates it, COPYs N subscribers,
starts a campaign of the benchmark newsletter (20 tracked links) to all of them and marks its deliveries sent over
an hour four days ago (1 % hard-bounced at send time), then writes the events in one ``INSERT … SELECT … FROM
generate_series`` in time order: human opens (browser and mailbox image proxies, spread over three days), Apple
privacy-proxy opens, gateway pre-fetches a second after delivery, human clicks (top links favoured), link-scanner
bursts (five links at once, some at delivery, some hours later), late soft bounces, unsubscribes and complaints.
Then times ``aggregate()`` folding them all (events/s), and renders, as a logged-in superuser through Django's test
client, the campaign's report page, its live-refresh endpoint, and the newsletter dashboard and campaign listing,
several times each (median and max). The database is dropped at the end.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from send_throughput import SITE, admin_sql, with_database  # noqa: E402
from tracking_load import TARGETS_MISSED, bench_env, started_campaign  # noqa: E402

TARGET_RENDER_MS = 500
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=4)

# Events: the share of what is left after bounces, unsubscribes and complaints (each a share of deliveries).
MIX = {"human_opens": 0.58, "privacy_opens": 0.14, "prefetch_opens": 0.03, "human_clicks": 0.19}
HARD_BOUNCES, SOFT_BOUNCES, UNSUBSCRIBES, COMPLAINTS = 0.010, 0.006, 0.0025, 0.0004
BURST_LINKS = 5
BURST = f"SELECT (g - 1) / {BURST_LINKS} AS burst, (g - 1) % {BURST_LINKS} AS burst_link"  # g: the series' number


# --- Data ---------------------------------------------------------------------------------------------------------


def make_campaign(deliveries):
    """A sent campaign: deliveries sent one after the other over an hour, four days ago; the last 1 % failed."""
    from django.db import connection

    from wagtail_newsletter.send.models import Campaign, Delivery

    campaign = started_campaign(deliveries, "report bench")
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id), count(*) FROM {table} WHERE campaign_id = %s", [campaign.pk])
        first, last, count = cursor.fetchone()
        if last - first + 1 != count:
            raise RuntimeError("delivery ids are not contiguous: the event generator assumes they are")
        failed_from = first + count - round(count * HARD_BOUNCES)
        cursor.execute(
            f"UPDATE {table} SET sent_at = %s::timestamptz + (id - %s) * %s * interval '1 second', "
            "status = CASE WHEN id >= %s THEN 3 ELSE 2 END, attempts = 1, "
            "smtp_code = CASE WHEN id >= %s THEN 550 END, "
            "error = CASE WHEN id >= %s THEN '550 5.1.1 <reader@example.net>: Recipient address rejected' ELSE '' END "
            "WHERE campaign_id = %s",
            [START, first, 3600 / count, failed_from, failed_from, failed_from, campaign.pk],
        )
        cursor.execute(f"VACUUM ANALYZE {table}")
    Campaign.objects.filter(pk=campaign.pk).update(
        status="sent", started_at=START, finished_at=START + timedelta(hours=1)
    )
    campaign.refresh_from_db()
    return campaign, first, count


def event_counts(deliveries, events):
    fixed = {
        "hard_bounces": round(deliveries * HARD_BOUNCES),
        "soft_bounces": round(deliveries * SOFT_BOUNCES),
        "unsubscribes": round(deliveries * UNSUBSCRIBES),
        "complaints": round(deliveries * COMPLAINTS),
    }
    rest = events - sum(fixed.values())
    counts = {kind: round(rest * share) for kind, share in MIX.items()}
    bursts = (rest - sum(counts.values())) // BURST_LINKS * BURST_LINKS  # whole bursts; the odd ones are opens
    counts["human_opens"] += rest - sum(counts.values()) - bursts
    counts["burst_clicks"] = bursts
    return {**counts, **fixed}


def insert_events(campaign, first, deliveries, counts):
    """All events in one INSERT … SELECT, ids in time order (as hits arrive). Who does what is a range of the
    deliveries (``n`` = id − first), picked by a multiplicative hash of the series so repeats are spread out."""
    from django.db import connection

    from wagtail_newsletter.track.models import Event

    d = deliveries
    hard_from = d - counts["hard_bounces"]  # failed at send time (see make_campaign)
    soft_from = hard_from - counts["soft_bounces"]
    rejected, full = "'550 5.1.1 Recipient address rejected'", "'452 4.2.2 Mailbox full'"

    def pick(start, size):  # a delivery index in [start, start + size)
        return f"({start} + (g * 2654435761) % {max(1, int(size))})"

    def later(scale_hours, cap_hours=72):  # a delay after delivery, mostly early, capped at three days
        return f"least(-ln(1 - random()) * {scale_hours * 3600}, {cap_hours * 3600})"

    # (count, delivery index, kind, link, seconds after the delivery was sent, agent, detail)
    parts = [
        ("human_opens", pick(0, 0.55 * d), 1, "NULL::int", f"2 + {later(8)}", "(random() < 0.3)::int", "''"),
        ("privacy_opens", pick(0.40 * d, 0.35 * d), 1, "NULL::int", "30 + random() * 1200", "2", "''"),
        ("prefetch_opens", pick(0.75 * d, 0.05 * d), 1, "NULL::int", "random() * 1.5", "0", "''"),
        (
            "human_clicks",
            pick(0, 0.12 * d),
            2,
            "floor(20 * random() ^ 2)::int",
            f"5 + {later(10)}",
            "0",
            "''",
        ),
        (
            "burst_clicks",  # five distinct links within a second, of one delivery (see BURST in the SELECT)
            f"({int(0.80 * d)} + burst % {int(0.15 * d)})",
            2,
            "(burst * 7 + burst_link * 4) % 20",
            "CASE WHEN burst % 2 = 0 THEN 0.4 ELSE 3 * 3600 END + burst_link * 0.15",
            "CASE WHEN burst % 3 = 0 THEN 3 ELSE 0 END",
            "''",
        ),
        ("hard_bounces", f"({hard_from} + g - 1)", 4, "NULL::int", "0.2", "0", rejected),
        ("soft_bounces", f"({soft_from} + g - 1)", 5, "NULL::int", f"600 + {later(6)}", "0", full),
        ("unsubscribes", pick(0, 0.55 * d), 3, "NULL::int", f"60 + {later(12)}", "0", "''"),
        ("complaints", pick(0.55 * d, 0.2 * d), 6, "NULL::int", f"300 + {later(24)}", "0", "'abuse'"),
    ]
    selects = []
    for name, index, kind, link, delay, agent, detail in parts:
        selects.append(
            f"SELECT {first} + {index} AS delivery_id, {kind} AS kind, {link} AS link, "
            f"{delay} AS delay, {agent} AS agent, {detail} AS detail "
            f"FROM generate_series(1, {counts[name]}) g, LATERAL ({BURST}) b"
        )
    table, delivery_table = Event._meta.db_table, "wagtail_newsletter_delivery"
    sql = (
        f"INSERT INTO {table} (campaign_id, delivery_id, kind, link, at, agent, ip_prefix, detail, "
        "device, client, country) "
        f"SELECT {int(campaign.pk)}, e.delivery_id, e.kind, e.link, d.sent_at + e.delay * interval '1 second', "
        "e.agent, "
        f"'203.0.' || (e.delivery_id % 250) || '.0/24', e.detail, "
        # What a person's hit says of the reader (track/devices.py, countries.py): the same for each delivery.
        f"{READER_DEVICE}, {READER_CLIENT}, {READER_COUNTRY} "
        f"FROM ({' UNION ALL '.join(selects)}) e JOIN {delivery_table} d ON d.id = e.delivery_id "
        "ORDER BY 5"
    )
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute(sql)  # no parameters: the SQL's % are modulos
        written = cursor.rowcount
        cursor.execute(f"VACUUM ANALYZE {table}")
    return written


# Device type, client and country of browser (agent 0) and mail-proxy (agent 1) opens and clicks; none for the rest.
_HUMAN = "e.kind IN (1, 2) AND e.agent IN (0, 1)"
READER_DEVICE = f"CASE WHEN {_HUMAN} AND e.agent = 0 THEN 1 + e.delivery_id % 3 ELSE 0 END"
READER_CLIENT = (
    f"CASE WHEN {_HUMAN} AND e.agent = 1 THEN 'Gmail (proxy)' WHEN {_HUMAN} THEN "
    "(ARRAY['Apple Mail', 'Outlook', 'Thunderbird', 'Chrome Mobile', 'Mobile Safari'])[1 + e.delivery_id % 5] "
    "ELSE '' END"
)
READER_COUNTRY = (
    f"CASE WHEN {_HUMAN} AND e.agent = 0 THEN "
    "(ARRAY['FR', 'CH', 'BE', 'DE', 'US', 'CA', 'GB', ''])[1 + e.delivery_id % 8] ELSE '' END"
)


# --- Timings ------------------------------------------------------------------------------------------------------


def timed(function, times):
    """Durations (ms) of ``times`` calls, and the last result."""
    durations, result = [], None
    for _ in range(times):
        started = time.perf_counter()
        result = function()
        durations.append((time.perf_counter() - started) * 1000)
    return durations, result


def show(label, durations, target=None):
    verdict = ""
    if target is not None:
        verdict = f"   target < {target} ms: " + ("met" if max(durations) < target else "NOT met")
    print(
        f"{label:34} median {statistics.median(durations):7.1f} ms   max {max(durations):7.1f} ms   "
        f"(first {durations[0]:.1f} ms, {len(durations)} runs){verdict}"
    )


def pages(campaign):
    """(label, path, target ms) of the pages to render; a page whose URL is not registered is left out (said so)."""
    from django.urls import NoReverseMatch, reverse

    from wagtail_newsletter.admin.send.wizard import url

    wanted = [
        ("campaign report page", lambda: url("report", campaign.pk), TARGET_RENDER_MS),  # with its SVG chart
        ("report live refresh (JSON)", lambda: url("report_live", campaign.pk), TARGET_RENDER_MS),
        ("click map document", lambda: url("click_map", campaign.pk), None),
        ("dashboard (admin home)", lambda: reverse("wagtailadmin_home"), None),
        ("campaign reports listing", lambda: reverse("newsletter_reports:index"), None),
        ("campaigns listing", lambda: url("index"), None),
    ]
    found = []
    for label, path, target in wanted:
        try:
            found.append((label, path(), target))
        except NoReverseMatch:
            print(f"{label}: no URL registered, not measured")
    return found


def measure(args, campaign, written):
    """Aggregate everything, then render the pages; True if the targets are met."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from wagtail_newsletter.track import aggregate, delivery_counts
    from wagtail_newsletter.track.models import CampaignStats

    started = time.perf_counter()
    folded = aggregate.aggregate()  # no budget: everything
    seconds = time.perf_counter() - started
    print(f"aggregate(): {folded:,} events folded in {seconds:.1f} s = {folded / seconds:,.0f} events/s")
    started = time.perf_counter()
    delivery_counts.refresh()  # what the every-minute schedule does after folding (copies for the Reports listing)
    print(f"delivery counts copied for the listings in {1000 * (time.perf_counter() - started):.0f} ms")
    stats = CampaignStats.objects.get(campaign=campaign)
    print(
        f"  stats: opens {stats.opens:,} (unique {stats.unique_opens:,}, machine {stats.machine_opens:,}), "
        f"clicks {stats.clicks:,} (unique {stats.unique_clicks:,}, machine {stats.machine_clicks:,}), "
        f"hard/soft bounces {stats.hard_bounces:,}/{stats.soft_bounces:,}, unsubscribes {stats.unsubscribes:,}, "
        f"complaints {stats.complaints:,}"
    )
    met = folded == written

    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench")
    client = Client()
    client.force_login(user)
    for label, path, target in pages(campaign):

        def render(path=path, label=label):
            response = client.get(path)
            if response.status_code != 200 or (label == "campaign report page" and b"<svg" not in response.content):
                raise RuntimeError(f"{path} answered {response.status_code} without the report")
            return response

        durations, _response = timed(render, args.renders)
        show(label, durations, target)
        met &= target is None or max(durations) < target
    return met


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=3_000_000)
    parser.add_argument("--renders", type=int, default=7, help="renders of each page")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default=f"wn_bench_report_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database (to look at the report in a browser)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10,000 deliveries, 30,000 events")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures as they come, also into a file
    if args.quick:
        args.deliveries, args.events, args.renders = 10_000, 30_000, 3

    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    env = bench_env(db_url)
    os.environ.update(env)
    met = True
    try:
        subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True, env=env)
        import django

        django.setup()
        print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; PostgreSQL {db_url.rsplit('@', 1)[-1]}")
        started = time.monotonic()
        campaign, first, deliveries = make_campaign(args.deliveries)
        print(f"campaign: {deliveries:,} deliveries sent four days ago, in {time.monotonic() - started:.1f} s")
        counts = event_counts(deliveries, args.events)
        started = time.monotonic()
        written = insert_events(campaign, first, deliveries, counts)
        print(
            f"events: {written:,} written in {time.monotonic() - started:.1f} s: "
            + ", ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in counts.items())
        )
        met &= measure(args, campaign, written)
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
