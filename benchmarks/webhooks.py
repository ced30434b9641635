"""Benchmark: 100,000 click events fanned out to 2 webhook endpoints and delivered by a real qcluster, against the
receiver's own maximum measured in the same run.

    python benchmarks/webhooks.py [--clicks 100000] [--subscribers 20000] [--endpoints 2] [--workers 4]
        [--max-seconds 5] [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--keep]

Creates the PostgreSQL database ``wn_bench_webhooks_<pid>``, migrates it, COPYs the subscribers, makes one sent
campaign (one delivery each), registers the endpoints (both want clicks) and writes the clicks set-based, spread over
the subscribers (several per subscriber: the order per subscriber is exercised). The receiver
(``benchmarks/_webhook_receiver.py``, a process of its own: the standard library's threaded HTTP server, verifying
every signature and checking the order) is first measured alone with ``wrk`` POSTing a signed message (its maximum,
requests/s); then a ``qcluster`` is started, one webhook tick fans the clicks out (one INSERT … SELECT) and starts
the delivery tasks, and the clock runs until the receiver has every message; the maximum is measured again after.
Prints messages/s, click events/s (delivered to every endpoint) and the ratio messages/s ÷ the receiver's maximum
(target ≥ 0.3), and checks: nothing lost, none out of order, every signature verified. Exit status 0 when the target
is met, 3 when not, 1 on an error; everything started is stopped and the database dropped.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from send_throughput import SITE, admin_sql, copy_subscribers, env_for, warm_up, with_database  # noqa: E402

TARGET_RATIO = 0.3
TARGETS_MISSED = 3
WEBHOOKS = {
    "WEBHOOK_BATCH_SIZE": 500,
    "WEBHOOK_CONNECTIONS": 4,
    "WEBHOOK_CONCURRENCY": 2,
    "WEBHOOK_TASK_SECONDS": 30,
    "WEBHOOK_TIMEOUT": 30,  # a loaded machine's receiver answers late: a timeout would post the message again
}
LUA = """wrk.method = "POST"
wrk.body = %s
%s
"""


def bench_env(db_url, workers):
    env = env_for(db_url, 2525, workers=workers)
    env.update(DJANGO_SETTINGS_MODULE="_webhookbench", WN_BENCH_WEBHOOKS=json.dumps(WEBHOOKS))
    return env


def generate(subscribers, clicks, endpoint_urls):
    """Subscribers, one sent campaign with a delivery each, the endpoints, then the clicks (set-based)."""
    from django.db import connection
    from django.utils import timezone

    from wagtail_newsletter.api.webhooks import endpoints
    from wagtail_newsletter.api.webhooks.models import EventType
    from wagtail_newsletter.compose.compiled import compile_email
    from wagtail_newsletter.send.models import Campaign, Delivery, Event

    copy_subscribers(subscribers)
    links = "".join(f'<p><a href="https://example.org/article-{n}">Article {n}</a></p>' for n in range(3))
    compiled = compile_email(f"<html><body>{links}</body></html>", subject="News", base_url="https://news.example.org")
    campaign = Campaign.objects.create(
        name="bench", compiled=compiled.to_dict(), status="sent", started_at=timezone.now()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Delivery._meta.db_table} "
            "(campaign_id, subscriber_id, status, attempts, sent_at, language, error) "
            "SELECT %s, id, 2, 1, now(), '', '' FROM wagtail_newsletter_subscriber",
            [campaign.pk],
        )
        cursor.execute(f"SELECT min(id), count(*) FROM {Delivery._meta.db_table}")
        first, count = cursor.fetchone()
    secrets = [endpoints.create_endpoint(url, [EventType.CLICKED], name=url).secret for url in endpoint_urls]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} (campaign_id, delivery_id, kind, link, at, agent, ip_prefix, detail, "
            "device, client, country) SELECT %s, %s + (g %% %s), 2, g %% 3, now(), 0, '', '', 0, '', '' "
            "FROM generate_series(0, %s - 1) AS g",
            [campaign.pk, first, count, clicks],
        )
    return secrets


def receiver_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as answer:
        return json.loads(answer.read())


def receiver_maximum(port, secret, seconds, tmp):
    """Requests/s the receiver answers to wrk (8 keep-alive connections) POSTing one signed message."""
    from wagtail_newsletter.api.webhooks.signing import headers, secret_bytes

    body = json.dumps({"type": "message.clicked", "data": {"subscriber": {"id": 1}}}).encode()
    signed = headers([secret_bytes(secret)], "msg_max", int(time.time()), body)
    lines = "\n".join(f'wrk.headers["{name}"] = "{value}"' for name, value in signed.items())
    script = os.path.join(tmp, "post.lua")
    with open(script, "w") as lua:
        lua.write(LUA % (json.dumps(body.decode()), lines))
    result = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds}s", "-s", script, f"http://127.0.0.1:{port}/max/"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    if "Non-2xx" in result.stdout or not match:
        raise RuntimeError(f"wrk against the receiver: {result.stdout}")
    return float(match.group(1))


def measure(args, db_url, tmp):
    from _sendbench import free_port, start, stop
    from django.db import connection

    from wagtail_newsletter.api.webhooks import delivery, fanout
    from wagtail_newsletter.api.webhooks.models import WebhookMessage

    port = free_port()
    urls = [f"http://127.0.0.1:{port}/endpoint{n}/" for n in range(args.endpoints)]
    started = time.monotonic()
    secrets = generate(args.subscribers, args.clicks, urls)
    print(
        f"generated {args.subscribers:,} subscribers and {args.clicks:,} clicks in {time.monotonic() - started:.1f} s"
    )
    receiver = start([sys.executable, os.path.join(HERE, "_webhook_receiver.py"), str(port), *secrets],
                     f"{tmp}/receiver.log")  # fmt: skip
    cluster = None
    try:
        for _ in range(50):
            try:
                receiver_stats(port)
                break
            except OSError:
                time.sleep(0.1)
        before = receiver_maximum(port, secrets[0], args.max_seconds, tmp)
        print(f"receiver alone (wrk, 8 connections): {before:,.0f} requests/s")
        env = bench_env(db_url, args.workers)
        cluster = start([sys.executable, os.path.join(SITE, "manage.py"), "newsletter_qcluster"],
                        f"{tmp}/qcluster.log", env)  # fmt: skip
        warm_up(cluster)
        expected = args.clicks * args.endpoints
        wall = time.monotonic()
        fanout.fan_out()  # what the tick does first: one INSERT … SELECT
        fanned = time.monotonic() - wall
        delivery.tick()  # …then it starts the delivery tasks
        deadline = wall + max(600, expected / 50)
        stats = receiver_stats(port)
        while stats["accepted"] < expected and time.monotonic() < deadline:
            if cluster.poll() is not None:
                raise RuntimeError(f"qcluster exited; see {tmp}/qcluster.log")
            time.sleep(0.25)
            stats = receiver_stats(port)
        elapsed = time.monotonic() - wall
        settled = WebhookMessage.objects.exclude(status=2)
        wait_for_rows = time.monotonic() + 60  # the last batches' answers are being written
        while settled.exists() and time.monotonic() < wait_for_rows:
            time.sleep(0.25)
        connection.close()
        after = receiver_maximum(port, secrets[0], args.max_seconds, tmp)
        print(f"receiver alone again: {after:,.0f} requests/s")
        undelivered = WebhookMessage.objects.exclude(status=2).count()
    finally:
        if cluster is not None:
            stop(cluster)
        stop(receiver)
        if args.show_log:
            print(open(f"{tmp}/qcluster.log", errors="replace").read()[-args.show_log :])
    maximum = (before + after) / 2
    rate = stats["accepted"] / elapsed
    print(f"fan-out of {args.clicks:,} clicks to {args.endpoints} endpoints: {fanned:.1f} s")
    print(f"delivered {stats['accepted']:,} of {expected:,} messages in {elapsed:.1f} s: {rate:,.0f} messages/s, "
          f"{stats['accepted'] / args.endpoints / elapsed:,.0f} click events/s to every endpoint")  # fmt: skip
    print(f"duplicates {stats['duplicates']}, out of order {stats['out_of_order']}, bad signatures "
          f"{stats['rejected']}, undelivered in the outbox {undelivered}")  # fmt: skip
    ratio = rate / maximum
    print(f"ratio messages/s / receiver maximum ({maximum:,.0f}/s): {ratio:.2f} (target {TARGET_RATIO})")
    ok = stats["accepted"] == expected and not stats["out_of_order"] and not stats["rejected"] and not undelivered
    if not ok:
        print("LOST OR DISORDERED MESSAGES")
        return None
    return ratio >= TARGET_RATIO


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--endpoints", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="qcluster workers")
    parser.add_argument("--max-seconds", type=int, default=5, help="wrk's run against the receiver alone")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default=f"wn_bench_webhooks_{os.getpid()}")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--show-log", type=int, default=0, help="print the last N characters of the qcluster's log")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    env = bench_env(db_url, args.workers)
    os.environ.update(env)
    try:
        subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True, env=env)
        import django

        django.setup()
        print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        with tempfile.TemporaryDirectory() as tmp:
            met = measure(args, db_url, tmp)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    if met is None:
        return 1
    return 0 if met else TARGETS_MISSED


if __name__ == "__main__":
    sys.exit(main())
