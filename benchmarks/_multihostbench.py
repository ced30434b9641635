"""Settings of benchmarks/multi_host.py: the send benchmark's (``_sendbench``, with WN_BENCH_BROKER=redis), under a
queue name of this run (WN_BENCH_Q_NAME: the Redis key prefix), so that runs and tests sharing one Redis never take
each other's tasks."""

import os

from _sendbench import *  # noqa: F403

Q_CLUSTER = {**Q_CLUSTER, "name": os.environ["WN_BENCH_Q_NAME"]}  # noqa: F405
