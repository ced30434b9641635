"""A ``qcluster`` stopped in the middle of a campaign, as systemd stops it (the unit shipped in docs/examples/:
SIGTERM to every process of the service at once) and by SIGTERM to its main process alone: it exits within
10 s, gives its claims back, and a cluster started again finishes the campaign with nobody missed and nobody
mailed twice."""

import configparser
import os
import re
import shlex
import signal
import time
from collections import Counter
from functools import partial
from pathlib import Path

import pytest

from wagtail_newsletter.send.models import Delivery, DeliveryStatus

from .send_cluster import (  # noqa: F401 (fixtures)
    cluster_factory,
    cluster_log,
    group_processes,
    make_audience,
    sink,
    start_campaign,
    wait_finished,
    wait_for,
)
from .test_send_engine import archive  # noqa: F401 (fixture)

DOCS = Path(__file__).resolve().parent.parent / "docs"
UNIT = DOCS / "examples" / "qcluster.service"
CLUSTER = {"workers": 2, "timeout": 60, "retry": 90, "poll": 0.1}
# Send tasks that would run 20 s more if nothing told them to stop.
SENDING = {"SEND_BATCH_SIZE": 50, "SEND_CONCURRENCY": 2, "SEND_TASK_SECONDS": 20}


def read_unit(path):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # systemd's keys are case-sensitive
    parser.read(path)
    return parser["Service"]


def manage_py_arguments(exec_start):
    """The arguments after ``manage.py`` in ExecStart (the interpreter and the site's path are the operator's)."""
    words = shlex.split(exec_start)
    return words[[Path(word).name for word in words].index("manage.py") + 1 :]


def stop_like_systemd(process, service):
    """``systemctl stop``: KillSignal to the whole control group (``control-group``) or to the main process
    (``mixed``, ``process``); SIGKILL to whatever is left after TimeoutStopSec. Returns (seconds, SIGKILL needed)."""
    kill_signal = getattr(signal, service.get("KillSignal", "SIGTERM"))
    timeout = float(service.get("TimeoutStopSec", "90").rstrip("s"))
    started = time.monotonic()
    if service.get("KillMode", "control-group") == "control-group":
        os.killpg(process.pid, kill_signal)
    else:
        os.kill(process.pid, kill_signal)
    stopped = wait_for(lambda: process.poll() is not None and not group_processes(process.pid), timeout, 0.05)
    if not stopped:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    return time.monotonic() - started, not stopped


def stop_main_process(process):
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    stopped = wait_for(lambda: process.poll() is not None and not group_processes(process.pid), 30, 0.05)
    if not stopped:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    return time.monotonic() - started, not stopped


def stop_mid_send_then_finish(archive_page, smtp, start_cluster, command, stop):
    """1,500 recipients; the cluster stopped by ``stop(process)`` once 200 are sent; a new cluster finishes."""
    audience = make_audience(1500)
    smtp.handler.delay = 0.005
    cluster = start_cluster(smtp.port, CLUSTER, SENDING, command)
    campaign = start_campaign(archive_page)
    assert wait_for(lambda: smtp.handler.count() >= 200, 60), cluster_log(cluster)
    seconds, killed = stop(cluster)
    print(f"stopped in {seconds:.2f} s after {smtp.handler.count()} messages")
    assert not killed, f"still running after {seconds:.0f} s:\n{cluster_log(cluster)}"
    assert seconds < 10, cluster_log(cluster)
    assert smtp.handler.count() < 1500
    # Claims given back at once, not left to run out their lease.
    assert not Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.CLAIMED).exists()

    smtp.handler.delay = 0
    restarted = start_cluster(smtp.port, CLUSTER, SENDING, command)
    wait_finished(campaign, restarted, timeout=60)
    received = Counter(rcpt for rcpt, _mid, _sender in smtp.handler.received)
    assert set(received) == audience
    assert max(received.values()) == 1


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_systemctl_stop_of_the_documented_unit_mid_send(archive, sink, cluster_factory, queue_for_real):  # noqa: F811
    service = read_unit(UNIT)
    command = manage_py_arguments(service["ExecStart"])
    assert command == ["newsletter_qcluster"]
    stop_mid_send_then_finish(archive, sink, cluster_factory, command, partial(stop_like_systemd, service=service))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_sigterm_to_the_main_process_mid_send(archive, sink, cluster_factory, queue_for_real):  # noqa: F811
    stop_mid_send_then_finish(archive, sink, cluster_factory, ["newsletter_qcluster"], stop_main_process)


def test_the_operators_guide_shows_the_tested_unit():
    guide = (DOCS / "operators.md").read_text()
    shown = re.search(r"```ini\n\[Service\]\n(.*?)```", guide, re.S).group(1)
    service = read_unit(UNIT)
    settings = dict(line.split("=", 1) for line in shown.splitlines())
    assert settings == {key: service[key] for key in settings}
    assert {"ExecStart", "KillMode", "KillSignal", "TimeoutStopSec"} <= set(settings)
