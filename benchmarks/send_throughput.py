"""Benchmark: a campaign of N recipients sent by a real qcluster to Postfix's smtp-sink, against smtp-source.

    python benchmarks/send_throughput.py [--recipients 100000] [--workers 2[,3,4]] [--batch-size 200[,500]]
        [--concurrency 0] [--broker orm|redis] [--rss-only 0] [--profile-seconds 0]

(Re)creates the PostgreSQL database ``wn_bench_send`` (from ``--database-url``), migrates it, COPYs N subscribers,
makes a ~30 KB newsletter page (20 tracked links, personal variables in subject and body), a DKIM key for the
sender's domain, then for each (workers, batch size): starts ``smtp-sink`` and ``manage.py newsletter_qcluster`` on
127.0.0.1, sends the campaign with ``send_now`` and times it until every delivery is sent (polling the Delivery
table), sampling the peak RSS (VmHWM) of every cluster process. In the same run, ``smtp-source`` blasts the same
number of copies of one generated message at the sink over 20 sessions: the physical reference. Prints msgs/s, the
ratio and peak RSS. ``--rss-only K`` stops a run after K messages (for the 1,000,000 case). Everything it starts is
stopped at the end, also on errors and Ctrl-C, and the database is dropped.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.join(ROOT, "example_site")
HERE = os.path.join(ROOT, "benchmarks")
FIRST = ["Anne", "Bruno", "Chloé", "David", "Émilie", "François", "Gaëlle", "Hugo", "Inès", "Jules", ""]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "O'Neil", "Petit", "Durand", "Leroy", "Moreau"]
PARAGRAPH = (
    "Spring brings new projects to the neighbourhood: gardens, workshops and a market every Saturday. "
    "Volunteers are welcome, whatever your experience, and the coffee is on us. "
)
SENT, FAILED, SKIPPED = 2, 3, 4  # DeliveryStatus
sys.path[:0] = [HERE, SITE, ROOT]


def with_database(url, name):
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def admin_sql(server_url, *statements):
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def env_for(db_url, port, workers=2, batch=200, concurrency=0, broker="orm"):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        DJANGO_SETTINGS_MODULE="_sendbench",
        PYTHONPATH=os.pathsep.join([HERE, SITE, ROOT]),
        EMAIL_PORT=str(port),
        WN_BENCH_WORKERS=str(workers),
        WN_BENCH_BATCH=str(batch),
        WN_BENCH_CONCURRENCY=str(concurrency or workers),
        WN_BENCH_BROKER=broker,
    )
    return env


# --- Data ---------------------------------------------------------------------------------------------------------


def copy_subscribers(count):
    from django.db import connection
    from django.utils import timezone

    from wagtail_newsletter.audience.models import Subscriber

    now = timezone.now().isoformat()
    table = connection.ops.quote_name(Subscriber._meta.db_table)
    columns = "email, first_name, last_name, language, data, status, source, status_changed_at, created_at, updated_at"
    connection.ensure_connection()  # autocommit: the COPY commits by itself
    with connection.connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for start in range(0, count, 50_000):
            copy.write(
                "".join(
                    f"reader{i}@example{i % 50}.net\t{FIRST[i % 11]}\t{LAST[i % 10]}\ten\t{{}}\t"
                    f"subscribed\timport\t{now}\t{now}\t{now}\n"
                    for i in range(start, min(start + 50_000, count))
                )
            )


def make_page(sections=10):
    """A newsletter of ``sections`` rich-text sections (~1.5 KB of text and two external, tracked links each)."""
    from wagtail.models import Locale, Page, Site

    from wagtail_newsletter.compose.models import NewsletterIndexPage, NewsletterPage

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Locale.objects.get_or_create(language_code="en")
        root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
        site = Site.objects.create(hostname="localhost", port=80, root_page=root, is_default_site=True)
    index = site.root_page.add_child(instance=NewsletterIndexPage(title="Newsletters", slug="bench-newsletters"))
    body = [
        {
            "type": "heading",
            "value": {"text": 'Hello {{ first_name|default:"there" }}', "level": "1"},
        }
    ]
    for n in range(sections):
        text = f"<h2>Section {n}: what happened this month</h2><p>{PARAGRAPH * 5}</p>" + "".join(
            f'<p>Written for {{{{ first_name|default:"you" }}}} {{{{ last_name }}}} &lt;{{{{ email }}}}&gt;: '
            f'read <a href="https://partner{k}.example.net/event?id={k}&amp;lang=en">story {k}</a>.</p>'
            for k in (2 * n, 2 * n + 1)
        )
        body.append({"type": "rich_text", "value": {"text": text}})
    body.append(
        {
            "type": "footer",
            "value": {
                "address": "1 Main Street, Paris",
                "text": "",
                "unsubscribe_label": "",
                "web_version_label": "",
            },
        }
    )
    page = index.add_child(
        instance=NewsletterPage(
            title="Spring news",
            slug="spring-news",
            subject='Spring news for {{ first_name|default:"you" }}',
            preheader="What grows in April",
            sender_name="Garden Club",
            sender_email="news@example.org",
            reply_to="answers@example.org",
            tracking_enabled=True,
            body=body,
        )
    )
    page.save_revision().publish()
    page.refresh_from_db()
    return page


# --- One run ------------------------------------------------------------------------------------------------------


def warm_up(cluster, timeout=90):
    """Wait until the cluster runs a trivial task (its workers are forked and polling)."""
    from django_q.tasks import async_task, fetch

    task_id = async_task("math.floor", 1.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cluster.poll() is not None:
            raise RuntimeError(f"qcluster exited; see {cluster.log_path}")
        if fetch(task_id) is not None:
            return
        time.sleep(0.2)
    raise RuntimeError(f"qcluster ran no task within {timeout} s; see {cluster.log_path}")


def run_campaign(args, db_url, page, workers, batch, tmp, campaign=None, start_sending=None):
    """Start smtp-sink and a cluster, send ``campaign`` (default: a new one of ``page`` to all subscribers) with
    ``start_sending(campaign) -> campaign`` (default ``send_now``), time it until every delivery is sent."""
    # Imported once the environment names the database: the settings part of _sendbench reads it.
    from _sendbench import free_port, profile, profile_path, sample_processes, sink_count, start, stop, workers_of
    from django.db import connection

    from wagtail_newsletter.send import campaigns
    from wagtail_newsletter.send.models import Delivery

    port = free_port()
    sink = start(
        ["/usr/sbin/smtp-sink", "-c", "-u", "nobody", f"127.0.0.1:{port}", "1000"],
        f"{tmp}/sink-{port}.log",
    )
    env = env_for(db_url, port, workers, batch, args.concurrency, args.broker)
    cluster = start(
        [sys.executable, os.path.join(SITE, "manage.py"), "newsletter_qcluster"],
        f"{tmp}/qcluster-{port}.log",
        env,
    )
    spy = None
    try:
        warm_up(cluster)
        if campaign is None:
            campaign = campaigns.create_campaign(page, name=f"bench w{workers} b{batch}")
            campaigns.set_audience(campaign, True)
        processes = {}
        sample_processes(cluster.pid, processes)
        wall_start, started = time.time(), time.monotonic()
        campaign = (start_sending or campaigns.send_now)(campaign)
        planned = time.monotonic() - started
        total = campaign.recipient_count
        stop_at = min(args.rss_only or total, total)
        sql = f"SELECT count(*) FROM {Delivery._meta.db_table} WHERE campaign_id = %s AND status IN (2, 3, 4)"
        deadline = started + max(600, total / 50)
        done = 0
        while done < stop_at:
            time.sleep(0.5 if total <= 200_000 else 2)
            sample_processes(cluster.pid, processes)
            with connection.cursor() as cursor:
                cursor.execute(sql, [campaign.pk])
                done = cursor.fetchone()[0]
            if args.profile_seconds and spy is None and done >= min(20_000, stop_at // 5):
                spy = profile(
                    workers_of(processes, 1)[0],
                    args.profile_seconds,
                    profile_path(workers, batch),
                    idle=not args.profile_cpu,
                )
            if cluster.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"campaign stalled at {done}/{total}; see {cluster.log_path}")
        elapsed = time.monotonic() - started
        sample_processes(cluster.pid, processes)
        if spy is not None:
            spy.wait(timeout=args.profile_seconds + 30)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT status, count(*), min(sent_at), max(sent_at) FROM {Delivery._meta.db_table} "
                "WHERE campaign_id = %s GROUP BY status",
                [campaign.pk],
            )
            rows = {status: (n, first, last) for status, n, first, last in cursor.fetchall()}
        sent, first_sent, last_sent = rows.get(SENT, (0, None, None))
        if not sent:
            with open(cluster.log_path, errors="replace") as log:
                raise RuntimeError(f"nothing sent: {rows}\n{log.read()[-3000:]}")
        if args.rss_only and stop_at < total:
            campaigns.cancel(campaign)
        else:
            elapsed = last_sent.timestamp() - wall_start  # from send_now to the relay accepting the last message
        steady = (last_sent - first_sent).total_seconds() if sent > 1 else 0
        time.sleep(1)
        received = sink_count(sink.log_path)
        worker_pids = workers_of(processes, workers)
        return {
            "workers": workers,
            "batch": batch,
            "concurrency": args.concurrency or workers,
            "total": total,
            "sent": sent,
            "failed": rows.get(FAILED, (0,))[0],
            "skipped": rows.get(SKIPPED, (0,))[0],
            "received": received,
            "planned": planned,
            "elapsed": elapsed,
            "rate": sent / elapsed,
            "steady_rate": sent / steady if steady else 0,
            "worker_rss": [(pid, processes[pid][1] / 1024, processes[pid][2]) for pid in worker_pids],
            "other_rss": [
                (pid, depth, hwm / 1024, cpu) for pid, (depth, hwm, cpu) in processes.items() if pid not in worker_pids
            ],
            "profile": profile_path(workers, batch) if spy is not None else None,
            "campaign": campaign,
        }
    finally:
        if spy is not None and spy.poll() is None:
            os.killpg(spy.pid, signal.SIGKILL)
        stop(cluster)
        stop(sink)


def reference(count, message_path, sessions, tmp):
    from _sendbench import free_port, sink_count, start, stop

    port = free_port()
    sink = start(
        ["/usr/sbin/smtp-sink", "-c", "-u", "nobody", f"127.0.0.1:{port}", "1000"],
        f"{tmp}/sink-ref.log",
    )
    try:
        time.sleep(0.5)
        command = [
            "/usr/sbin/smtp-source",
            "-s",
            str(sessions),
            "-m",
            str(count),
            "-f",
            "a@example.org",
        ]
        command += ["-t", "b@example.com", "-F", message_path, f"127.0.0.1:{port}"]
        started = time.monotonic()
        subprocess.run(
            command,
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=max(600, count / 100),
        )
        elapsed = time.monotonic() - started
        time.sleep(0.5)
        return elapsed, sink_count(sink.log_path)
    finally:
        stop(sink)


def sample_message(campaign):
    """One message of the campaign exactly as a worker builds it."""
    from wagtail_newsletter.send.models import Delivery
    from wagtail_newsletter.send.worker import CampaignSender

    delivery = Delivery.objects.select_related("subscriber").filter(campaign=campaign).order_by("pk").first()
    sub = delivery.subscriber
    recipient = {
        "email": sub.email,
        "first_name": sub.first_name,
        "last_name": sub.last_name,
        "language": "en",
    }
    sender = CampaignSender(campaign)
    try:
        return sender.message(delivery.pk, {**recipient, "data": sub.data})[1]
    finally:
        sender.close()


def report(result, reference_rate):
    from _sendbench import profile_summary

    w = result
    print(
        f"\n== workers {w['workers']}, SEND_BATCH_SIZE {w['batch']}, SEND_CONCURRENCY {w['concurrency']}, "
        f"broker {ARGS.broker}"
    )
    print(
        f"deliveries: {w['total']:,} planned, {w['sent']:,} sent, {w['failed']:,} failed, {w['skipped']:,} skipped; "
        f"smtp-sink received {w['received']:,}"
    )
    label = "until the stop (--rss-only)" if ARGS.rss_only and w["sent"] < w["total"] else "send_now → last accepted"
    print(f"planning (send_now: compile + INSERT … SELECT): {w['planned']:.2f} s")
    print(f"engine: {w['sent']:,} msgs in {w['elapsed']:.1f} s ({label}) = {w['rate']:,.0f} msgs/s")
    if w["steady_rate"]:
        print(f"engine, first → last accepted message: {w['steady_rate']:,.0f} msgs/s")
    if reference_rate:
        print(f"ratio engine/reference: {w['rate'] / reference_rate:.2f}")
    for pid, rss, cpu in w["worker_rss"]:
        print(f"  worker pid {pid}: peak RSS {rss:.0f} MB, CPU {cpu:.1f} s")
    others = ", ".join(f"pid {pid} (depth {d}) {rss:.0f} MB/{cpu:.1f} s" for pid, d, rss, cpu in w["other_rss"])
    print(f"  other cluster processes (peak RSS/CPU): {others}")
    if w["profile"] and os.path.exists(w["profile"]):
        samples, totals = profile_summary(w["profile"])
        if ARGS.profile_cpu:  # the worker's CPU seconds per message it sent
            per_msg = sum(cpu for _pid, _rss, cpu in w["worker_rss"]) / w["sent"] * 1e6
            kind = "CPU time only"
        else:
            per_msg = w["workers"] / w["rate"] * 1e6 if w["rate"] else 0
            kind = "wall time incl. waits"
        print(f"  py-spy raw stacks: {w['profile']}")
        print(f"  py-spy, one worker, {samples} samples ({kind}; ≈ {per_msg:.0f} µs/message/worker):")
        for label, count in totals.most_common():
            print(f"    {label:45} {100 * count / samples:5.1f} %  ≈ {per_msg * count / samples:6.0f} µs/msg")


def report_stages(campaign, count, tmp):
    """The cost of each stage of one message, measured in this process against a sink of its own."""
    from _sendbench import free_port, start, stop
    from _sendstages import stage_costs
    from django.conf import settings

    port = free_port()
    sink = start(["/usr/sbin/smtp-sink", "-u", "nobody", f"127.0.0.1:{port}", "1000"], f"{tmp}/sink-stages.log")
    try:
        time.sleep(0.5)
        settings.EMAIL_PORT = port
        costs = stage_costs(campaign, count)
    finally:
        stop(sink)
    print(f"\nper message, stage by stage ({count:,} messages, this process, one core):")
    for label, cpu, wall in costs:
        print(f"  {label:60} {cpu:6.0f} µs CPU" + (f", {wall:6.0f} µs wall" if wall is not None else ""))


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument(
        "--workers",
        default="2",
        help="django-q2 workers; a comma list runs each in turn",
    )
    parser.add_argument(
        "--batch-size",
        default="200",
        help="SEND_BATCH_SIZE; a comma list runs each in turn",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="SEND_CONCURRENCY (default: = workers)",
    )
    parser.add_argument("--broker", choices=("orm", "redis"), default="orm")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default="wn_bench_send")
    parser.add_argument("--reference-sessions", type=int, default=20)
    parser.add_argument("--rss-only", type=int, default=0, help="stop each run after this many messages")
    parser.add_argument("--profile-seconds", type=int, default=0, help="py-spy one worker for this long")
    parser.add_argument("--profile-cpu", action="store_true", help="py-spy samples CPU time only (not waits)")
    parser.add_argument("--stages", type=int, default=3000, help="time each stage over this many messages (0: no)")
    ARGS = args = parser.parse_args()

    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    os.environ.update(env_for(db_url, 0))
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="wn_send_bench_") as tmp:
            subprocess.run(
                [sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"],
                check=True,
            )
            import django

            django.setup()
            from wagtail_newsletter.send.dkim_signing import generate_private_key
            from wagtail_newsletter.send.models import SenderDomain

            started = time.monotonic()
            copy_subscribers(args.recipients)
            print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; PostgreSQL {db_url.rsplit('@', 1)[-1]}")
            print(f"{args.recipients:,} subscribers copied in {time.monotonic() - started:.1f} s")
            SenderDomain.objects.create(
                domain="example.org",
                selector="bench",
                private_key=generate_private_key(),
            )
            page = make_page()
            for workers in [int(n) for n in args.workers.split(",")]:
                for batch in [int(n) for n in args.batch_size.split(",")]:
                    results.append(run_campaign(args, db_url, page, workers, batch, tmp))
                    print(
                        f"run workers={workers} batch={batch}: {results[-1]['rate']:,.0f} msgs/s",
                        flush=True,
                    )
            message = sample_message(results[0]["campaign"])
            message_path = os.path.join(tmp, "message.eml")
            with open(message_path, "wb") as out:
                out.write(message.replace(b"\r\n", b"\n"))
            count = max(r["sent"] for r in results)
            ref_seconds, ref_received = reference(count, message_path, args.reference_sessions, tmp)
            reference_rate = count / ref_seconds
            print(f"\nmessage: {len(message):,} bytes, DKIM-signed: {message.startswith(b'DKIM-Signature:')}")
            print(
                f"reference: smtp-source -s {args.reference_sessions} -m {count:,} (this message) → smtp-sink: "
                f"{ref_seconds:.1f} s = {reference_rate:,.0f} msgs/s (sink received {ref_received:,})"
            )
            for result in results:
                report(result, reference_rate)
            if args.stages:
                report_stages(results[0]["campaign"], args.stages, tmp)
            best = max(results, key=lambda r: r["rate"])
            print(
                f"\nbest: workers {best['workers']}, batch {best['batch']}: {best['rate']:,.0f} msgs/s, ratio "
                f"{best['rate'] / reference_rate:.2f}; target ≥ 1,000 msgs/s and ≥ 0.30: "
                + ("met" if best["rate"] >= 1000 and best["rate"] / reference_rate >= 0.30 else "NOT met")
            )
            peak = max(rss for r in results for _pid, rss, _cpu in r["worker_rss"])
            print(f"peak RSS of a worker: {peak:.0f} MB for {args.recipients:,} recipients (limit 300 MB)")
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')


ARGS = None

if __name__ == "__main__":
    main()
