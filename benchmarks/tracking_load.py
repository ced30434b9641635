"""Benchmark: open-pixel and click hits served by gunicorn under wrk, against a bare view on the same server.

    python benchmarks/tracking_load.py [--deliveries 100000] [--seconds 20] [--rounds 4] [--connections 16]
        [--threads 2] [--workers 2] [--worker-class sync[,gthread]] [--worker-threads 4] [--click-share 0.3]
        [--profile-seconds 0] [--quick]

Creates the PostgreSQL database ``wn_bench_track_<pid>`` (from ``--database-url``), migrates it, COPYs N subscribers,
starts a campaign of the benchmark newsletter (20 tracked links, compiled content, one delivery per subscriber,
then marked sent set-based; nothing is mailed), and writes a file of request paths: open pixels and clicks of many
different deliveries and links, built with the app's own ``CampaignLinks``. It serves the example site (settings
``benchmarks/_trackbench.py``: the example's, DEBUG off) with gunicorn on 127.0.0.1 and, for each worker
class, runs ``wrk`` alternately on the bare reference view (``benchmarks/_trackurls.py``: the same GIF and headers,
no database) and on the tracking paths, ``--rounds`` times, ``--seconds`` in all for each. Prints requests/s, p50
and p99 latency (the worst round's) and the ratio, then checks that every hit the server answered wrote one Event
(gunicorn's access log counts the answers: wrk drops the ones in flight when it stops). Exit status 0 when the
targets are met, 3 when one is missed, 1 on an error. Everything it starts is stopped at the end, also on errors
and Ctrl-C, and the database is dropped.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from send_throughput import ROOT, SITE, admin_sql, copy_subscribers, make_page, with_database  # noqa: E402

GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")
PYSPY = os.path.join(os.path.dirname(sys.executable), "py-spy")
LUA = os.path.join(HERE, "tracking_paths.lua")
TARGET_RATIO, TARGET_P99_MS = 0.5, 50
BARE = "/bench/bare/"  # the reference view's path (benchmarks/_trackurls.py)
TARGETS_MISSED = 3  # exit status when it ran but missed a target (an error exits with 1)


def bench_env(db_url):
    env = dict(os.environ)
    env.update(DATABASE_URL=db_url, DJANGO_SETTINGS_MODULE="_trackbench")
    env["PYTHONPATH"] = os.pathsep.join([HERE, SITE, ROOT])
    return env


# --- Data ---------------------------------------------------------------------------------------------------------


def started_campaign(deliveries, name):
    """The benchmark newsletter sent (planned and marked sending, as the wizard does) to ``deliveries`` copied
    subscribers; the kick it queued is dropped (no cluster runs here)."""
    from django.db import connection

    from wagtail_newsletter.send import campaigns
    from wagtail_newsletter.send.dkim_signing import generate_private_key
    from wagtail_newsletter.send.models import SenderDomain

    copy_subscribers(deliveries)
    SenderDomain.objects.create(domain="example.org", selector="bench", private_key=generate_private_key())
    campaign = campaigns.create_campaign(make_page(), name=name)
    campaigns.set_audience(campaign, True)
    campaign = campaigns.send_now(campaign)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_q_ormq")
    return campaign


def make_campaign(deliveries):
    """A started campaign of the benchmark newsletter, its deliveries marked sent an hour ago (set-based)."""
    from django.db import connection

    from wagtail_newsletter.send.models import Delivery

    campaign = started_campaign(deliveries, "tracking bench")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Delivery._meta.db_table} SET status = 2, sent_at = now() - interval '1 hour' "
            "WHERE campaign_id = %s",
            [campaign.pk],
        )
    return campaign


def write_paths(campaign, path, count, click_share, seed=5):
    """``count`` request paths (opens and clicks of random deliveries and links), one a line; returns how many of
    each kind and one open and one click path for the checks."""
    from wagtail_newsletter.send.links import CampaignLinks, campaign_compiled
    from wagtail_newsletter.send.models import Delivery

    compiled = campaign_compiled(campaign)
    web_links = [link for link in compiled.links if link.final_url.startswith(("http://", "https://"))]
    ids = list(Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True))
    links = CampaignLinks.of(campaign, compiled.base_url, track_opens=True)
    rng = random.Random(seed)
    samples = {"open": [], "click": []}
    with open(path, "w") as out:
        for _ in range(count):
            delivery = links.for_delivery(rng.choice(ids))
            if rng.random() < click_share:
                link = rng.choice(web_links)
                kind, url = "click", delivery.click_url(link.index, link.final_url)
            else:
                kind, url = "open", delivery.open_pixel_url
            samples[kind].append(urlsplit(url).path)
            out.write(samples[kind][-1] + "\n")
    return {kind: len(paths) for kind, paths in samples.items()}, samples["open"][0], samples["click"][0]


def bare_paths(tracking_path, bare_path):
    """The reference's paths: the same tokens, under the bare view's prefix."""
    with open(tracking_path) as src, open(bare_path, "w") as out:
        for line in src:
            out.write(BARE + line.rstrip("\n").rsplit("/", 1)[-1] + "\n")


def last_event_id():
    from wagtail_newsletter.track.models import Event

    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_since(campaign, after_id):
    """Counter of (kind, delivery, link) of the campaign's events with an id above ``after_id``."""
    from django.db import connection

    from wagtail_newsletter.track.models import Event

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kind, delivery_id, link, count(*) FROM {Event._meta.db_table} "
            "WHERE campaign_id = %s AND id > %s GROUP BY 1, 2, 3",
            [campaign.pk, after_id],
        )
        return Counter({(kind, delivery, link): n for kind, delivery, link, n in cursor.fetchall()})


