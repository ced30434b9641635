"""Settings of the tracking benchmark (benchmarks/tracking_load.py): the example site as production serves it.

Used as ``DJANGO_SETTINGS_MODULE=_trackbench`` (benchmarks/ on PYTHONPATH) by the benchmark and by the gunicorn
it starts; both endpoints under load (the real tracking ones and the bare reference) are served with these same
settings. Environment: DATABASE_URL; WN_BENCH_HEALTH_CHECKS=0 turns the example's CONN_HEALTH_CHECKS off (they
cost a ``SELECT 1`` round trip on the first query of each request).
"""

import os

from example.settings import *  # noqa: F403

# Production-like: no DEBUG (it keeps every query's text); the example's persistent, health-checked database
# connections; the example's URLs plus the bare reference view.
DEBUG = False
ROOT_URLCONF = "_trackurls"
if os.environ.get("WN_BENCH_HEALTH_CHECKS") == "0":
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # noqa: F405
# The example's database cache needs its table (createcachetable); neither hit path nor bare view uses a cache.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
WAGTAIL_NEWSLETTER = {**WAGTAIL_NEWSLETTER, "BASE_URL": "https://news.example.org"}  # noqa: F405
