"""DKIM signatures (RFC 6376) made with OpenSSL: rsa-sha256, relaxed header and simple body canonicalisation.

dkimpy signs with pure-Python RSA (~115 signatures/s per core); here the hashing and the RSA step go through
``cryptography`` (~3,700/s), the key is parsed once per signer and the headers to sign are named explicitly, so
``List-Unsubscribe-Post`` (RFC 8058) is covered, which dkimpy's default list leaves out. dkimpy and Mail::DKIM
verify what this makes (tests/test_send_dkim.py).
"""

import base64
import functools
import hashlib
import re
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..mail_text import ascii_domain
from .models import SenderDomain

# Signed when present, in this order; "from" is named once more than it occurs (oversigning), so a second From
# added in transit breaks the signature.
SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "mime-version",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "feedback-id",
    "auto-submitted",
    "x-newsletter-test",
)
KEY_BITS = 2048
_LINE = 76  # folding width of the DKIM-Signature header
# Placeholders in the folded DKIM-Signature template (characters no tag value can hold).
_STAMP = "\x00"
_BODY_HASH = "\x01" * 44  # base64 of a SHA-256 digest
_SELECTOR = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$")


def generate_private_key():
    """A new RSA 2048 private key, PEM (PKCS#8) text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def load_private_key(private_key_pem):
    """The RSA key in ``private_key_pem``; ValueError when it is not a usable RSA private key.

    OpenSSL's consistency check of an RSA key takes ~40 ms, so loaded keys are kept (per process, a few)."""
    data = private_key_pem.encode("ascii") if isinstance(private_key_pem, str) else private_key_pem
    return _load_key(data)


@functools.lru_cache(maxsize=16)
def _load_key(data):
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (TypeError, ValueError, UnicodeError) as exc:
        raise ValueError("not a PEM private key without password") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    if key.key_size < 1024:
        raise ValueError("RSA keys shorter than 1024 bits are not accepted by verifiers")
    return key


def public_key_der(private_key_pem):
    """The public half of the key, DER SubjectPublicKeyInfo (what the DNS record publishes)."""
    public = load_private_key(private_key_pem).public_key()
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def dns_record(private_key_pem):
    """The TXT record value to publish at ``<selector>._domainkey.<domain>``."""
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(public_key_der(private_key_pem)).decode("ascii")


def dns_record_chunks(private_key_pem_or_record, size=255):
    """The record split into TXT strings of at most ``size`` characters (one TXT record holds several)."""
    record = private_key_pem_or_record
    if "PRIVATE KEY" in record:
        record = dns_record(record)
    return [record[i : i + size] for i in range(0, len(record), size)]


def dns_name(selector, domain):
    return f"{selector}._domainkey.{domain}"


def canonical_header(line):
    """Relaxed header canonicalisation (RFC 6376 §3.4.2) of one header field, with its final CRLF."""
    name, _colon, value = line.partition(b":")
    # split() unfolds and collapses runs of whitespace; header values never hold other ASCII whitespace
    # (the message builder turns control characters into spaces).
    return name.strip().lower() + b":" + b" ".join(value.split()) + b"\r\n"


def canonical_body(body):
    """Simple body canonicalisation: trailing empty lines reduced to one CRLF."""
    if body.endswith(b"\r\n") and body[-3:-2] not in (b"\r", b"\n"):
        return body  # the usual case, one CRLF at the end: no copy of the body
    if not body.endswith(b"\r\n"):
        return body + b"\r\n"
    stripped = body.rstrip(b"\r\n")
    return stripped + b"\r\n" if stripped else b"\r\n"


