"""Several hosts, as docs/operators-multi-host.md describes them: two "hosts" on 127.0.0.1, each a process tree of
its own (one session and process group: what a machine's services are to the others) running the documented units
(docs/examples/gunicorn.service and qcluster.service) with the documented environment file (docs/examples/mysite.env;
only the addresses and the secret key are the test's), on one PostgreSQL and one Redis queue (a key prefix of its
own per run). A campaign is sent by both hosts (the SMTP sink sees each host's workers deliver), both serve its
tracking links; one host is SIGKILLed as a whole mid-send; the other finishes the campaign: nobody missed, at most
the killed host's messages in flight sent twice, each with the same Message-ID.

Network namespaces (``ip netns``) would give each host its own address, but PostgreSQL and Redis listen on loopback
only here: the hosts are separate process trees on 127.0.0.1."""

import email
import email.policy
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from wagtail_newsletter.send.models import Campaign, Delivery, DeliveryStatus, Event

from .conftest import free_port
from .send_cluster import (  # noqa: F401 (fixtures)
    SinkHandler,
    SmtpSink,
    group_processes,
    make_audience,
    sending_workers,
    start_campaign,
    wait_finished,
    wait_for,
)
from .test_send_engine import archive  # noqa: F401 (fixture)
from .test_send_stop import manage_py_arguments, read_unit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
GUNICORN = Path(sys.executable).parent / "gunicorn"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RECIPIENTS = 3000
BOTH_SENDING = 100  # messages each host delivers before the kill


def redis_unavailable():
    try:
        import redis

        redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001 - any reason makes the test impossible, and is shown
        return f"needs Redis at {REDIS_URL} (TEST_REDIS_URL) and the redis package: {error}"
    return None


def read_environment_file(path):
    """``KEY=value`` lines as systemd's EnvironmentFile reads them (comments and blank lines skipped)."""
    values = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _equals, value = line.partition("=")
            values[key.strip()] = " ".join(shlex.split(value))
    return values


class AttributingSink(SinkHandler):
    """The test's relay: records, with each message, the process that sent it (found from the connection's
    client port in /proc when it says EHLO), and keeps the first message whole."""

    def __init__(self):
        super().__init__()
        self.senders = []  # parallel to ``received``: (process group, pid) of the sending process
        self.first_raw = None
        self.port = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.sender_process = process_of_connection(session.peer[1], self.port)
        return await super().handle_EHLO(server, session, envelope, hostname, responses)

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.senders.extend([getattr(session, "sender_process", None)] * len(envelope.rcpt_tos))
            self.first_raw = self.first_raw or envelope.content
        return answer

    def per_group(self):
        with self.lock:
            return Counter(group for group, _pid in filter(None, self.senders))


def process_of_connection(client_port, server_port):
    """(process group, pid) of the process holding the TCP connection 127.0.0.1:client_port → server_port."""
    inode = None
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == client_port and int(fields[2].split(":")[1], 16) == server_port:
                inode = fields[9]
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            links = [os.readlink(f"/proc/{entry}/fd/{fd}") for fd in os.listdir(f"/proc/{entry}/fd")]
            if f"socket:[{inode}]" in links:
                return os.getpgid(int(entry)), int(entry)
        except OSError:
            continue
    return None


