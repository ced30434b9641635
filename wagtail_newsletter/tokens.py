"""Compact signed tokens for public links, one salt per purpose.

A token is ``base62(id)`` + ``:`` + timestamp + ``:`` + a truncated HMAC, made by Django's
``TimestampSigner`` with a salt per purpose: a token made for one purpose never validates
for another, and any altered character makes it invalid.
"""

from django.core import signing

PURPOSES = {"confirm", "unsubscribe", "open", "click", "web", "bounce"}


class InvalidToken(Exception):
    """The token is forged, altered, made for another purpose, or expired."""


def _signer(purpose):
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return signing.TimestampSigner(salt=f"wagtail_newsletter.{purpose}")


def make_token(purpose, value):
    """Sign ``value`` (an int or a short string without ':') for ``purpose``."""
    value = str(value)
    if ":" in value:
        raise ValueError("token values may not contain ':'")
    return _signer(purpose).sign(value)


def read_token(purpose, token, max_age=None):
    """Return the value signed in ``token`` or raise InvalidToken."""
    if not isinstance(token, str) or len(token) > 200:
        raise InvalidToken("malformed")
    try:
        return _signer(purpose).unsign(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvalidToken("expired") from exc
    except signing.BadSignature as exc:
        raise InvalidToken("bad signature") from exc
