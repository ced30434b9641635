"""Compact signed tokens for public links, one salt per purpose.

A token is ``base62(id)`` + ``:`` + timestamp + ``:`` + a truncated HMAC, made by Django's
``TimestampSigner`` with a salt per purpose: a token made for one purpose never validates
for another, and any altered character makes it invalid.
"""

import hashlib
import hmac

from django.conf import settings
from django.core import signing
from django.utils.http import base36_to_int, int_to_base36

PURPOSES = {"confirm", "unsubscribe", "open", "click", "web", "test_web", "bounce", "preferences"}


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


# Compact, non-expiring tokens for links inside sent mails (millions a campaign): ``<id>.<sig>``, ``<id>.<n>.<sig>``
# or ``<id>.<n>.<m>.<sig>`` (up to 3 numbers) with numbers in base 36 and a 96-bit truncated HMAC-SHA256 in
# lower-case hex, so a token is safe in a URL path and in an address's local part (VERP), and survives mail systems
# that lower-case addresses. Reading one needs no database: the HMAC alone says whether it was made here.
# Signed with SECRET_KEY; SECRET_KEY_FALLBACKS still verify, so rotating the key breaks no link already mailed.
MAX_NUMBERS = 3
_MAX_TOKEN = 80


def _keys():
    return (settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ()))


_STATES = {}


def _keyed_states(purpose):
    """The keyed HMAC states of a purpose (current key first), made once per process and key set."""
    keys = _keys()
    states = _STATES.get((purpose, keys))
    if states is None:
        if len(_STATES) > 32:  # keys changed (tests override them): don't grow forever
            _STATES.clear()
        states = _STATES[purpose, keys] = tuple(
            _fast_state(
                hmac.new(
                    hashlib.sha256(f"wagtail_newsletter.link.{purpose}:{key}".encode()).digest(), digestmod="sha256"
                )
            )
            for key in keys
        )
    return states


def _fast_state(state):
    """OpenSSL's own HMAC object inside ``hmac.HMAC`` when there is one: copying it skips the Python wrapper (a
    third of the cost of a token; a message signs two dozen). Same copy/update/hexdigest, same digests."""
    inner = getattr(state, "_hmac", None)
    return inner if inner is not None and hasattr(inner, "copy") else state


class LinkSigner:
    """Signs and reads up to 3 numbers (an id and up to 2 more) for one purpose.

    Cheap to make (the keyed HMAC states are shared per process), so a view may make one per request.
    """

    __slots__ = ("_states",)

    def __init__(self, purpose):
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        self._states = _keyed_states(purpose)

    @staticmethod
    def _signature(state, payload):
        mac = state.copy()
        mac.update(payload.encode())
        return mac.hexdigest()[:24]  # 96 bits

    def sign(self, ident, *numbers):
        """A token for ``ident`` and up to 2 more numbers; ``None`` numbers are left out (``sign(id, None)`` is
        ``sign(id)``, as older callers wrote it)."""
        payload = int_to_base36(ident)
        count = 1
        for number in numbers:
            if number is not None:
                payload += "." + int_to_base36(number)
                count += 1
        if count > MAX_NUMBERS:
            raise ValueError(f"a token carries at most {MAX_NUMBERS} numbers")
        mac = self._states[0].copy()
        mac.update(payload.encode())
        return payload + "." + mac.hexdigest()[:24]

    def sign_many(self, ident, numbers, *trailing):
        """``sign(ident, n, *trailing)`` for each n, at a fraction of the cost (id and trailing numbers encoded
        once): the click links of one delivery, ``trailing`` being the campaign id."""
        if len(trailing) > MAX_NUMBERS - 2:
            raise ValueError(f"a token carries at most {MAX_NUMBERS} numbers")
        prefix = int_to_base36(ident) + "."
        suffix = "".join("." + int_to_base36(number) for number in trailing)
        state = self._states[0]
        tokens = []
        for number in numbers:
            payload = prefix + int_to_base36(number) + suffix
            mac = state.copy()
            mac.update(payload.encode())
            tokens.append(payload + "." + mac.hexdigest()[:24])
        return tokens

    def read_all(self, token):
        """All the numbers of a token, as a tuple of 1 to 3 ints, or raise InvalidToken. HMAC only: no database."""
        if not isinstance(token, str) or len(token) > _MAX_TOKEN:
            raise InvalidToken("malformed")
        payload, _, signature = token.lower().rpartition(".")
        if not payload or len(signature) != 24:
            raise InvalidToken("malformed")
        if not any(hmac.compare_digest(self._signature(state, payload), signature) for state in self._states):
            raise InvalidToken("bad signature")
        parts = payload.split(".")
        if len(parts) > MAX_NUMBERS:
            raise InvalidToken("malformed")
        try:
            return tuple(base36_to_int(part) for part in parts)
        except ValueError as exc:
            raise InvalidToken("malformed") from exc

    def read(self, token):
        """``(id, n or None)`` from a token of 1 or 2 numbers, or raise InvalidToken."""
        numbers = self.read_all(token)
        if len(numbers) == 1:
            return numbers[0], None
        if len(numbers) == 2:
            return numbers
        raise InvalidToken("malformed")
