"""Complaints: RFC 5965 feedback reports (ARF) and the feedback loops that do not use ARF (Microsoft JMRP)."""

import re
from dataclasses import dataclass

from .message_parts import ADDRESS, header_addresses
from .verdict import COMPLAINT, KIND_ARF, KIND_FEEDBACK, NONE, Failure

# Feedback types that are not a subscriber's complaint: DMARC/authentication failure reports (RFC 6591) and a
# "this is not spam" correction (RFC 6430).
_NOT_COMPLAINTS = {"auth-failure", "not-spam", "dmarc"}
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$", re.MULTILINE)
# Microsoft's JMRP attaches the complained-about message with the recipient in this header, and no report part.
_JMRP_RECIPIENT = "X-HmXmrOriginalRecipient"


@dataclass(frozen=True)
class Feedback:
    """A feedback-loop report: its class (``complaint``, or ``none`` for DMARC failure reports), format, feedback
    type, the complaining recipients and the reported message's envelope sender (Original-Mail-From)."""

    cls: str
    kind: str
    feedback_type: str
    failures: tuple
    mail_from: tuple = ()


def read_feedback(parts):
    """The ``Feedback`` when ``parts`` hold a feedback-loop report, else None. The complaining recipients are
    the report's Original-Rcpt-To fields, else the To of the reported message (often redacted: then the VERP
    address or the Message-ID must find the delivery)."""
    report = _feedback_fields(parts)
    if report is not None:
        feedback_type = (report.get("feedback-type", [""])[0].split() or [""])[0].lower()
        cls = NONE if feedback_type in _NOT_COMPLAINTS else COMPLAINT
        addresses = _addresses(report.get("original-rcpt-to", []) + report.get("removal-recipient", []))
        if not addresses:
            addresses = _reported_recipients(parts)
        failures = () if cls == NONE else tuple(Failure(address, COMPLAINT) for address in addresses)
        mail_from = tuple(_addresses(report.get("original-mail-from", [])))
        return Feedback(cls, KIND_ARF, feedback_type or "abuse", failures, mail_from)
    for original in parts.originals:
        if original.get(_JMRP_RECIPIENT) is not None:
            addresses = header_addresses(original, _JMRP_RECIPIENT) or _reported_recipients(parts)
            failures = tuple(Failure(address, COMPLAINT) for address in addresses)
            return Feedback(COMPLAINT, KIND_FEEDBACK, "abuse", failures)
    return None


def _feedback_fields(parts):
    """The fields of the message/feedback-report part ({lower-case name: [values]}), or None without one."""
    texts = [text for content_type, text in parts.reports if content_type == "message/feedback-report"]
    if not texts and (parts.message.get_param("report-type") or "").lower() == "feedback-report":
        texts = [text for text in parts.notice_parts if re.search(r"(?im)^Feedback-Type[ \t]*:", text)]
    if not texts:
        return None
    fields = {}
    for text in texts:
        for name, value in _FIELD.findall(text):
            fields.setdefault(name.lower(), []).append(value.strip())
    return fields


def _reported_recipients(parts):
    for original in parts.originals:
        addresses = header_addresses(original, "To", "Cc")
        if addresses:
            return addresses
    return []


def _addresses(values):
    found = []
    for value in values:
        for match in ADDRESS.finditer(value):
            address = match.group().lower()
            if address not in found:
                found.append(address)
    return found
