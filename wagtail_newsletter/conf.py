"""All settings of wagtail_newsletter, with their defaults, in one place.

A project overrides any of them in one dict::

    WAGTAIL_NEWSLETTER = {"CONFIRMATION_MAX_AGE": 3 * 24 * 3600}

or with a prefixed name (``WAGTAIL_NEWSLETTER_CONFIRMATION_MAX_AGE``). Read them with
``newsletter_settings.CONFIRMATION_MAX_AGE``; they are looked up at each access so that
``override_settings`` works in tests.
"""

from django.conf import settings

DEFAULTS = {
    # Absolute base URL used in links inside emails ("https://www.example.org"). Falls back to the
    # request's host or to the default Wagtail site when empty.
    "BASE_URL": "",
    # Sender of system mails (confirmation, manager notifications) when a form does not set one.
    "DEFAULT_FROM_EMAIL": None,  # None -> settings.DEFAULT_FROM_EMAIL
    # Double opt-in links stop working after this many seconds.
    "CONFIRMATION_MAX_AGE": 7 * 24 * 3600,
    # Addresses that never confirmed their subscription are removed this many days after signing up.
    "PENDING_RETENTION_DAYS": 30,
    # Forgotten subscribers are erased (anonymised) this many days after the request.
    "FORGET_GRACE_DAYS": 30,
    # Abuse resistance on public subscription forms.
    "MIN_FILL_SECONDS": 2,  # a human needs at least this long to fill a form
    "MAX_FORM_AGE_SECONDS": 24 * 3600,  # a form rendered earlier than this is stale
    "RATE_LIMIT_PER_IP": (10, 3600),  # (submissions, per seconds) for one IP network
    "RATE_LIMIT_PER_EMAIL": (3, 3600),  # (submissions, per seconds) for one address
    "RATE_LIMIT_CACHE": "default",  # a cache shared by all web processes in production
    "HONEYPOT_FIELD": "website",
    # Origins whose pages may show the forms embedded in an iframe ("https://partner.example"), sent as the
    # embed pages' CSP frame-ancestors; ["*"]: any site; []: embedding is off (the embed URLs answer 404).
    "EMBED_ALLOWED_ORIGINS": ["*"],
    # Maximum lengths of free-text input.
    "MAX_NAME_LENGTH": 100,
    "MAX_FIELD_LENGTH": 255,
    # Import limits.
    "IMPORT_MAX_UPLOAD_BYTES": 200 * 1024 * 1024,
    "IMPORT_CHUNK_SIZE": 5000,
    # Template the public pages (form errors, confirmation) extend.
    "BASE_TEMPLATE": "wagtail_newsletter/public/base.html",
    # The django-q2 cluster name tasks are sent to (None: the default cluster).
    "Q_CLUSTER_NAME": None,
}


class NewsletterSettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown wagtail_newsletter setting {name!r}")
        prefixed = f"WAGTAIL_NEWSLETTER_{name}"
        if hasattr(settings, prefixed):
            return getattr(settings, prefixed)
        value = getattr(settings, "WAGTAIL_NEWSLETTER", {}).get(name, DEFAULTS[name])
        if name == "DEFAULT_FROM_EMAIL" and value is None:
            return settings.DEFAULT_FROM_EMAIL
        return value


newsletter_settings = NewsletterSettings()
