"""Smoke test of benchmarks/tracking_load.py: a short real run (1,000 deliveries, gunicorn, 2 s of wrk per
endpoint) on PostgreSQL. It must print its figures, answer every hit with 2xx/3xx and lose no event; the speed
targets are not asserted here (a loaded test machine says nothing about them)."""

import os
import re
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL"),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (Debian package)"),
    pytest.mark.skipif(not os.path.exists(GUNICORN), reason="needs gunicorn in the virtualenv"),
]


def test_tracking_load_quick_run_loses_nothing():
    server_url = urlunsplit(urlsplit(os.environ["TEST_DATABASE_URL"])._replace(path="/postgres"))
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "tracking_load.py"), "--quick"]
    command += ["--database-url", server_url, "--bench-db", f"wn_bench_track_smoke_{os.getpid()}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=ROOT)
    output = result.stdout
    assert result.returncode in (0, 3), output + result.stderr  # 3: ran, but missed a speed target

    rates = re.findall(r"^(bare view|tracking) .*?([\d,]+) req/s .*?non-2xx/3xx (\d+)", output, re.MULTILINE)
    assert [name for name, _rate, _bad in rates] == ["bare view", "tracking"], output
    assert all(int(rate.replace(",", "")) > 0 and bad == "0" for _name, rate, bad in rates), output
    written = int(re.search(r"events written ([\d,]+)", output).group(1).replace(",", ""))
    assert written > 0
    assert "lost (answered without its event, matched by delivery, kind and link) = 0\n" in output
    unanswered = int(re.search(r"written but unanswered \(in flight when wrk stopped\) = (\d+)", output).group(1))
    assert unanswered <= 16  # at most one per wrk connection
    assert re.search(r"ratio tracking/bare: \d\.\d\d", output)


def test_bounce_intake_quick_run_takes_every_message():
    """benchmarks/bounce_intake.py with 300 messages (on PostgreSQL, like the others): it prints its figures and
    loses nothing."""
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "bounce_intake.py"), "--count", "300", "--batch", "50"]
    env = {key: value for key, value in os.environ.items() if key not in ("WN_TEST_DB_SUFFIX", "WN_USE_TEST_DB")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=ROOT, env=env)
    output = result.stdout
    assert result.returncode in (0, 3), output + result.stderr  # 3: ran, but under the speed target
    assert "poll: 300 taken, 0 already known, 0 left for later" in output
    assert re.search(r"end to end .*: [\d,]+ messages/s", output)
    assert re.search(r"ratio end to end / in memory: \d\.\d\d", output)
    assert "recorded 300 messages, 300 events; 0 left in INBOX" in output
