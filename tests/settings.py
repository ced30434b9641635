"""Test settings: the example site with a database from TEST_DATABASE_URL (SQLite by default),
django-q2 in sync mode (a real qcluster is started by the integration tests), local memory cache.

Each test run gets its own test database name (``WN_TEST_DB_SUFFIX``, inherited by the
processes a test starts), so that runs in parallel never share one. A process started by a
test (qcluster, a live example site) sets ``WN_USE_TEST_DB=1`` to open that test database
directly instead of creating one.
"""

import json
import os

import dj_database_url

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("EXAMPLE_VAR_DIR", os.path.join(HERE, "..", "test-artifacts", "var"))
os.environ.setdefault("WN_TEST_DB_SUFFIX", str(os.getpid()))

from example.settings import *  # noqa: E402,F403

_suffix = os.environ["WN_TEST_DB_SUFFIX"]
DATABASES = {"default": dj_database_url.parse(os.environ.get("TEST_DATABASE_URL", "sqlite:///:memory:"))}
_db = DATABASES["default"]
if _db["ENGINE"].endswith("sqlite3"):
    # A file, so that a live server thread and a qcluster subprocess see the same data.
    _db["TEST"] = {"NAME": os.path.join(VAR_DIR, f"test_{_suffix}.sqlite3")}  # noqa: F405
    _db["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
else:
    _db["TEST"] = {"NAME": f"test_wn_{_suffix}"}
if os.environ.get("WN_USE_TEST_DB") == "1":
    _db["NAME"] = _db["TEST"]["NAME"]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if os.environ.get("WN_TEST_EMAIL_SMTP") == "1":
    # A process started by a test (qcluster) delivers to the test's SMTP server.
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "1025"))
# The webhooks of sending services (tests/test_esp_webhooks.py): the basic-auth secret and Mailgun's signing key.
ANYMAIL = {"WEBHOOK_SECRET": "esp-hooks:test-secret", "MAILGUN_WEBHOOK_SIGNING_KEY": "test-mailgun-signing-key"}
Q_CLUSTER = {**Q_CLUSTER, "sync": os.environ.get("Q_SYNC", "1") == "1"}  # noqa: F405
# A qcluster started by a test gets its cluster and sending settings from the test (JSON).
Q_CLUSTER.update(json.loads(os.environ.get("WN_TEST_Q_CLUSTER", "{}")))
# A live example site started by a test (WN_TEST_BASE_URL) puts its own address in the links it mails.
WAGTAIL_NEWSLETTER = {
    "BASE_URL": os.environ.get("WN_TEST_BASE_URL", "http://testserver"),
    "MIN_FILL_SECONDS": 0,
    # The example site's demo domain, and the documentation domains tests send from, need no DNS check; the
    # DNS checks themselves are tested with domains under .test (tests/test_sender_domain_*.py).
    "ASSUME_VERIFIED_DOMAINS": ["example.org", "example.net", "example.com"],
    **json.loads(os.environ.get("WN_TEST_NEWSLETTER_SETTINGS", "{}")),
}
