"""Settings of the example site: embedded defaults (SQLite, django-q2 ORM broker, local SMTP
catcher on port 1025), each overridable from the environment:

DATABASE_URL, EMAIL_HOST, EMAIL_PORT, EMAIL_TIMEOUT, NEWSLETTER_BASE_URL (else the one scripts/demo recorded in
EXAMPLE_VAR_DIR/base_url), REDIS_URL (cache), SECRET_KEY, DEBUG, EXAMPLE_VAR_DIR (example_site/var),
Q_REDIS_URL (the Redis broker instead of the ORM one), Q_WORKERS, NEWSLETTER_SEND_CONCURRENCY,
Q_CLUSTER_JSON (a JSON object merged into Q_CLUSTER last, e.g. '{"workers": 4, "redis": "redis://127.0.0.1:6379/0"}'),
SPAMD (host[:port] of a SpamAssassin spamd that scores newsletters in the checklist; none by default).
"""

import json
import os
from pathlib import Path

import dj_database_url

from wagtail_newsletter.conf import DEFAULTS as NEWSLETTER_DEFAULTS

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("EXAMPLE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("SECRET_KEY", "example-site-not-secret-change-me")
DEBUG = os.environ.get("DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")

INSTALLED_APPS = [
    "home",
    "outbox",
    "wagtail_newsletter",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.simple_translation",  # "Translate" in a page's menu: core copy_for_translation
    "wagtail.locales",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_q",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "example.middleware.SiteLocaleMiddleware",  # pages by their URL, the rest by the visitor (middleware.py)
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "example.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "example.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        # Persistent connections: a tracking hit is one INSERT, so a new connection per request would double its cost.
        # No health checks: they add a "SELECT 1" to every request (a third of a hit's time in tracking_load.py);
        # after a database restart, one request fails and Django then drops the broken connection.
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and qcluster write concurrently: wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
else:
    # Shared by every process (web + qcluster), so rate limits hold across them.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "example_cache"}}

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
# Pages in English and French: one campaign sends each subscriber the translation in their language.
WAGTAIL_I18N_ENABLED = os.environ.get("WAGTAIL_I18N_ENABLED", "1") == "1"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
# The example site's own translations (home, outbox, templates/).
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def running_base_url():
    """Where the site runs: NEWSLETTER_BASE_URL, else what scripts/demo recorded when it started (so a command run in
    another shell — demo_activity, setup_demo — writes the running demo's URLs), else port 8000."""
    recorded = VAR_DIR / "base_url"
    if "NEWSLETTER_BASE_URL" in os.environ:
        return os.environ["NEWSLETTER_BASE_URL"]
    return recorded.read_text().strip() if recorded.is_file() else "http://127.0.0.1:8000"


WAGTAIL_SITE_NAME = "Example newsletter site"
WAGTAILADMIN_BASE_URL = running_base_url()
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "1025"))
# Django waits forever by default (the sending path alone would use 20 s): a relay that stops answering would hold
# a worker until django-q2 kills it.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Example newsletter <news@example.org>")
# A site that sends through a service with django-anymail gets its bounce, complaint and unsubscribe events at
# /anymail/<service>/tracking/: the "user:password" the service posts with, and Mailgun's signing key
# (docs/operators-esp-webhooks.md). Unset: not configured.
ANYMAIL = {
    name: os.environ[f"ANYMAIL_{name}"]
    for name in ("WEBHOOK_SECRET", "MAILGUN_WEBHOOK_SIGNING_KEY")
    if os.environ.get(f"ANYMAIL_{name}")
}

WAGTAIL_NEWSLETTER = {
    "BASE_URL": WAGTAILADMIN_BASE_URL,
    # The demo's own pages are http://127.0.0.1: not a warning here (an editor must not learn to tick "send anyway").
    "ALLOW_LOOPBACK_LINKS": True,
    # The sign-up and confirmation pages wear the site's own layout.
    "BASE_TEMPLATE": "base.html",
    # The demo has no public DNS, so its sender domain sends without DNS checks. Never on a real site.
    "ASSUME_VERIFIED_DOMAINS": ["example.org"],
}
# SPAMD=host[:port]: a SpamAssassin spamd scores the newsletters in the pre-flight checklist (no score when unset).
if os.environ.get("SPAMD"):
    _spamd_host, _colon, _spamd_port = os.environ["SPAMD"].partition(":")
    WAGTAIL_NEWSLETTER["SPAMD"] = {"HOST": _spamd_host, "PORT": int(_spamd_port or 783)}

# django-q2 with its ORM broker: no extra service needed. Use "redis" (Q_CLUSTER_JSON) to scale out.
# "timeout" (django-q2 kills a task running longer) must exceed a send task's longest run: it stops claiming after
# SEND_TASK_SECONDS, its last batch is cut after SEND_LEASE_SECONDS / 2, then one SMTP timeout — 20 + 5 + 20 = 45 s
# with the library's defaults; 120 s leaves room (and for imports). "retry" (a task not acknowledged by then is
# handed out again, so it would run twice) must exceed "timeout". Both follow SEND_* set in WAGTAIL_NEWSLETTER above.
_send = {**NEWSLETTER_DEFAULTS, **WAGTAIL_NEWSLETTER}
Q_CLUSTER = {
    "name": "example",
    "workers": 2,
    "timeout": max(120, _send["SEND_TASK_SECONDS"] + _send["SEND_LEASE_SECONDS"] // 2 + EMAIL_TIMEOUT + 30),
    "max_attempts": 3,
    "catch_up": False,
    "orm": "default",
    "poll": 0.5,
}
Q_CLUSTER["retry"] = Q_CLUSTER["timeout"] + 60
# Several hosts (docs/operators-multi-host.md): Q_REDIS_URL puts the queue in Redis, Q_WORKERS sets the worker
# processes of this host's cluster; NEWSLETTER_SEND_CONCURRENCY the send tasks per campaign (workers x hosts).
if os.environ.get("Q_REDIS_URL"):
    Q_CLUSTER["redis"] = os.environ["Q_REDIS_URL"]
if os.environ.get("Q_WORKERS"):
    Q_CLUSTER["workers"] = int(os.environ["Q_WORKERS"])
if os.environ.get("NEWSLETTER_SEND_CONCURRENCY"):
    WAGTAIL_NEWSLETTER["SEND_CONCURRENCY"] = int(os.environ["NEWSLETTER_SEND_CONCURRENCY"])
Q_CLUSTER.update(json.loads(os.environ.get("Q_CLUSTER_JSON", "{}")))
if Q_CLUSTER.get("redis"):
    Q_CLUSTER.pop("orm", None)  # one broker: django-q2 would take the ORM before Redis
if os.environ.get("Q_SYNC") == "1":
    Q_CLUSTER["sync"] = True

# Where the local SMTP catcher (``manage.py smtp_catcher``) stores received mails.
OUTBOX_DIR = VAR_DIR / "outbox"