# --- Server and load ----------------------------------------------------------------------------------------------


def serve(env, port, worker_class, workers, threads, tmp):
    from _sendbench import start

    command = [GUNICORN, "example.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += ["--worker-class", worker_class, "--backlog", "2048", "--chdir", SITE]
    command += ["--access-logfile", f"{tmp}/access-{port}.log", "--access-logformat", "%(s)s %(U)s"]
    if worker_class == "gthread":
        command += ["--threads", str(threads)]
    server = start(command, f"{tmp}/gunicorn-{port}.log", env)
    server.access_log = f"{tmp}/access-{port}.log"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {server.log_path}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{BARE}up", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60 s; see {server.log_path}")


def fetch(port, path):
    """(status, headers that should match between the pixel and the bare view, body) of a GET, no redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, _compared(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, _compared(error.headers), error.read()


def _compared(headers):
    return {name: value for name, value in headers.items() if name.lower() not in ("date", "server", "connection")}


def wrk(port, paths_file, seconds, connections, threads):
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "5s"]
    command += ["-s", LUA, f"http://127.0.0.1:{port}", "--", paths_file, str(threads)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    figures = json.loads(line[4:])
    figures["ok"] = figures["requests"] - figures["status"]
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def combined(runs):
    """The figures of several wrk runs as one: counts added up, p50 the median, p99 and max the worst."""
    total = {key: sum(run[key] for run in runs) for key in ("requests", "duration_us", "ok", "status")}
    total.update({key: sum(run[key] for run in runs) for key in ("connect", "read", "write", "timeout")})
    total["rate"] = total["requests"] / (total["duration_us"] / 1e6)
    total["p50_us"] = sorted(run["p50_us"] for run in runs)[len(runs) // 2]
    total["p99_us"] = max(run["p99_us"] for run in runs)
    total["max_us"] = max(run["max_us"] for run in runs)
    total["p99s"] = [run["p99_us"] / 1000 for run in runs]
    return total


def answered_hits(log_path, offset, campaign):
    """(Counter of statuses, Counter of (kind, delivery, link) answered 2xx/3xx) of the tracking hits in gunicorn's
    access log after ``offset`` (its format here: "status path"; the bare view's lines left out). Each path's
    token is read with the app's own readers, so every answer can be matched with its event."""
    from wagtail_newsletter.track.links import read_token
    from wagtail_newsletter.track.models import EventKind

    statuses, hits = Counter(), Counter()
    with open(log_path) as log:
        log.seek(offset)
        for line in log:
            status, path = line.rstrip("\n").split(" ", 1)
            if path.startswith(BARE):
                continue
            statuses[status] += 1
            if status.startswith(("2", "3")):
                token = path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".gif")
                click, opened = read_token("click", token, 3), read_token("open", token, 2)
                if click is not None and click[2] == campaign.pk:
                    hits[EventKind.CLICK, click[0], click[1]] += 1
                elif opened is not None and opened[1] == campaign.pk:
                    hits[EventKind.OPEN, opened[0], None] += 1
                else:
                    hits["unreadable", path, None] += 1
    return statuses, hits


