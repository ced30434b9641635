"""Standard Webhooks signatures (https://www.standardwebhooks.com): secrets, headers, and their rotation.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the signature HMAC-SHA256 with the secret's bytes
(the base64 after ``whsec_``), sent base64-encoded as ``v1,<signature>``. While a rotated secret is in its grace
period, ``webhook-signature`` carries both signatures, space-separated: a receiver accepts any one it can verify.
"""

import base64
import hashlib
import hmac
import secrets

from django.utils import timezone

PREFIX = "whsec_"


def new_secret():
    """A new secret: ``whsec_`` and the base64 of 24 random bytes (the spec asks for 24 to 64)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def secret_bytes(secret):
    return base64.b64decode(secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret)


def signature(key, msg_id, timestamp, body):
    """``v1,<base64 HMAC-SHA256>`` of ``msg_id.timestamp.body`` (``key``: the secret's bytes; ``body``: bytes)."""
    signed = b"%s.%d.%s" % (msg_id.encode("ascii"), timestamp, body)
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def signing_keys(endpoint, now=None):
    """The keys that sign an endpoint's messages now: its secret, and the previous one during its grace period."""
    now = now or timezone.now()
    keys = [secret_bytes(endpoint.secret)]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        keys.append(secret_bytes(endpoint.previous_secret))
    return keys


def headers(keys, msg_id, timestamp, body):
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(key, msg_id, timestamp, body) for key in keys),
        "content-type": "application/json",
    }
