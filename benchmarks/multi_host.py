"""Benchmark: one campaign sent by one "host" and by two, on the Redis broker and one PostgreSQL.

    python benchmarks/multi_host.py [--recipients 20000] [--runs 1x2,2x2,1x4] [--events-per-delivery 3]

Creates the PostgreSQL database ``wn_bench_multihost_<pid>`` (from ``--database-url``), migrates it, COPYs N
subscribers and makes the send benchmark's ~30 KB newsletter (benchmarks/send_throughput.py) with a DKIM key. Each run
``HxW`` starts H hosts of W workers: ``manage.py newsletter_qcluster`` in a session of its own per host (as on its own
machine), all on one Redis queue (``--redis-url``, under a queue name of this run: its key prefix) and one smtp-sink on
127.0.0.1, with ``SEND_CONCURRENCY`` = H x W; sends the campaign to the N subscribers and times it from ``send_now`` to
the relay accepting the last message. Meanwhile it samples ``pg_stat_activity`` for the database (the benchmark's own
connection left out) every 0.25 s, and the CPU time of each host's processes (both hosts took part: each used CPU).

Then the database figures of docs/operators-multi-host.md: the bytes per Delivery row (table, TOAST and indexes) of
the campaigns just sent; the events a campaign gets (``--events-per-delivery`` per delivery, the mix of
benchmarks/report_scale.py: opens, clicks, scanners, bounces, unsubscribes, complaints) written for the first campaign,
their bytes per row, and the per-reader rows ``aggregate()`` folds them into; each scaled to 1,000,000 recipients.

On a 2-core machine every host, PostgreSQL, Redis and the sink share the same two cores: two hosts there show the
cost of coordination, not the gain of a second machine. Everything it starts is stopped at the end (also on errors
and Ctrl-C), the database dropped and the Redis keys deleted.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from send_throughput import SITE, admin_sql, copy_subscribers, env_for, make_page, warm_up, with_database  # noqa: E402

SENT = 2  # DeliveryStatus.SENT


def host_env(db_url, sink_port, hosts, workers, queue, redis_url):
    env = env_for(db_url, sink_port, workers, 200, hosts * workers, "redis")
    env.update(DJANGO_SETTINGS_MODULE="_multihostbench", WN_BENCH_Q_NAME=queue, WN_BENCH_REDIS_URL=redis_url)
    return env


class Connections:
    """Samples pg_stat_activity for one database from a connection to another, leaving out ``own_pid``."""

    def __init__(self, server_url, database, own_pid):
        import psycopg

        self.conn = psycopg.connect(server_url, autocommit=True)
        self.database, self.own_pid = database, own_pid
        self.samples = []

    def sample(self):
        row = self.conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> %s",
            [self.database, self.own_pid],
        ).fetchone()
        self.samples.append(row)

    def summary(self):
        totals = [total for total, _active in self.samples] or [0]
        actives = [active for _total, active in self.samples] or [0]
        return {"peak": max(totals), "median": statistics.median(totals), "active_peak": max(actives)}


def run(args, db_url, page, hosts, workers, tmp, connections):
    from _sendbench import free_port, sample_processes, start, stop
    from django.db import connection

    from wagtail_newsletter.send import campaigns
    from wagtail_newsletter.send.models import Delivery

    port = free_port()
    sink = start(["/usr/sbin/smtp-sink", "-c", "-u", "nobody", f"127.0.0.1:{port}", "1000"], f"{tmp}/sink-{port}.log")
    env = host_env(db_url, port, hosts, workers, args.queue, args.redis_url)
    clusters = []
    try:
        for host in range(hosts):
            clusters.append(
                start(
                    [sys.executable, os.path.join(SITE, "manage.py"), "newsletter_qcluster"],
                    f"{tmp}/host{host}-{hosts}x{workers}.log",
                    env,
                )
            )
        for cluster in clusters:
            warm_up(cluster)  # a trivial task run: taken by any host, so it only shows the queue works
        time.sleep(2)  # every worker forked and waiting
        connections.samples.clear()
        connections.sample()
        before = connections.samples[-1][0]
        cpu = [{} for _ in clusters]
        for table, cluster in zip(cpu, clusters, strict=True):
            sample_processes(cluster.pid, table)
        cpu_before = [sum(row[2] for row in table.values()) for table in cpu]
        campaign = campaigns.create_campaign(page, name=f"bench {hosts}x{workers}")
        campaigns.set_audience(campaign, True)
        wall_start, started = time.time(), time.monotonic()
        campaign = campaigns.send_now(campaign)
        total = campaign.recipient_count
        sql = f"SELECT count(*) FROM {Delivery._meta.db_table} WHERE campaign_id = %s AND status IN (2, 3, 4)"
        done, deadline = 0, started + max(600, total / 20)
        while done < total:
            time.sleep(0.25)
            connections.sample()
            with connection.cursor() as cursor:
                cursor.execute(sql, [campaign.pk])
                done = cursor.fetchone()[0]
            if any(cluster.poll() is not None for cluster in clusters) or time.monotonic() > deadline:
                raise RuntimeError(f"campaign stalled at {done}/{total}; see {tmp}")
        for table, cluster in zip(cpu, clusters, strict=True):
            sample_processes(cluster.pid, table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*), max(sent_at) FROM {Delivery._meta.db_table} WHERE campaign_id = %s AND status = %s",
                [campaign.pk, SENT],
            )
            sent, last_sent = cursor.fetchone()
        elapsed = last_sent.timestamp() - wall_start
        return {
            "hosts": hosts,
            "workers": workers,
            "sent": sent,
            "total": total,
            "elapsed": elapsed,
            "rate": sent / elapsed,
            "connections_idle": before,
            **connections.summary(),
            "host_cpu": [sum(row[2] for row in table.values()) - b for table, b in zip(cpu, cpu_before, strict=True)],
            "campaign": campaign,
        }
    finally:
        for cluster in clusters:
            stop(cluster)
        stop(sink)


def table_bytes(table):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(
            "SELECT pg_total_relation_size(%s), pg_relation_size(%s), pg_indexes_size(%s), "
            f"(SELECT count(*) FROM {table})",
            [table, table, table],
        )
        return cursor.fetchone()


def database_figures(args, campaign):
    """Bytes per Delivery and Event row, events written for ``campaign``, the per-reader rows they fold into."""
    from django.db import connection
    from django.db.models import F
    from report_scale import event_counts, insert_events

    from wagtail_newsletter.send.models import Delivery, Event
    from wagtail_newsletter.track import aggregate

    deliveries = campaign.recipient_count
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), count(*) FROM {Delivery._meta.db_table} WHERE campaign_id = %s", [campaign.pk])
        first, count = cursor.fetchone()
    # As if sent four days ago (report_scale.py's campaign): its events, up to three days later, are all past and
    # settled, so aggregate() folds them all.
    Delivery.objects.filter(campaign=campaign).update(sent_at=F("sent_at") - timedelta(days=4))
    written = insert_events(campaign, first, count, event_counts(count, count * args.events_per_delivery))
    started = time.monotonic()
    folded = aggregate.aggregate()
    fold_seconds = time.monotonic() - started
    rows = {}
    for model in (Delivery, Event):
        rows[model.__name__] = table_bytes(model._meta.db_table)
    with connection.cursor() as cursor:
        for name in ("activity", "linkactivity"):
            cursor.execute(
                f"SELECT count(*), pg_total_relation_size('wagtail_newsletter_{name}') FROM wagtail_newsletter_{name}"
            )
            rows[name] = cursor.fetchone()
    return deliveries, written, folded, fold_seconds, rows


def report(results, figures):
    print("\nruns (H hosts x W workers, one PostgreSQL, one Redis, one smtp-sink, all on this machine):")
    one = next((r for r in results if r["hosts"] == 1 and r["workers"] == results[0]["workers"]), results[0])
    for r in results:
        cpu = ", ".join(f"{seconds:.0f} s" for seconds in r["host_cpu"])
        print(
            f"  {r['hosts']}x{r['workers']}: {r['sent']:,}/{r['total']:,} sent in {r['elapsed']:.1f} s = "
            f"{r['rate']:,.0f} msgs/s ({r['rate'] / one['rate']:.2f} x {one['hosts']}x{one['workers']}); "
            f"PostgreSQL connections: {r['connections_idle']} idle before the send, peak {r['peak']} "
            f"(median {r['median']:.0f}, at most {r['active_peak']} active); CPU per host: {cpu}"
        )
    deliveries, written, folded, fold_seconds, rows = figures
    per_million = 1_000_000 / deliveries
    print(f"\ndatabase, per 1,000,000 recipients (measured on {deliveries:,} deliveries per campaign):")
    for name in ("Delivery", "Event"):
        total, heap, indexes, count = rows[name]
        print(
            f"  {name}: {total / count:.0f} bytes/row ({heap / count:.0f} table + {indexes / count:.0f} indexes); "
            f"{count:,} rows = {total / 2**20:.1f} MiB"
        )
    delivery_total, _h, _i, delivery_count = rows["Delivery"]
    event_total, _h, _i, event_count = rows["Event"]
    print(
        f"  a campaign: {deliveries * per_million:,.0f} Delivery rows = "
        f"{delivery_total / delivery_count * 1e6 / 2**20:,.0f} MiB; "
        f"{written:,} events written for one campaign -> {written * per_million:,.0f} Event rows = "
        f"{event_total / event_count * written * per_million / 2**20:,.0f} MiB"
    )
    for name in ("activity", "linkactivity"):
        count, size = rows[name]
        print(f"  {name}: {count:,} rows ({size / max(count, 1):.0f} bytes/row) -> {count * per_million:,.0f} rows")
    print(f"  aggregate(): {folded:,} events folded in {fold_seconds:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--runs", default="1x2,2x2,1x4", help="HOSTSxWORKERS, comma-separated, run in turn")
    parser.add_argument("--events-per-delivery", type=int, default=3)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    args.queue = f"wn_bench_multihost_{os.getpid()}"
    bench_db = args.queue
    db_url = with_database(args.database_url, bench_db)
    admin_sql(args.database_url, f'CREATE DATABASE "{bench_db}"')
    os.environ.update(host_env(db_url, 0, 1, 2, args.queue, args.redis_url))
    results = []
    connections = None
    try:
        with tempfile.TemporaryDirectory(prefix="wn_multihost_bench_") as tmp:
            subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True)
            import django

            django.setup()
            from django.db import connection

            from wagtail_newsletter.send.dkim_signing import generate_private_key
            from wagtail_newsletter.send.models import SenderDomain

            print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {args.recipients:,} recipients per run")
            copy_subscribers(args.recipients)
            SenderDomain.objects.create(domain="example.org", selector="bench", private_key=generate_private_key())
            page = make_page()
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                own_pid = cursor.fetchone()[0]
            connections = Connections(args.database_url, bench_db, own_pid)
            for spec in args.runs.split(","):
                hosts, workers = (int(n) for n in spec.lower().split("x"))
                results.append(run(args, db_url, page, hosts, workers, tmp, connections))
                print(f"run {hosts}x{workers}: {results[-1]['rate']:,.0f} msgs/s", flush=True)
            figures = database_figures(args, results[0]["campaign"])
            report(results, figures)
    finally:
        from django.db import connections as django_connections

        django_connections.close_all()
        if connections is not None:
            connections.conn.close()
        admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{bench_db}" WITH (FORCE)')
        import redis

        client = redis.from_url(args.redis_url)
        for key in client.scan_iter(f"django_q:{args.queue}:*"):
            client.delete(key)


if __name__ == "__main__":
    main()
