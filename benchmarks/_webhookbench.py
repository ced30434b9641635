"""Settings of the webhook benchmark (benchmarks/webhooks.py): the send benchmark's (``_sendbench``), with the
webhook settings given as JSON in WN_BENCH_WEBHOOKS."""

import json
import os

from _sendbench import *  # noqa: F403

WAGTAIL_NEWSLETTER = {**WAGTAIL_NEWSLETTER, **json.loads(os.environ.get("WN_BENCH_WEBHOOKS", "{}"))}  # noqa: F405
