"""RFC 3464 delivery status notifications (and RFC 6522 multipart/report): the per-recipient fields.

Read from the ``message/delivery-status`` parts when there are any, else from the text itself: some reporters
forward a DSN as plain text or break its MIME boundary, and the fields are still there.
"""

import re
from dataclasses import dataclass

from .message_parts import ADDRESS
from .reasons import find_status

_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)[ \t]*:[ \t]*(.*)$")
_RECIPIENT_FIELDS = ("final-recipient", "original-recipient")
_KNOWN_FIELDS = {
    "final-recipient",
    "original-recipient",
    "action",
    "status",
    "diagnostic-code",
    "remote-mta",
    "x-actual-recipient",
    "last-attempt-date",
    "will-retry-until",
    "final-log-id",
}
_FIELDS_IN_TEXT = re.compile(r"^[ \t]*(?:Final|Original)-Recipient[ \t]*:", re.IGNORECASE | re.MULTILINE)
ACTIONS = ("failed", "delayed", "delivered", "relayed", "expanded")


@dataclass
class RecipientReport:
    """One per-recipient block of a DSN."""

    final_recipient: str = ""
    original_recipient: str = ""
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    status_text: str = ""  # the Status field as written (some MTAs put an SMTP reply there)

    @property
    def address(self):
        """The address we sent to: Original-Recipient when it names one (MTAs rewrite Final-Recipient through
        aliases and forwarding), else Final-Recipient."""
        return _address_of(self.original_recipient) or _address_of(self.final_recipient)


def _address_of(field_value):
    kind, _sep, value = field_value.rpartition(";")
    if kind.strip().lower() not in ("", "rfc822", "utf-8"):
        return ""
    match = ADDRESS.search(value)
    return match.group().lower() if match else ""


def has_fields_in_text(text):
    return bool(_FIELDS_IN_TEXT.search(text or ""))


def recipient_reports(text):
    """The per-recipient blocks of DSN ``text`` (the fields of one or many message/delivery-status parts, or a
    notice that carries them as plain text), in order. Blocks end at blank lines (fields may come in any order
    within one); a recipient field met twice in one block starts the next recipient (some MTAs omit the blank
    line). Unknown fields are skipped; folded lines are joined."""
    reports = []
    current = None
    for line in _unfolded(text):
        match = _FIELD.match(line.strip()) if line.strip() else None
        if not match:
            if not line.strip():
                current = None
            continue
        name, value = match.group(1).lower(), match.group(2).strip()
        if name not in _KNOWN_FIELDS:
            continue
        attribute = name.replace("-", "_")
        if current is None or (name in _RECIPIENT_FIELDS and getattr(current, attribute)):
            current = RecipientReport()
            reports.append(current)
        if name == "action":
            current.action = _action(value)
        elif name == "status":
            current.status = find_status(value)
            current.status_text = value
        elif name == "diagnostic-code":
            current.diagnostic = value.partition(";")[2].strip() or value
        elif name in _RECIPIENT_FIELDS:
            setattr(current, attribute, value)
    return [report for report in reports if report.address or report.action]


def _action(value):
    """The Action field's keyword; "failure" and "fail" (seen in the wild) mean failed."""
    word = value.split()[0].lower() if value.split() else ""
    return "failed" if word.startswith("fail") else word


def _unfolded(text):
    lines = []
    for line in (text or "").replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and lines and lines[-1].strip() and _FIELD.match(lines[-1].strip()):
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    return lines