class DkimSigner:
    """Signs messages for one domain with one key; make it once per campaign (key parsing is the slow part)."""

    def __init__(self, domain, selector, private_key_pem, headers=SIGNED_HEADERS):
        domain = ascii_domain(domain.strip().rstrip(".").lower())
        if not _SELECTOR.match(domain) or not _SELECTOR.match(selector):
            raise ValueError(f"invalid DKIM domain or selector: {domain!r}, {selector!r}")
        self.domain = domain
        self.selector = selector
        self.headers = tuple(name.lower() for name in headers)
        self._key = load_private_key(private_key_pem)
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()
        # Most header fields are the same in every message of a campaign (From, List-Id, Content-Type…): their name
        # and canonical form are computed once.
        self._fields = {}
        self._unsigned = {}

    def sign(self, header_lines, body, timestamp=None):
        """The ``DKIM-Signature: …`` field (folded, ending in CRLF) to put before ``header_lines``.

        ``header_lines``: the message's header fields as bytes, each possibly folded, with or without its final
        CRLF; ``body``: the bytes after the blank line.
        """
        found = {}
        for line in header_lines:
            field = self._field(line)
            found.setdefault(field[0], []).append(field[1])
        names, canonical = [], []
        for name in self.headers:
            # Several fields of one name are signed from the last one up (RFC 6376 §5.4.2).
            for line in reversed(found.get(name, ())):
                names.append(name)
                canonical.append(line)
        if "from" not in names:
            raise ValueError("a DKIM-signed message needs a From header")
        names.append("from")  # oversigned: no further From may be added
        body_hash = base64.b64encode(hashlib.sha256(canonical_body(body)).digest()).decode("ascii")
        stamp = str(int(time.time()) if timestamp is None else int(timestamp))
        unsigned = self._unsigned_field(names, len(stamp)).replace(_STAMP * len(stamp), stamp, 1)
        unsigned = unsigned.replace(_BODY_HASH, body_hash, 1)
        canonical.append(canonical_header(unsigned.encode("ascii"))[:-2])  # no CRLF after the signature field
        signature = self._key.sign(b"".join(canonical), self._padding, self._hash)
        encoded = base64.b64encode(signature).decode("ascii")
        # Whitespace inside b= is ignored by verifiers: fold it into lines of _LINE characters.
        first = _LINE - 3
        pieces = [encoded[:first]] + [encoded[i : i + _LINE - 1] for i in range(first, len(encoded), _LINE - 1)]
        return (unsigned + "\r\n ".join(pieces) + "\r\n").encode("ascii")

    def _unsigned_field(self, names, stamp_length):
        """``DKIM-Signature: v=1; …; b=`` folded, with placeholders for t= and bh=: folding depends only on their
        lengths (bh= has always 44), so it is done once per list of signed header names."""
        key = (tuple(names), stamp_length)
        field = self._unsigned.get(key)
        if field is None:
            tags = [
                "v=1",
                "a=rsa-sha256",
                "c=relaxed/simple",
                f"d={self.domain}",
                f"s={self.selector}",
                "t=" + _STAMP * stamp_length,
                "h=" + ":".join(names),
                "bh=" + _BODY_HASH,
            ]
            if len(self._unsigned) >= 64:
                self._unsigned.clear()
            field = self._unsigned[key] = _fold_tags(tags) + ";\r\n b="
        return field

    def _field(self, line):
        """(lower-case name, canonical form) of a header field, remembered for the fields messages share."""
        field = self._fields.get(line)
        if field is None:
            if len(self._fields) >= 256:  # per-recipient fields (To, Message-ID…) would make it grow without end
                self._fields.clear()
            name = line[: line.index(b":")].strip().lower().decode("ascii")
            field = self._fields[line] = (name, canonical_header(line))
        return field


def _fold_tags(tags):
    """``DKIM-Signature: tag; tag; …`` folded before a tag when a line would pass _LINE characters; h= is folded
    at its colons too."""
    lines, line = [], "DKIM-Signature:"
    for index, tag in enumerate(tags):
        piece = " " + tag + (";" if index < len(tags) - 1 else "")
        if len(line) + len(piece) > _LINE and line.strip():
            if tag.startswith("h=") and len(piece) > _LINE:
                # A long h= list: fold after colons (FWS is allowed around them).
                for part in _split_keep(piece, ":"):
                    if len(line) + len(part) > _LINE:
                        lines.append(line)
                        line = " "
                    line += part
                continue
            lines.append(line)
            line = ""
        line += piece
    lines.append(line)
    return "\r\n".join(lines)


def _split_keep(text, separator):
    parts = text.split(separator)
    return [part + separator for part in parts[:-1]] + [parts[-1]]


def sender_domain_signer(email_address):
    """A DkimSigner for the SenderDomain of ``email_address`` (exact domain first, then its parent domains), or
    None when no sender domain with a key covers it."""
    domain = email_address.rpartition("@")[2].strip().rstrip(".").lower()
    if not domain:
        return None
    labels = domain.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels))]
    known = {
        row.domain.lower(): row for row in SenderDomain.objects.filter(domain__in=candidates).exclude(private_key="")
    }
    for candidate in candidates:
        if candidate in known:
            row = known[candidate]
            return DkimSigner(row.domain, row.selector, row.private_key)
    return None
