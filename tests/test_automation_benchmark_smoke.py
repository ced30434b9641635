"""Smoke test of benchmarks/automation_tick.py: a 1 % run (10,000 people enrolled, 200 due) on PostgreSQL prints its
figures and plans exactly the due, still subscribed people (checked against hand-written SQL); then a real qcluster
sends those deliveries, and a campaign to the same people, to smtp-sink, and the ratio of the two rates is printed.
The speed targets are not asserted here (a loaded test machine says nothing about them)."""

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL")


def test_automation_tick_smoke_run():
    server_url = urlunsplit(urlsplit(os.environ["TEST_DATABASE_URL"])._replace(path="/postgres"))
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "automation_tick.py"), "--scale", "0.01"]
    command += ["--database-url", server_url, "--bench-db", f"wn_bench_automation_smoke_{os.getpid()}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    output = result.stdout
    assert result.returncode in (0, 3), output + result.stderr  # 3: ran, but missed the speed target
    due = int(re.search(r"due now: ([\d,]+) people", output).group(1).replace(",", ""))
    assert due > 0
    planned = re.search(r"tick: [\d.]+ s .*?: ([\d,]+) left, ([\d,]+) deliveries planned", output)
    assert planned and int(planned.group(2).replace(",", "")) == due
    assert "checks against hand-written SQL: same" in output
    assert "a tick with nothing due:" in output
    for label in ("automation", "campaign"):
        sends = re.search(rf"{label} sends: ([\d,]+) planned, ([\d,]+) sent, 0 failed, 0 skipped, smtp-sink "
                          r"received ([\d,]+); .* = ([\d,]+) msgs/s", output)  # fmt: skip
        assert sends, output
        assert {int(n.replace(",", "")) for n in sends.groups()[:3]} == {due}, sends.group(0)
        assert int(sends.group(4).replace(",", "")) > 0
    assert re.search(r"ratio automation sends / campaign sends: \d+\.\d\d", output)


def test_automation_tick_without_sends():
    """``--send 0``: the tick alone, no cluster started."""
    server_url = urlunsplit(urlsplit(os.environ["TEST_DATABASE_URL"])._replace(path="/postgres"))
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "automation_tick.py"), "--scale", "0.001"]
    command += ["--send", "0"]
    command += ["--database-url", server_url, "--bench-db", f"wn_bench_automation_smoke_nosend_{os.getpid()}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode in (0, 3), result.stdout + result.stderr
    assert "checks against hand-written SQL: same" in result.stdout
    assert "sends:" not in result.stdout
