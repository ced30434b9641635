"""Settings of the tracking benchmark (benchmarks/tracking_load.py): the example site as production serves it.

Used as ``DJANGO_SETTINGS_MODULE=_trackbench`` (benchmarks/ on PYTHONPATH) by the benchmark and by the gunicorn
it starts; both endpoints under load (the real tracking ones and the bare reference) are served with these same
settings. Environment: DATABASE_URL.
"""

from example.settings import *  # noqa: F403

# Production-like: no DEBUG (it keeps every query's text); the example's persistent database connections; the
# example's URLs plus the bare reference view.
DEBUG = False
ROOT_URLCONF = "_trackurls"
# The example's database cache needs its table (createcachetable); neither hit path nor bare view uses a cache.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
WAGTAIL_NEWSLETTER = {**WAGTAIL_NEWSLETTER, "BASE_URL": "https://news.example.org"}  # noqa: F405
