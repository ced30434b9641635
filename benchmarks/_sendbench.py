"""Settings of the send benchmark (benchmarks/send_throughput.py): the example site, tuned from the environment.

Used as ``DJANGO_SETTINGS_MODULE=_sendbench`` (benchmarks/ on PYTHONPATH) by the benchmark and by the ``qcluster``
it starts. Environment: DATABASE_URL, EMAIL_PORT (the smtp-sink), WN_BENCH_WORKERS, WN_BENCH_BATCH,
WN_BENCH_CONCURRENCY, WN_BENCH_TASK_SECONDS, WN_BENCH_BROKER ("orm" or "redis"), WN_BENCH_REDIS_URL.

Below the settings: the benchmark's process helpers (smtp-sink, the cluster's processes and their peak RSS, py-spy).
"""

import os
import re
import signal
import socket
import subprocess
from collections import Counter

from example.settings import *  # noqa: F403

_env = os.environ.get

# DEBUG would make every process keep the text of its last 9,000 queries: not what a production worker does.
DEBUG = False
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"wagtail_newsletter": {"level": "INFO"}, "django-q": {"level": "INFO"}},
}

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(_env("EMAIL_PORT", "2525"))
EMAIL_TIMEOUT = 30

_workers = int(_env("WN_BENCH_WORKERS", "2"))
_task_seconds = int(_env("WN_BENCH_TASK_SECONDS", "30"))
Q_CLUSTER = {
    "name": "wn_bench",
    "workers": _workers,
    # A send task works for SEND_TASK_SECONDS, then hands over: timeout above it, retry above the timeout.
    "timeout": _task_seconds + 60,
    "retry": _task_seconds + 120,
    "max_attempts": 3,
    "catch_up": False,
    "recycle": 100_000,
    "poll": 0.2,
    "orm": "default",
}
if _env("WN_BENCH_BROKER", "orm") == "redis":
    del Q_CLUSTER["orm"]
    Q_CLUSTER["redis"] = _env("WN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

WAGTAIL_NEWSLETTER = {
    **WAGTAIL_NEWSLETTER,  # noqa: F405
    "BASE_URL": "https://news.example.org",
    "SEND_BATCH_SIZE": int(_env("WN_BENCH_BATCH", "200")),
    "SEND_CONCURRENCY": int(_env("WN_BENCH_CONCURRENCY", str(_workers))),
    "SEND_TASK_SECONDS": _task_seconds,
    "RETURN_PATH_DOMAIN": "bounces.example.org",
}


# --- Helpers of the benchmark (not settings) ------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command, log_path, env=None):
    log = open(log_path, "wb")  # noqa: SIM115 - a file, closed with the process: a full pipe would block it
    process = subprocess.Popen(
        command,
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log_path = log_path
    return process


def stop(process, timeout=20):
    """SIGTERM to the process's whole group, as systemd stops a service; SIGKILL if it is still there after
    ``timeout``. The cluster runs ``newsletter_qcluster``, which stops within seconds that way (plain ``qcluster``
    hangs until the SIGKILL: its main process waits for a sentinel the same SIGTERM killed)."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def sink_count(log_path):
    """Messages smtp-sink received so far (its -c counters: "... mesg=N")."""
    with open(log_path, "rb") as log:
        log.seek(max(os.path.getsize(log_path) - 200, 0))
        found = re.findall(rb"mesg=(\d+)", log.read())
    return int(found[-1]) if found else 0


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [(pid, 0)]
    while todo:
        parent, depth = todo.pop()
        for child in children.get(parent, ()):
            found.append((child, depth + 1))
            todo.append((child, depth + 1))
    return found


def sample_processes(pid, table):
    """Update ``table`` {pid: [depth, peak RSS KiB, CPU seconds]} for the cluster's processes."""
    tick = os.sysconf("SC_CLK_TCK")
    for child, depth in [(pid, 0), *descendants(pid)]:
        try:
            with open(f"/proc/{child}/status") as status:
                hwm = int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1))
            with open(f"/proc/{child}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, AttributeError):
            continue
        cpu = (int(fields[11]) + int(fields[12])) / tick
        row = table.setdefault(child, [depth, 0, 0.0])
        row[1], row[2] = max(row[1], hwm), max(row[2], cpu)


def workers_of(table, count):
    """The ``count`` busiest processes below the cluster's main process: its task workers."""
    below = [(cpu, pid) for pid, (depth, _hwm, cpu) in table.items() if depth >= 2]
    return [pid for _cpu, pid in sorted(below, reverse=True)[:count]]


def profile_path(workers, batch):
    return f"/tmp/wn_send_bench_profile-w{workers}-b{batch}.txt"  # kept after the run, for a closer look


def profile(pid, seconds, out_path, idle=True):
    """py-spy on ``pid``; ``idle``: waits (socket, database) are sampled too, else only time on the CPU."""
    import sys

    pyspy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    command = [
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "200",
        *(["--idle"] if idle else []),
    ]
    return subprocess.Popen(
        command + ["--nonblocking", "--format", "raw", "-o", out_path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


CATEGORIES = [  # first match, leaf first: (label, substring of a frame)
    ("DKIM sign (OpenSSL + canonicalisation)", "dkim_signing.py"),
    ("MIME render (skeleton + quoted-printable)", "mime.py"),
    ("MIME render (skeleton + quoted-printable)", "quoted_printable.py"),
    ("personalise", "personalise.py"),
    ("link tokens / Message-ID / VERP", "tokens.py"),
    ("link tokens / Message-ID / VERP", "links.py"),
    ("SMTP (smtplib, socket wait)", "smtplib.py"),
    ("SMTP (smtplib, socket wait)", "transport.py"),
    ("DB: mark sent (1 UPDATE per message)", "mark_sent"),
    ("DB: claim batch", "claims.py"),
    ("DB: campaign state / quota / throttle", "send/worker.py"),
    ("django-q2 (waiting for tasks, bookkeeping)", ""),
]


def profile_summary(raw_path):
    """Share of samples per category from py-spy's raw (collapsed stacks) output."""
    totals, all_samples = Counter(), 0
    with open(raw_path) as raw:
        for line in raw:
            stack, _space, count = line.rstrip().rpartition(" ")
            if not count.isdigit():
                continue
            frames, count = stack.split(";"), int(count)
            if any("Queue._feed" in frame or "LeaseKeeper._run" in frame for frame in frames):
                continue  # the result queue's feeder and the lease keeper: background threads, not the one that sends
            all_samples += count
            for label, needle in CATEGORIES:
                if any(needle in frame for frame in frames):
                    totals[label] += count
                    break
    return all_samples, totals
