"""Reading a returned message with the standard library: its notice text, its reports and the message it returns.

Bounces are attacker-controlled and often malformed (broken boundaries, 8-bit bodies, legacy charsets), so every
function here tolerates anything and never raises on content.
"""

import email
import email.policy
import functools
import html
import re
from email.header import decode_header, make_header
from email.utils import getaddresses

from .reasons import MAX_READ, phrase_class

MAX_PARSED_BYTES = 2 * 1024 * 1024  # a bounce is small; what is beyond this is the returned message's bulk

_ORIGINAL_TYPES = {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers", "text/rfc822"}
_REPORT_TYPES = {"message/delivery-status", "message/global-delivery-status", "message/feedback-report"}

ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{1,24}(?![A-Za-z0-9-])"
)

# Where an MTA's text notice stops and the copy of the returned message begins: a marker line, or the copy's first
# header when the MTA wrote none.
_RETURNED_COPY = re.compile(
    r"^[ \t>]*[-=*_]{2,}[ \t]*(?:original message|returned message|unsent message|undelivered message|message headers?"
    r"|(?:the\s+)?headers?\s+of|this is a copy|below this line|headers? of|text of|original headers?|copy of)\b.*$"
    r"|^[ \t]*(?:this is a copy of the message|below this line is a copy of the message"
    r"|(?:the\s+)?(?:original|returned|unsent|undelivered)\s+message\b[^\n]{0,40}\b(?:follows|below|attached)"
    r"|original\s+message\s+(?:details|headers?)"
    r"|headers of (?:the|your) (?:original )?message(?: follow)?|message headers follow)\b.*$"
    r"|^(?:Return-Path|Received|X-Original-To|Delivered-To):",
    re.IGNORECASE | re.MULTILINE,
)
_TAG = re.compile(r"<(?:script|style)\b.*?</(?:script|style)>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def parse(raw):
    """An ``email.message.Message`` of ``raw`` bytes (compat32: the most forgiving of broken input)."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return email.message_from_bytes(bytes(raw[:MAX_PARSED_BYTES]), policy=email.policy.compat32)


def header_text(message, name):
    """A header's decoded, unfolded text ("" when absent or undecodable)."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        value = str(make_header(decode_header(str(value))))
    except (UnicodeError, LookupError, ValueError, TypeError, AssertionError):
        value = str(value)
    return " ".join(value.split())


def header_addresses(message, *names):
    """The lower-cased addresses in the named headers."""
    values = []
    for name in names:
        values.extend(str(value) for value in message.get_all(name, []) if value is not None)
    found = []
    for _name, address in getaddresses(values):
        address = address.strip().strip("<>").lower().removeprefix("mailto:")
        if "@" in address and address not in found:
            found.append(address)
    return found


def decoded_text(part):
    """A leaf part's body as text: transfer-decoded, charset-decoded with replacement, HTML reduced to text."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 (a broken transfer encoding: fall back to the raw payload)
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    text = bytes_to_text(payload, part.get_content_charset())
    if part.get_content_subtype() == "html":
        text = html.unescape(_TAG.sub(" ", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</tr>|</li>", "\n", text)))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def bytes_to_text(payload, charset=None):
    for candidate in (charset, "utf-8"):
        if not candidate:
            continue
        try:
            return payload.decode(candidate)
        except (UnicodeError, LookupError):
            continue
    return payload.decode("latin-1")


class Parts:
    """A message taken apart once: ``notice`` (the human-readable text the reporting system wrote), ``reports``
    (its machine-readable report parts as (content type, text)), ``originals`` (the returned message or its
    headers, as parsed messages)."""

    def __init__(self, message):
        self.message = message
        self.notice_parts = []
        self.reports = []
        self.originals = []
        self._walk(message)
        self.notice = _BLANK_LINES.sub("\n\n", "\n".join(self._without_inline_copies()))

    @functools.cached_property
    def report_text(self):
        return "\n\n".join(text for _type, text in self.reports)

    @functools.cached_property
    def lowered(self):
        """The beginning of the notice, lower-cased, for the phrase patterns (reasons come first in a notice)."""
        return self.notice[:MAX_READ].lower()

    @functools.cached_property
    def not_recipients(self):
        """Addresses that are not failed recipients: where the bounce was delivered (our VERP address), its
        sender, and the returned message's own sender addresses."""
        message = self.message
        values = [message.get(name, "") for name in ("To", "From", "Reply-To", "Return-Path", "Sender")]
        # The topmost routing headers were added where the bounce was delivered to us (an MTA may quote the
        # failed recipient in a lower one).
        values.extend(message.get(name, "") for name in _DELIVERED_TO)
        for original in self.originals:
            values.extend(value for name, value in original.items() if name.lower() in _SENDER_HEADERS)
        return {match.group().lower() for value in values for match in ADDRESS.finditer(str(value))}

    @functools.cached_property
    def reason_class(self):
        """The class the notice's and reports' words name (see reasons.phrase_class)."""
        return phrase_class(f"{self.notice}\n{self.report_text}")

    def _walk(self, part):
        content_type = part.get_content_type()
        if content_type in _ORIGINAL_TYPES:
            original = _returned_message(part)
            if original is not None:
                self.originals.append(original)
        elif content_type in _REPORT_TYPES or content_type.endswith("delivery-status"):
            self.reports.append((content_type, _report_text(part)))
        elif part.is_multipart():
            for child in part.get_payload():
                if isinstance(child, email.message.Message):
                    self._walk(child)
        elif part.get_content_maintype() in ("text", "multipart") or part is self.message:  # multipart: broken
            self.notice_parts.append(decoded_text(part))

    def _without_inline_copies(self):
        """Plain-text bounces quote the returned message after a marker line (or just start its headers): keep
        the copy apart from the notice, as one of the originals."""
        for text in self.notice_parts:
            match = _RETURNED_COPY.search(text)
            if not match:
                yield text
                continue
            starts_with_header = match.group().startswith(_HEADER_STARTS)
            copy = _unquoted(text[match.start() if starts_with_header else match.end() :]).lstrip("\n -=*_")
            original = email.message_from_string(copy, policy=email.policy.compat32)
            if original.keys():
                self.originals.append(original)
            yield text[: match.start()]


_DELIVERED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Delivered-To")
_SENDER_HEADERS = {"from", "sender", "reply-to", "return-path", "errors-to", "list-unsubscribe", "list-post"}
_HEADER_STARTS = ("Return-Path", "Received", "X-Original-To", "Delivered-To")


def _returned_message(part):
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0] if payload and isinstance(payload[0], email.message.Message) else None
    return email.message_from_string(decoded_text(part).lstrip(), policy=email.policy.compat32)


def _unquoted(text):
    """``text`` without the "> " quoting some MTAs put before each line of the returned copy."""
    lines = text.split("\n")
    quoted = [line for line in lines if line.startswith(">")]
    if len(quoted) * 2 < len([line for line in lines if line.strip()]):
        return text
    return "\n".join(line[1:] if line.startswith(">") else line for line in lines)


def _report_text(part):
    """The fields of a report part as text (compat32 parses message/delivery-status into header blocks)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        blocks = []
        for block in payload:
            if isinstance(block, email.message.Message):
                blocks.append("\n".join(f"{name}: {' '.join(str(value).split())}" for name, value in block.items()))
                body = block.get_payload()
                if isinstance(body, str) and body.strip():  # a non-standard type parsed as one message
                    blocks.append(body)
        return "\n\n".join(blocks)
    return decoded_text(part)