class Host:
    """One "machine": gunicorn and newsletter_qcluster from the documented units, in one session of their own."""

    def __init__(self, name, environment, tmp_path):
        self.name = name
        self.web_port = free_port()
        web = shlex.split(read_unit(EXAMPLES / "gunicorn.service")["ExecStart"])
        assert Path(web[0]).name == "gunicorn" and web[1].endswith(".wsgi:application"), web
        # The site's interpreter, WSGI module and address are the test's; every other option is the unit's.
        web[:2] = [str(GUNICORN), "example.wsgi:application"]
        web[web.index("--bind") + 1] = f"127.0.0.1:{self.web_port}"
        worker_unit = read_unit(EXAMPLES / "qcluster.service")
        worker = [sys.executable, "example_site/manage.py", *manage_py_arguments(worker_unit["ExecStart"])]
        self.log_path = tmp_path / f"host-{name}.log"
        self.log = open(self.log_path, "wb")  # a file: a full pipe would block the host
        # sh is the host's first process; both services are its children, in its process group.
        self.process = subprocess.Popen(
            ["sh", "-c", f"{shlex.join(web)} & {shlex.join(worker)} & wait"],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.pid = self.process.pid

    def get(self, path):
        """Status of a GET on this host's web server (no redirects followed)."""

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        try:
            url = f"http://127.0.0.1:{self.web_port}{path}"
            with urllib.request.build_opener(NoRedirect).open(url, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def serving(self):
        try:
            return self.get("/newsletter/o/x.gif") > 0
        except OSError:
            return False

    def poll(self):  # for send_cluster.wait_finished's messages
        return self.process.poll()

    def stop(self):
        """As systemd stops both services: SIGTERM to every process, SIGKILL to what is left after 20 s."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)
        self.log.close()

    def tail(self):
        return self.log_path.read_text(errors="replace")[-5000:]


@pytest.fixture
def redis_queue(monkeypatch):
    """The test process enqueues into Redis, under a queue name (key prefix) of this run; its keys go at the end."""
    reason = redis_unavailable()
    if reason:
        pytest.skip(reason)
    import redis
    from django_q.conf import Conf

    name = f"wn_multihost_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    for attribute, value in {
        "ORM": None, "REDIS": REDIS_URL, "PREFIX": name, "CLUSTER_NAME": name,
        "Q_STAT": f"django_q:{name}:cluster", "SYNC": False,
    }.items():  # fmt: skip
        monkeypatch.setattr(Conf, attribute, value)
    yield name
    client = redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"django_q:{name}:*"):
        client.delete(key)


class AttributingSmtpSink(SmtpSink):
    def __init__(self):  # SmtpSink's, with the attributing handler
        self.handler = AttributingSink()
        self.port = self.handler.port = free_port()
        self.controller = None
        self.start()


@pytest.fixture
def relay():
    sink = AttributingSmtpSink()
    yield sink
    sink.stop()


def host_environment(queue_name, relay_port):
    """The documented environment file, with the test's addresses: its broker, database, relay and secret key."""
    documented = read_environment_file(EXAMPLES / "mysite.env")
    environment = {**os.environ, **documented}
    environment.update(
        DJANGO_SETTINGS_MODULE="tests.settings",  # the example site's settings on the test database
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "example_site")]),
        WN_USE_TEST_DB="1",
        Q_SYNC="0",
        Q_REDIS_URL=REDIS_URL,
        WN_TEST_Q_CLUSTER=f'{{"name": "{queue_name}", "timeout": 60, "retry": 90}}',
        WN_TEST_EMAIL_SMTP="1",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(relay_port),
        SECRET_KEY=django_settings.SECRET_KEY,  # the same on every host (and in the process that enqueues)
        ALLOWED_HOSTS="127.0.0.1",
        WN_TEST_BASE_URL=documented["NEWSLETTER_BASE_URL"],
        # tests.settings builds WAGTAIL_NEWSLETTER itself: the file's send concurrency, and small batches.
        WN_TEST_NEWSLETTER_SETTINGS=(
            f'{{"SEND_CONCURRENCY": {int(documented["NEWSLETTER_SEND_CONCURRENCY"])}, "SEND_BATCH_SIZE": 50}}'
        ),
    )
    return environment, documented


def tracking_paths(raw):
    """The open pixel's and the first click redirect's paths in a received message."""
    html = email.message_from_bytes(raw, policy=email.policy.default).get_body(("html",)).get_content()
    return re.search(r"/newsletter/o/[^\"'\s>]+", html).group(0), re.search(r"/newsletter/c/[^\"'\s>]+", html).group(0)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="several hosts share one PostgreSQL (SKIP LOCKED claims); run with TEST_DATABASE_URL=postgres://…",
)
def test_two_hosts_send_one_campaign_and_one_survives_the_other_s_sigkill(
    archive,  # noqa: F811
    relay,
    redis_queue,
    settings,
    tmp_path,
):
    environment, documented = host_environment(redis_queue, relay.port)
    settings.WAGTAIL_NEWSLETTER_SEND_CONCURRENCY = int(documented["NEWSLETTER_SEND_CONCURRENCY"])
    workers_per_host = int(documented["Q_WORKERS"])
    audience = make_audience(RECIPIENTS)
    relay.handler.delay = 0.02  # ~50 messages/s per worker: the campaign outlasts the kill
    started = time.monotonic()
    hosts = [Host("a", environment, tmp_path), Host("b", environment, tmp_path)]
    try:
        for host in hosts:
            assert wait_for(host.serving, 60, 0.2), f"host {host.name}'s web server did not answer:\n{host.tail()}"
        campaign = start_campaign(archive)
        serving = time.monotonic()
        group = {host.pid: host.name for host in hosts}

        def both_sending():
            counts = relay.handler.per_group()
            return all(counts[host.pid] >= BOTH_SENDING for host in hosts)

        assert wait_for(both_sending, 90, 0.1), f"not both hosts sent: {relay.handler.per_group()}\n" + "\n".join(
            host.tail() for host in hosts
        )
        # Both web servers serve the campaign's tracking links (one database, stateless tokens).
        open_path, click_path = tracking_paths(relay.handler.first_raw)
        assert [hosts[0].get(open_path), hosts[1].get(click_path)] == [200, 302]
        assert Event.objects.count() == 2

        victim, survivor = hosts
        in_flight = len(sending_workers(victim.pid, relay.port))
        os.killpg(victim.pid, signal.SIGKILL)  # the whole machine: web server, cluster, workers
        killed = time.monotonic()
        victim.process.wait(timeout=10)
        before_kill = relay.handler.per_group()
        assert wait_for(lambda: not group_processes(victim.pid), 10, 0.05), "host a's processes outlived SIGKILL"
        assert len(audience) - relay.handler.count() > 1000, "the campaign ended before the kill"
        print(
            f"hosts serving after {serving - started:.1f} s; both sending, host a killed {killed - serving:.1f} s "
            f"later, after {dict((group.get(g), n) for g, n in before_kill.items())}; {in_flight} in flight"
        )

        relay.handler.delay = 0
        wait_finished(campaign, survivor, timeout=120)
        print(f"host b finished the campaign {time.monotonic() - killed:.1f} s after the kill")
        assert not victim.serving()
        assert survivor.get(click_path) == 302 and Event.objects.count() == 3
    finally:
        for host in hosts:
            host.stop()

    messages = list(relay.handler.received)
    per_recipient = Counter(rcpt for rcpt, _mid, _sender in messages)
    missed = audience - set(per_recipient)
    duplicates = sum(count - 1 for count in per_recipient.values())
    per_worker = Counter(relay.handler.senders)
    print(
        f"{len(messages)} messages, {duplicates} duplicates, {len(missed)} missed; per host "
        f"{ {group.get(g, '?'): n for g, n in relay.handler.per_group().items()} }; per worker "
        + ", ".join(f"{group.get(g, '?')}/{pid}: {n}" for (g, pid), n in sorted(per_worker.items(), key=str))
    )
    assert not missed
    assert in_flight <= workers_per_host
    assert duplicates <= in_flight
    for rcpt, count in per_recipient.items():
        if count > 1:  # in flight when its host died: sent again with the same Message-ID
            assert len({mid for r, mid, _s in messages if r == rcpt}) == 1
    assert Campaign.objects.get(pk=campaign.pk).status == "sent"
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT).count() == RECIPIENTS


