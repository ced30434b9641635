"""Benchmark: the bounce classifier over the labelled corpus, in memory (no I/O, no database).

    python benchmarks/classify_corpus.py [--corpus ../shared/corpus/bounces] [--rounds 20]

Reads every ``.eml`` of the corpus once, then classifies all of them ``--rounds`` times and prints messages/s (by
the wall clock, and by this process's CPU time, which other load on the machine does not skew) and the mean, median
and slowest time per message (the slowest file named), on one core.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wagtail_newsletter.deliverability.classify import classify  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=os.environ.get("BOUNCE_CORPUS") or ROOT.parent / "shared/corpus/bounces")
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()
    files = sorted(Path(options.corpus).glob("*.eml"))
    if not files:
        sys.exit(f"no .eml files in {options.corpus}")
    messages = [(path.name, path.read_bytes()) for path in files]
    total_bytes = sum(len(raw) for _name, raw in messages)

    per_message = {name: [] for name, _raw in messages}
    started, cpu_started = time.perf_counter(), time.process_time()
    for _round in range(options.rounds):
        for name, raw in messages:
            before = time.perf_counter()
            classify(raw)
            per_message[name].append(time.perf_counter() - before)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started

    count = len(messages) * options.rounds
    means = {name: statistics.fmean(times) for name, times in per_message.items()}
    slowest = max(means, key=means.get)
    print(f"corpus: {len(messages)} messages, {total_bytes / 1024:.0f} KiB, {options.rounds} rounds")
    print(f"classified {count} messages in {elapsed:.2f} s: {count / elapsed:,.0f} messages/s "
          f"({count / cpu:,.0f} messages per CPU second)")  # fmt: skip
    print(f"per message: mean {statistics.fmean(means.values()) * 1000:.2f} ms, "
          f"median {statistics.median(means.values()) * 1000:.2f} ms, "
          f"slowest {means[slowest] * 1000:.2f} ms ({slowest})")  # fmt: skip


if __name__ == "__main__":
    main()
