"""Test settings: the example site with a database from TEST_DATABASE_URL (SQLite by default),
django-q2 in sync mode (a real qcluster is started by the integration tests), local memory cache."""

import os

import dj_database_url

os.environ.setdefault("EXAMPLE_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "test-artifacts", "var"))

from example.settings import *  # noqa: E402,F403

_url = os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:")
DATABASES = {"default": dj_database_url.parse(_url)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, so that a live server thread and a qcluster subprocess see the same data.
    DATABASES["default"]["NAME"] = os.path.join(VAR_DIR, "test.sqlite3")  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": os.path.join(VAR_DIR, "test.sqlite3")}  # noqa: F405
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
Q_CLUSTER = {**Q_CLUSTER, "sync": os.environ.get("Q_SYNC", "1") == "1"}  # noqa: F405
WAGTAIL_NEWSLETTER = {"BASE_URL": "http://testserver", "MIN_FILL_SECONDS": 0}