def test_the_guide_shows_the_tested_units_and_every_variable_of_the_environment_file():
    guide = (ROOT / "docs" / "operators-multi-host.md").read_text()
    shown, unit = {}, None
    for line in re.search(r"```ini\n(.*?)```", guide, re.S).group(1).splitlines():
        if match := re.fullmatch(r"# (\S+\.service), \[Service\]", line):
            unit = shown.setdefault(match.group(1), {})
        elif line.strip():
            key, _equals, value = line.partition("=")
            unit[key] = value
    assert set(shown) == {"gunicorn.service", "qcluster.service"}
    for name, settings in shown.items():
        service = read_unit(EXAMPLES / name)
        assert settings == {key: service[key] for key in settings}, name
        # Both services read the one environment file.
        assert service["EnvironmentFile"].lstrip("-") == "/etc/mysite/mysite.env"
    table = {
        name for row in re.findall(r"^\| (`[A-Z_]+`.*?) \|", guide, re.M) for name in re.findall(r"`([A-Z_]+)`", row)
    }
    assert table == set(read_environment_file(EXAMPLES / "mysite.env")) - {"DJANGO_SETTINGS_MODULE"}


def test_the_example_site_reads_the_environment_file():
    """The example site's settings, imported with the documented environment file: Redis broker (no ORM one), the
    workers, the send concurrency, the database with persistent connections."""
    documented = read_environment_file(EXAMPLES / "mysite.env")
    code = (
        "import json, example.settings as s; print(json.dumps([s.Q_CLUSTER, s.WAGTAIL_NEWSLETTER['SEND_CONCURRENCY'], "
        "s.DATABASES['default']['NAME'], s.DATABASES['default']['HOST'], s.DATABASES['default']['CONN_MAX_AGE'], "
        "s.SECRET_KEY, s.DEBUG, s.WAGTAIL_NEWSLETTER['BASE_URL']]))"
    )
    environment = {**os.environ, **documented, "PYTHONPATH": str(ROOT / "example_site")}
    environment.pop("DJANGO_SETTINGS_MODULE")
    environment.pop("Q_CLUSTER_JSON", None)
    output = subprocess.run(
        [sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    q_cluster, concurrency, name, host, conn_max_age, secret_key, debug, base_url = json.loads(output)
    assert q_cluster["redis"] == documented["Q_REDIS_URL"] and "orm" not in q_cluster
    assert q_cluster["workers"] == int(documented["Q_WORKERS"])
    assert concurrency == int(documented["NEWSLETTER_SEND_CONCURRENCY"])
    assert (name, host, conn_max_age) == ("mysite", "db.internal", int(documented["CONN_MAX_AGE"]))
    assert (secret_key, debug, base_url) == (documented["SECRET_KEY"], False, documented["NEWSLETTER_BASE_URL"])


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze (systemd)")
def test_systemd_accepts_both_units(tmp_path):
    """``systemd-analyze verify``: no complaint but the site's own paths, which exist only on a real server."""
    for name in ("gunicorn.service", "qcluster.service"):
        shutil.copy(EXAMPLES / name, tmp_path / f"mysite-{name}")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(path) for path in tmp_path.glob("*.service"))],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert complaints and all("/srv/mysite/venv/bin/" in line and "not executable" in line for line in complaints), (
        complaints
    )
