"""Real parts for the sending tests: a fast recording SMTP server (aiosmtpd) that can fail on purpose or go down,
a real ``qcluster`` process with the test's settings, and a way to find (and kill) the worker that is sending.
The ``sink`` and ``cluster_factory`` fixtures are imported by the test modules that use them."""

import asyncio
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign

from .compose_editor_fixtures import make_newsletter
from .conftest import ScriptedSmtpHandler, free_port
from .live_site import stop_process

ROOT = Path(__file__).resolve().parent.parent
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.I | re.M)


class SinkHandler(ScriptedSmtpHandler):
    """Records (recipient, Message-ID, envelope sender) of each accepted message; ``delay`` slows every message
    down; refusals as in ScriptedSmtpHandler."""

    def __init__(self):
        super().__init__()
        self.received = []
        self.lock = threading.Lock()
        self.delay = 0.0

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        match = _MESSAGE_ID.search(envelope.content)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, match.group(1).decode() if match else None, envelope.mail_from))
        return "250 OK"

    def count(self):
        with self.lock:
            return len(self.received)


class SmtpSink:
    """An aiosmtpd server on a fixed port that can be stopped and started again (a relay that is down a while)."""

    def __init__(self):
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = None
        self.start()

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def start_qcluster(smtp_port, log_path, q_cluster=None, newsletter=None, command=("qcluster",)):
    """A real qcluster on the test database, delivering to ``smtp_port``, with these settings; ``command``: the
    arguments of ``manage.py`` that start it, in a process group of its own (as a systemd service has)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_site")]),
        "Q_SYNC": "0",
        "WN_USE_TEST_DB": "1",
        "WN_TEST_EMAIL_SMTP": "1",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "WN_TEST_Q_CLUSTER": json.dumps(q_cluster or {}),
        "WN_TEST_NEWSLETTER_SETTINGS": json.dumps(newsletter or {}),
    }
    log = open(log_path, "wb")  # a file: a full pipe would block the cluster
    process = subprocess.Popen(
        [sys.executable, "example_site/manage.py", *command],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log_file = log
    process.log_path = log_path
    return process


def stop_qcluster(process):
    stop_process(process, timeout=20)
    process.log_file.close()


@pytest.fixture
def sink():
    server = SmtpSink()
    yield server
    server.stop()


@pytest.fixture
def cluster_factory(tmp_path):
    """Starts qclusters (``start(port, q_cluster, newsletter, command)``); stops those still running at the end."""
    started = []

    def start(port, q_cluster=None, newsletter=None, command=("qcluster",)):
        process = start_qcluster(port, tmp_path / f"qcluster{len(started)}.log", q_cluster, newsletter, command)
        started.append(process)
        return process

    yield start
    for process in started:
        stop_qcluster(process)


def cluster_log(process):
    return Path(process.log_path).read_text(errors="replace")[-6000:]


def descendants(pid):
    """Process ids below ``pid`` (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def group_processes(pgid):
    """Process ids of the process group ``pgid`` that have not exited (zombies left to init count as exited)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry))
    return found


def _socket_inodes_to(port):
    """Inodes of TCP sockets connected to 127.0.0.1:``port`` (from /proc/net/tcp)."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and int(remote.split(":")[1], 16) == port:  # 01: ESTABLISHED
                inodes.add(inode)
    return inodes


def sending_workers(cluster_pid, smtp_port):
    """Processes of the cluster holding an SMTP connection to the test server: the workers sending right now."""
    inodes = _socket_inodes_to(smtp_port)
    senders = []
    for pid in descendants(cluster_pid):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(link.startswith("socket:[") and link[8:-1] in inodes for link in links):
            senders.append(pid)
    return senders


def wait_for(predicate, timeout, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def make_audience(count):
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"r{i}@example.net", first_name=f"R{i}", status=Status.SUBSCRIBED) for i in range(count)],
        batch_size=5000,
    )
    return set(Subscriber.objects.values_list("email", flat=True))


def start_campaign(archive_page):
    campaign = campaigns.create_campaign(make_newsletter(archive_page))
    campaigns.set_audience(campaign, True)
    return campaigns.send_now(campaign)


def wait_finished(campaign, cluster, timeout):
    finished = wait_for(lambda: Campaign.objects.get(pk=campaign.pk).is_finished, timeout, interval=0.5)
    if not finished:
        counts = campaigns.delivery_counts(campaign)
        pytest.fail(f"campaign not finished within {timeout} s ({counts}); qcluster said:\n{cluster_log(cluster)}")
    return Campaign.objects.get(pk=campaign.pk)