def profile(server_pid, seconds, out_path):
    from _sendbench import descendants

    worker = next(pid for pid, depth in descendants(server_pid) if depth == 1)
    command = [PYSPY, "record", "--pid", str(worker), "--duration", str(seconds), "--rate", "250", "--idle"]
    return subprocess.Popen(
        command + ["--nonblocking", "--format", "raw", "-o", out_path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


CATEGORIES = [  # (label, substring of a frame); a sample counts for the frame nearest its leaf that matches one
    ("idle: waiting for a connection or a job", ("SyncWorker.wait", "select (", "accept (", "threading", "futures/")),
    ("database: psycopg (send, wait for PostgreSQL)", ("psycopg",)),
    ("database: Django cursor, transaction", ("django/db/",)),
    ("token check (HMAC)", ("tokens.py",)),
    ("agent class, IP prefix", ("agents.py",)),
    ("tracking code (views, events)", ("wagtail_newsletter/",)),
    ("gunicorn: closing the connection", ("close_graceful",)),
    ("Django: request, middleware, response", ("django/",)),
    ("gunicorn: parse, write, access log", ("gunicorn/",)),
]


def category(frames):
    for frame in reversed(frames):
        for label, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return label
    return "other"


def profile_summary(raw_path):
    totals, samples = Counter(), 0
    with open(raw_path) as raw:
        for line in raw:
            stack, _space, count = line.rstrip().rpartition(" ")
            if count.isdigit():
                samples += int(count)
                totals[category(stack.split(";"))] += int(count)
    return samples, totals


# --- One worker class ---------------------------------------------------------------------------------------------


def run(args, env, campaign, worker_class, files, tmp):
    from _sendbench import free_port, stop

    port = free_port()
    server = serve(env, port, worker_class, args.workers, args.worker_threads, tmp)
    spy = None
    try:
        open_path, click_path = files["sample_open"], files["sample_click"]
        pixel, bare, click = fetch(port, open_path), fetch(port, BARE + "x"), fetch(port, click_path)
        if pixel[0] != 200 or pixel[1:] != bare[1:]:
            raise RuntimeError(f"open pixel {pixel[:2]} differs from the bare view's {bare[:2]}: not comparable")
        if click[0] != 302:
            raise RuntimeError(f"click answered {click[0]}, expected 302")
        load = dict(connections=args.connections, threads=args.threads)
        warm = min(2, args.seconds)
        wrk(port, files["bare"], warm, **load)  # warm up both: imports, connections, the compiled-content cache
        wrk(port, files["tracking"], warm, **load)
        time.sleep(1)  # the warm-up's last hits: written, answered and logged before the counts start
        after_id, log_offset = last_event_id(), os.path.getsize(server.access_log)
        # Alternate shorter runs of each, so that a change in the machine's load weighs on both alike.
        bare_runs, hit_runs, seconds = [], [], max(1, args.seconds // args.rounds)
        for _round in range(args.rounds):
            bare_runs.append(wrk(port, files["bare"], seconds, **load))
            hit_runs.append(wrk(port, files["tracking"], seconds, **load))
        bare, hits = combined(bare_runs), combined(hit_runs)
        time.sleep(1)  # the server finishes the requests wrk stopped waiting for
        written = events_since(campaign, after_id)
        answered = answered_hits(server.access_log, log_offset, campaign)
        if args.profile_seconds:
            profile_path = f"/tmp/wn_track_bench_profile-{worker_class}.txt"  # kept for a closer look
            spy = profile(server.pid, args.profile_seconds, profile_path)
            wrk(port, files["tracking"], args.profile_seconds + 1, **load)
            spy.wait(timeout=args.profile_seconds + 30)
            hits["profile"] = profile_path
        return bare, hits, written, answered
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        stop(server)


def fmt_list(values):
    return ", ".join(f"{value:.1f}" for value in values)


def report(args, worker_class, bare, hits, written, answered):
    statuses, answered_ok = answered
    ratio = hits["rate"] / bare["rate"]
    lost = sum((answered_ok - written).values())  # answered, but no event for that delivery, kind and link
    unanswered = sum((written - answered_ok).values())  # written, but the client was gone (wrk's stop)
    kind = f"gthread, {args.worker_threads} threads each" if worker_class == "gthread" else worker_class
    load = f"wrk -t {args.threads} -c {args.connections}, {args.rounds} × {max(1, args.seconds // args.rounds)} s each"
    print(f"\n== gunicorn {args.workers} workers ({kind}); {load}")
    for label, run in (("bare view (GIF, no database)", bare), ("tracking (opens + clicks)", hits)):
        print(
            f"{label:30} {run['rate']:8,.0f} req/s   p50 {run['p50_us'] / 1000:6.1f} ms   "
            f"p99 {run['p99_us'] / 1000:6.1f} ms   max {run['max_us'] / 1000:6.1f} ms   "
            f"non-2xx/3xx {run['status']}, socket errors {run['connect'] + run['read'] + run['write'] + run['timeout']}"
        )
    print(f"p99 of each round (ms): bare {fmt_list(bare['p99s'])}; tracking {fmt_list(hits['p99s'])} (the worst above)")
    print(f"ratio tracking/bare: {ratio:.2f}")
    others = {status: n for status, n in statuses.items() if not status.startswith(("2", "3"))}
    print(
        f"events written {sum(written.values()):,}; tracking hits answered 2xx/3xx: {sum(answered_ok.values()):,} "
        f"by the server (access log), {hits['ok']:,} seen by wrk; other statuses: {others or 'none'}"
    )
    print(f"lost (answered without its event, matched by delivery, kind and link) = {lost}")
    for key, missing in list((answered_ok - written).items())[:5]:
        print(
            f"    (kind, delivery, link) {key}: answered {answered_ok[key]}, written {written[key]}, {missing} missing"
        )
    print(f"written but unanswered (in flight when wrk stopped) = {unanswered}")
    met = ratio >= TARGET_RATIO and hits["p99_us"] / 1000 < TARGET_P99_MS and lost == 0 and hits["status"] == 0
    print(
        f"targets (ratio ≥ {TARGET_RATIO}, p99 < {TARGET_P99_MS} ms, 0 lost, 0 non-2xx/3xx): "
        + ("met" if met else "NOT met")
    )
    if hits.get("profile") and os.path.exists(hits["profile"]):
        samples, totals = profile_summary(hits["profile"])
        print(f"py-spy, one worker during a tracking run, {samples} samples (wall time incl. waits): {hits['profile']}")
        for label, count in totals.most_common():
            print(f"    {label:42} {100 * count / samples:5.1f} %")
    return met


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--paths", type=int, default=200_000, help="distinct request paths wrk cycles over")
    parser.add_argument("--click-share", type=float, default=0.3, help="share of clicks among the paths")
    parser.add_argument("--seconds", type=int, default=20, help="load time per endpoint (split into rounds)")
    parser.add_argument("--rounds", type=int, default=4, help="alternate bare/tracking runs this many times")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16 keep 2 sync workers busy)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", help="sync or gthread; a comma list runs each in turn")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--profile-seconds", type=int, default=0, help="py-spy one worker under load for this long")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default=f"wn_bench_track_{os.getpid()}", help="(dropped at the end)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 deliveries, 2 s of wrk")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures as they come, also into a file
    if args.quick:
        args.deliveries, args.paths, args.seconds, args.rounds = min(args.deliveries, 1000), min(args.paths, 2000), 2, 1

    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    env = bench_env(db_url)
    os.environ.update(env)
    all_met = True
    try:
        with tempfile.TemporaryDirectory(prefix="wn_track_bench_") as tmp:
            subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True, env=env)
            import django

            django.setup()
            started = time.monotonic()
            campaign = make_campaign(args.deliveries)
            print(f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; PostgreSQL {db_url.rsplit('@', 1)[-1]}")
            print(f"campaign with {args.deliveries:,} sent deliveries ready in {time.monotonic() - started:.1f} s")
            files = {"tracking": f"{tmp}/tracking.txt", "bare": f"{tmp}/bare.txt"}
            kinds, files["sample_open"], files["sample_click"] = write_paths(
                campaign, files["tracking"], args.paths, args.click_share
            )
            bare_paths(files["tracking"], files["bare"])
            print(f"request paths: {kinds['open']:,} opens, {kinds['click']:,} clicks (wrk cycles over them)")
            from django.db import connections

            connections.close_all()
            for worker_class in args.worker_class.split(","):
                bare, hits, written, answered = run(args, env, campaign, worker_class, files, tmp)
                all_met &= report(args, worker_class, bare, hits, written, answered)
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    return 0 if all_met else TARGETS_MISSED


if __name__ == "__main__":
    sys.exit(main())
