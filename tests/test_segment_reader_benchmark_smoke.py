"""Smoke test of benchmarks/segment_reader_count.py: a 1 % run on PostgreSQL counts each device / client / country /
goal segment as hand-written SQL does, and shows the query plan. The speed target is not asserted here."""

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the benchmark runs on PostgreSQL")


def test_segment_reader_count_smoke_run():
    server_url = urlunsplit(urlsplit(os.environ["TEST_DATABASE_URL"])._replace(path="/postgres"))
    command = [sys.executable, os.path.join(ROOT, "benchmarks", "segment_reader_count.py"), "--scale", "0.01"]
    command += ["--runs", "2", "--database-url", server_url, "--bench-db", f"wn_bench_reader_smoke_{os.getpid()}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    output = result.stdout
    assert result.returncode in (0, 3), output + result.stderr  # 3: ran, but missed the speed target
    line = r"Lyon AND (.+?): ([\d,]+) subscribers;.*hand-written SQL ([\d,]+) \((same|DIFFERENT)\)"
    counts = re.findall(line, output)
    assert [label for label, *_ in counts] == [
        "phone, one of the last 3 campaigns",
        "Gmail or Outlook, any campaign",
        "from CH or BE, last 30 days",
        "reached the goal, any campaign",
    ], output
    for label, count, expected, same in counts:
        assert same == "same" and int(count.replace(",", "")) > 0, (label, count, expected)
    assert "Execution Time" in output
