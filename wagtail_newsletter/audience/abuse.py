"""Abuse resistance of public subscription forms: honeypot, fill time, stale forms, rate limits,
body size. Plain functions over plain values, so tests call them without HTTP.

Rate-limit counters live in the cache named by ``RATE_LIMIT_CACHE``. It must be shared by every
web process (Redis or the database cache in production): a per-process local-memory cache lets
each process count on its own.
"""

import hashlib
import time

from django.core import signing
from django.core.cache import caches

from ..conf import newsletter_settings
from .optin import minimise_ip

# A sign-up form posts a few hundred bytes; anything far larger is not a person filling it in.
MAX_BODY_BYTES = 32 * 1024

_STAMP_SALT = "wagtail_newsletter.form-rendered"


class FormTiming:
    """Outcomes of ``check_render_stamp``."""

    OK = "ok"
    TOO_FAST = "too_fast"
    STALE = "stale"  # too old, forged, altered, missing, or made for another form


def body_too_large(content_length):
    """True when a request announces a body larger than ``MAX_BODY_BYTES``."""
    try:
        return int(content_length or 0) > MAX_BODY_BYTES
    except (TypeError, ValueError):
        return True


def honeypot_filled(value):
    """True when the field hidden from people has any content: only bots fill it."""
    return bool(value and str(value).strip())


def make_render_stamp(form_id, now=None):
    """A signed value recording when form ``form_id`` was rendered (to the millisecond)."""
    now = time.time() if now is None else now
    return signing.Signer(salt=_STAMP_SALT).sign(f"{form_id}.{int(now * 1000)}")


def check_render_stamp(stamp, form_id, now=None):
    """Judge the time between rendering and submitting a form: a ``FormTiming`` value."""
    now = time.time() if now is None else now
    try:
        value = signing.Signer(salt=_STAMP_SALT).unsign(stamp or "")
        stamped_form, millis = value.split(".")
        rendered_at = int(millis) / 1000
    except (signing.BadSignature, ValueError):
        return FormTiming.STALE
    if stamped_form != str(form_id):
        return FormTiming.STALE
    elapsed = now - rendered_at
    if elapsed > newsletter_settings.MAX_FORM_AGE_SECONDS or elapsed < -60:  # small clock skew between nodes
        return FormTiming.STALE
    if elapsed < newsletter_settings.MIN_FILL_SECONDS:
        return FormTiming.TOO_FAST
    return FormTiming.OK


def _hit(key, limit, period):
    """Count one hit on ``key``; True while at most ``limit`` hits happened within ``period``.

    ``cache.add`` starts a window only if none runs and ``cache.incr`` is atomic on the Redis and
    database caches, so concurrent requests on many nodes never lose a hit.
    """
    cache = caches[newsletter_settings.RATE_LIMIT_CACHE]
    if cache.add(key, 1, timeout=period):
        return 1 <= limit
    try:
        count = cache.incr(key)
    except ValueError:  # the window expired between add() and incr()
        cache.add(key, 1, timeout=period)
        count = 1
    return count <= limit


def _key(kind, value):
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"wagtail_newsletter:rate:{kind}:{digest}"


def allow_ip(ip):
    """Count a submission from ``ip`` (its /24 or /48 network); False once over ``RATE_LIMIT_PER_IP``."""
    limit, period = newsletter_settings.RATE_LIMIT_PER_IP
    return _hit(_key("ip", minimise_ip(ip) or "unknown"), limit, period)


def allow_email(email):
    """Count a submission for ``email`` (normalised); False once over ``RATE_LIMIT_PER_EMAIL``."""
    limit, period = newsletter_settings.RATE_LIMIT_PER_EMAIL
    return _hit(_key("email", email), limit, period)
