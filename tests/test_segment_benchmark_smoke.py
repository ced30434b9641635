"""Smoke test of benchmarks/segment_count.py: a 1 % run (10,000 subscribers, 100,000 events) on PostgreSQL prints its
figures, counts what hand-written SQL counts, plans exactly the subscribed people of the segment in one statement and
shows the query plan. The speed targets are not asserted here (a loaded test machine says nothing about them)."""

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL")


def test_segment_count_smoke_run():
    server_url = urlunsplit(urlsplit(os.environ["TEST_DATABASE_URL"])._replace(path="/postgres"))
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "segment_count.py"), "--scale", "0.01", "--runs", "2"]
    command += ["--database-url", server_url, "--bench-db", f"wn_bench_segment_smoke_{os.getpid()}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    output = result.stdout
    assert result.returncode in (0, 3), output + result.stderr  # 3: ran, but missed a speed target
    count = int(re.search(r"segment count: ([\d,]+) subscribers", output).group(1).replace(",", ""))
    assert count > 0
    assert f"hand-written SQL count: {count:,} (same)" in output
    planned = re.search(r"planning a campaign to the segment: ([\d,]+) deliveries .*?; ([\d,]+) subscribed", output)
    assert planned and planned.group(1) == planned.group(2) and int(planned.group(1).replace(",", "")) > 0
    assert "EXPLAIN ANALYZE" in output and "Execution Time" in output
