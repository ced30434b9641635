"""API keys: made once (the plain key is shown to its maker and never stored), checked on every request, rate limited.

A key reads ``wn_<prefix>_<secret>``: the prefix finds the row (unique, indexed), the secret is compared by its hash
in constant time. Requests are counted per key in fixed windows of the cache named by ``RATE_LIMIT_CACHE`` (shared by
every web process in production, as for the sign-up forms' limits), so a refusal can say when the window ends.
"""

import datetime
import re
import secrets
import time

from django.core.cache import caches
from django.utils import timezone
from django.utils.translation import gettext as _

from ...conf import newsletter_settings
from .models import ApiKey, hash_secret

_KEY_FORMAT = re.compile(r"^wn_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
# A key seen in use is stamped at most this often: a write per request would cost more than the request.
_LAST_USED_EVERY = datetime.timedelta(minutes=1)


class KeyRefused(Exception):
    """The request's key is missing, malformed, unknown, forged or expired; ``str(exc)`` says which, for people."""


class RateLimited(Exception):
    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def create_key(name, user, scopes, expires_at=None):
    """Make a key; return (ApiKey, the plain key). The plain key exists only in this return value."""
    secret = secrets.token_urlsafe(32)
    while True:
        prefix = secrets.token_hex(6)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    api_key = ApiKey.objects.create(
        name=name, user=user, scopes=" ".join(scopes), expires_at=expires_at,
        prefix=prefix, secret_hash=hash_secret(secret),
    )  # fmt: skip
    return api_key, f"wn_{prefix}_{secret}"


def bearer_key(request):
    """The key of an ``Authorization: Bearer …`` header, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _space, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def check_key(plain, now=None):
    """The ApiKey of a plain key; raise KeyRefused when it is malformed, unknown, forged or expired."""
    now = now or timezone.now()
    match = _KEY_FORMAT.match(plain or "")
    if match is None:
        raise KeyRefused(_("The API key is malformed: it reads wn_<prefix>_<secret>."))
    api_key = ApiKey.objects.select_related("user").filter(prefix=match[1]).first()
    # An unknown prefix and a wrong secret get the same answer: nobody learns which prefixes exist.
    if api_key is None or not api_key.secret_matches(match[2]):
        raise KeyRefused(_("The API key is not valid."))
    if api_key.is_expired(now):
        raise KeyRefused(_("The API key expired on %(date)s.") % {"date": api_key.expires_at.isoformat()})
    if not api_key.user.is_active:
        raise KeyRefused(_("The API key's user account is disabled."))
    if api_key.last_used_at is None or api_key.last_used_at < now - _LAST_USED_EVERY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def count_request(api_key, now=None):
    """Count one request of ``api_key``; raise RateLimited (with the seconds left in the window) once over
    ``API_RATE_LIMIT``."""
    limit, period = newsletter_settings.API_RATE_LIMIT
    now = time.time() if now is None else now
    window = int(now // period)
    cache_key = f"wagtail_newsletter:api-rate:{api_key.pk}:{window}"
    cache = caches[newsletter_settings.RATE_LIMIT_CACHE]
    if cache.add(cache_key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # the window expired between add() and incr()
            cache.add(cache_key, 1, timeout=period + 1)
            count = 1
    if count > limit:
        raise RateLimited(max(1, int((window + 1) * period - now + 0.999)))
