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


# Compact, non-expiring tokens for links inside sent mails (millions a campaign): ``<id>.<sig>`` or
# ``<id>.<n>.<sig>`` with ids in base 36 and a 96-bit truncated HMAC-SHA256 in lower-case hex, so a token is safe
# in a URL path and in an address's local part (VERP), and survives mail systems that lower-case addresses.
# Signed with SECRET_KEY; SECRET_KEY_FALLBACKS still verify, so rotating the key breaks no link already mailed.
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_base36(number):
    if number < 0:
        raise ValueError("negative id")
    digits = []
    while True:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
        if not number:
            return "".join(reversed(digits))


def _keys():
    from django.conf import settings

    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


class LinkSigner:
    """Signs and reads ``(id[, n])`` for one purpose; make one per batch (it keeps the keyed HMAC state)."""

    def __init__(self, purpose):
        import hashlib
        import hmac

        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        self._states = [
            hmac.new(hashlib.sha256(f"wagtail_newsletter.link.{purpose}:{key}".encode()).digest(), digestmod="sha256")
            for key in _keys()
        ]

    def _signature(self, state, payload):
        mac = state.copy()
        mac.update(payload.encode())
        return mac.hexdigest()[:24]  # 96 bits

    def sign(self, ident, number=None):
        payload = to_base36(ident) if number is None else f"{to_base36(ident)}.{to_base36(number)}"
        return f"{payload}.{self._signature(self._states[0], payload)}"

    def sign_many(self, ident, numbers):
        """``sign(ident, n)`` for each n, at a fraction of the cost (the id is encoded once)."""
        prefix = to_base36(ident) + "."
        state = self._states[0]
        tokens = []
        for number in numbers:
            payload = prefix + (_DIGITS[number] if number < 36 else to_base36(number))
            mac = state.copy()
            mac.update(payload.encode())
            tokens.append(payload + "." + mac.hexdigest()[:24])
        return tokens

    def read(self, token):
        """``(id, n or None)`` from a token, or raise InvalidToken."""
        import hmac

        if not isinstance(token, str) or len(token) > 80:
            raise InvalidToken("malformed")
        payload, _, signature = token.lower().rpartition(".")
        if not payload or len(signature) != 24:
            raise InvalidToken("malformed")
        if not any(hmac.compare_digest(self._signature(state, payload), signature) for state in self._states):
            raise InvalidToken("bad signature")
        parts = payload.split(".")
        try:
            numbers = [int(part, 36) for part in parts]
        except ValueError as exc:
            raise InvalidToken("malformed") from exc
        if len(numbers) == 1:
            return numbers[0], None
        if len(numbers) == 2:
            return numbers[0], numbers[1]
        raise InvalidToken("malformed")
