"""Bounces in an MTA's own words (Exim, qmail, Sendmail, Exchange, Domino, Courier, Postfix without DSN, Yahoo,
AOL, Hotmail …): is this a failure notice, who failed, and why."""

import re

from .message_parts import ADDRESS, header_addresses, header_text
from .reasons import failure_class, find_status
from .verdict import TRANSIENT, Failure

_DAEMONS = {
    "mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "postmaster", "post_master", "mdaemon",
    "mail.delivery", "maildelivery", "mail-delivery", "root", "daemon", "smtp", "mta", "abuse", "hostmaster",
    "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e",  # the fixed sender of Exchange's NDRs
}  # fmt: skip
_DAEMON_NAMES = re.compile(
    r"mailer[- _]?daemon|postmaster|mail\s+delivery\s+(?:system|subsystem|service)|mail\s+administrator"
    r"|system\s+administrator|delivery\s+status|mail\s+system|internet\s+mail\s+delivery|mail\s+router",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|failed\s+mail|delivery\s+(?:status\s+notification|fail|problem|report|notification|error"
    r"|incomplete|delayed|has\s+failed|warning)|failure\s+notice|returned\s+(?:mail|message)|return(?:ed)?\s+to\s+sender"
    r"|mail\s+delivery\s+(?:failed|failure|problem)|could\s+not\s+(?:be\s+)?deliver|non[- ]?deliver|not\s+delivered"
    r"|warning:\s+could\s+not\s+send|message\s+(?:not\s+delivered|delayed|you\s+sent\s+blocked|rejected|could\s+not)"
    r"|permanent\s+(?:error|failure)|mail\s+system\s+error|delivery\s+notification|unzustellbar|nicht\s+zustellbar"
    r"|non\s+remis|non\s+distribu|no\s+entregad|non\s+recapitabil|niedostarcz|onbestelbaar|n[aã]o\s+entregue"
    r"|(?:mail|delivery|message)\s+failed|returning\s+(?:message\s+)?to\s+sender|配信|送信エラー|未送达|退信|delayed\s+mail|mail\s+could\s+not|rejected\s+mail|returned\s+e-?mail",
    re.IGNORECASE,
)
# Notice patterns are matched on lower-cased text (``Parts.lowered``): case-insensitive alternations are slow.
FAILURE_TEXT = re.compile(
    r"could\s+not\s+be\s+delivered|(?:was|were|has|have)\s+not\s+been\s+delivered|was\s+not\s+delivered|undeliverable"
    r"|following\s+(?:address|recipient)(?:\(e?s\)|es|s)?\s+(?:failed|could\s+not|had)|permanent(?:ly)?\s+(?:fatal\s+)?"
    r"(?:error|failure|failed)|delivery\s+(?:to\s+the\s+following\s+recipients?\s+)?(?:has\s+)?failed|returned\s+to\s+sender"
    r"|unable\s+to\s+deliver|(?:wasn't|was\s+not|were\s+not)\s+able\s+to\s+deliver|failed\s+to\s+deliver|could\s+not\s+"
    r"deliver|couldn't\s+be\s+delivered|delivery\s+(?:has\s+been\s+)?delayed|not\s+yet\s+been\s+delivered|sorry\s+to\s+"
    r"(?:have\s+to\s+)?inform\s+you|transcript\s+of\s+session|delivery\s+problems?|message\s+(?:you\s+sent\s+)?"
    r"(?:was|has\s+been)\s+(?:blocked|rejected|returned)|unzustellbar|non\s+remis|failure\s+notice|failed\s+addresses"
    r"|been\s+returned|returned\s+because|you\s+sent\s+(?:was|has\s+been)\s+(?:rejected|returned|blocked)",
)
# A notice that the message is still queued: a warning, not a failure. What it says outright wins over words of
# failure ("could not be delivered … attempts will continue"); what it only implies does not.
WARNING_TEXT = re.compile(
    r"this\s+is\s+(?:just\s+|only\s+)?a\s+warning|do\s+not\s+(?:need\s+to\s+)?resend|attempts\s+will\s+continue"
    r"|will\s+(?:continue\s+to\s+|keep\s+)?(?:retry|trying)\b|will\s+(?:continue\s+to\s+)?(?:try|attempt)\s+(?:to\s+)?"
    r"(?:deliver|send|re-?send)|(?:will\s+be|is\s+being)\s+retried",
)
DELAY_TEXT = re.compile(
    r"(?:has|have)\s+been\s+delayed|not\s+yet\s+been\s+delivered|delivery\s+(?:is|has\s+been)\s+delayed"
    r"|still\s+(?:trying|being\s+retried|in\s+the\s+queue)|delivery\s+status\s+notification\s+\(delay\)"
    r"|could\s+not\s+send\s+message\s+for\s+past",
)
_FINAL_TEXT = re.compile(
    r"permanent(?:ly)?\s+(?:fatal\s+)?(?:error|failure|failed)|gave\s+up|giving\s+up|retry\s+time(?:out)?\s+"
    r"(?:exceeded|expired)|failed\s+permanently|will\s+not\s+(?:be\s+)?retr|no\s+further\s+attempts|has\s+been\s+"
    r"returned|could\s+not\s+be\s+delivered",
)
# Lines whose addresses are not recipients: quoted sender headers, message ids, Received traces.
_NOT_RECIPIENT_LINE = re.compile(
    r"^[ \t>*-]*(?:from|sender|reply-to|return-path|errors-to|message-id|in-reply-to|references|received|by|with|id"
    r"|date|subject|x-[\w-]+|list-[\w-]+|dkim-signature|resent-from|envelope-from)[ \t]*:|message[- ]?id"
    r"|\bid\s+<|mail\s+from\s*:|envelope-from|^\s*(?:by|from)\s+\S+\s+(?:\(|with|id)",
    re.IGNORECASE,
)
# A recipient followed by the remote server's reply: qmail's "<a@b>:" paragraphs, an SMTP transcript's RCPT TO.
_RECIPIENT_REPLY = re.compile(r"^<[^<>\s]+@[^<>\s]+>:|RCPT\s+TO:?\s*<?[^<>\s]+@", re.IGNORECASE | re.MULTILINE)
# The sentence before the list of failed recipients.
INTRODUCER = re.compile(
    r"(?:following|these)\s+(?:address|recipient|destination|user)(?:\(e?s\)|es|s)?|(?:could|can)\s*not\s+be\s+"
    r"delivered\s+to|(?:was|were)\s+not\s+delivered\s+to|not\s+(?:reach|be\s+delivered\s+to)|delivery\s+to\s+"
    r"(?:the\s+following|these)|failed\s+to\s+deliver\s+to|unable\s+to\s+deliver\s+to|error\s+delivering|"
    r"permanent\s+fatal\s+errors|addressed\s+to|failed\s+(?:recipients?|addresses)|recipients?\s+(?:failed|unknown)"
    r"|intended\s+recipient",
    re.IGNORECASE,
)
_BEFORE_NON_RECIPIENT = re.compile(
    r"(?:https?://|www\.)\S*$|\b(?:mail|messages?|e-?mail)\s+from\s*:?\s*<?$|\b(?:sender|sent\s+by)\s*:?\s*<?$"
    r"|\b(?:contact|send\s+(?:an\s+)?e?-?mail\s+to|write\s+to|reply\s+to|questions?\s+to)\s*:?\s*(?:us\s+at\s+)?<?$",
    re.IGNORECASE,
)
_EXPANDED_FROM = re.compile(
    r">?\s*\((?:ultimately\s+)?(?:generated|expanded)\s+from\s+<?([^<>\s()]+@[^<>\s()]+?)>?\)", re.IGNORECASE
)
_ALIAS_BEFORE = re.compile(r"\b(?:generated|expanded)\s+from\s*<?$", re.IGNORECASE)
_ADDRESS_PREFIX = re.compile(r"^(?:smtp|rfc822|mailto|sip)[=:]")
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^<>\s;]+@[^<>\s;]+?)>?[;\s]", re.IGNORECASE)
_QMAIL_AOL_SCREEN_NAME = re.compile(r"^\s*-?\s*([a-z][a-z0-9._-]{1,31})\s*$", re.IGNORECASE | re.MULTILINE)


def looks_like_bounce(message, parts):
    """True when ``message`` reads as a delivery failure or delay notice from a mail system."""
    sender = header_text(message, "From")
    from_daemon = bool(_DAEMON_NAMES.search(sender)) or any(
        address.partition("@")[0] in _DAEMONS for address in header_addresses(message, "From")
    )
    subject = header_text(message, "Subject")
    signals = (
        from_daemon,
        from_daemon and bool(parts.reason_class),  # a mail system naming a reason: that is a notice
        bool(BOUNCE_SUBJECT.search(subject)) and not subject.lower().startswith(("re:", "fw:", "fwd:", "aw:", "tr:")),
        bool(FAILURE_TEXT.search(parts.lowered)),
        message.get_content_type() == "multipart/report",
        bool(_RECIPIENT_REPLY.search(parts.notice)),
    )
    return sum(signals) >= 2


def is_warning(message, parts):
    """True when the notice says delivery is only delayed (the message is still queued). A "Warning" subject
    alone does not say so when the text gives a final reason (MDaemon: "Warning: x - User unknown!")."""
    if WARNING_TEXT.search(parts.lowered):
        return True
    if _FINAL_TEXT.search(parts.lowered):
        return False
    if DELAY_TEXT.search(parts.lowered):
        return True
    warned = re.search(r"\b(?:delay(?:ed)?|warning)\b", header_text(message, "Subject"), re.IGNORECASE)
    return bool(warned) and parts.reason_class in ("", TRANSIENT)


def failures_in_text(message, parts, warning=False):
    """The failed recipients a text notice names, each with its status and class (``warning``: all transient)."""
    notice = parts.notice
    ignored = parts.not_recipients
    named = header_addresses(message, "X-Failed-Recipients")  # Exim names them for machines
    if named:
        found = [(address, notice.lower().find(address)) for address in named]
    else:
        found = _recipient_positions(notice, parts.originals, ignored)
    if not found:
        found = [(address, -1) for address in _returned_recipients(message, parts, ignored)]
    failures = []
    for index, (address, start) in enumerate(found):
        if start < 0:
            chunk = notice
        else:
            end = found[index + 1][1] if index + 1 < len(found) and found[index + 1][1] > start else len(notice)
            chunk = notice[start : min(end, start + 1500)]
        status = find_status(chunk, "45") or (find_status(notice, "45") if len(found) == 1 else "")
        cls = TRANSIENT if warning else failure_class(status, chunk, lambda: parts.reason_class)
        # The address we sent to, when an alias or forward rewrote it (as DSNs' Original-Recipient).
        alias = _EXPANDED_FROM.match(chunk[len(address) :]) if start >= 0 else None
        sent_to = clean_address(alias.group(1)) if alias else address
        if sent_to not in {failure.address for failure in failures}:
            failures.append(Failure(sent_to, cls, status, " ".join(chunk.split())[:300]))
    return failures


def _recipient_positions(notice, originals, ignored):
    """(address, offset of its first mention) of each recipient-like address in ``notice``, in order.

    Notices often quote our own message first (its To, its sender): when a sentence introduces the failed
    recipients, only what follows it counts; without one, when the returned copy's envelope names some of the
    candidates (``Received: … for <x>``, To, Delivered-To), those are the ones."""
    found = {}
    senders = set()  # named anywhere as a sender or a contact: not a recipient
    aliases = set()  # "(expanded from x)": read with the address before it, unless it stands alone
    offset = 0
    for line in notice.splitlines(keepends=True):
        if not _NOT_RECIPIENT_LINE.search(line):
            for match in ADDRESS.finditer(line):
                address = clean_address(match.group())
                position = offset + match.start()
                if _named_as_sender(notice, position):
                    senders.add(address)
                    continue
                if _ALIAS_BEFORE.search(notice[max(0, position - 30) : position]):
                    aliases.add(address)
                if not _ignorable(address, ignored):
                    found.setdefault(address, position)
        offset += len(line)
    positions = sorted((item for item in found.items() if item[0] not in senders), key=lambda item: item[1])
    positions = [item for item in positions if item[0] not in aliases] or positions
    introduced = INTRODUCER.search(notice)
    if introduced:
        positions = [item for item in positions if item[1] >= introduced.start()] or positions
    elif len(positions) > 1:
        envelope = _envelope_recipients(originals)
        positions = [item for item in positions if item[0] in envelope] or positions
    return positions


def _envelope_recipients(originals):
    addresses = set()
    for original in originals:
        addresses.update(header_addresses(original, "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"))
        for received in original.get_all("Received", []):
            addresses.update(match.group(1).lower() for match in _RECEIVED_FOR.finditer(str(received)))
    return addresses


def _returned_recipients(message, parts, ignored):
    """When the notice names nobody: the recipients of the returned message, or an AOL screen name."""
    for original in parts.originals:
        addresses = [address for address in header_addresses(original, "To") if not _ignorable(address, ignored)]
        if addresses:
            return addresses
    reporter = header_addresses(message, "From")
    if reporter and reporter[0].endswith("@aol.com"):
        match = _QMAIL_AOL_SCREEN_NAME.search(parts.notice)
        if match:
            return [f"{match.group(1).lower()}@aol.com"]
    return []


def _ignorable(address, ignored):
    local, _at, domain = address.partition("@")
    if address in ignored or local in _DAEMONS or local.startswith(("mailer-daemon", "postmaster")):
        return True
    # Another VERP address of ours (same base and domain as where the bounce came): quoted as the sender.
    return "+" in local and any(_verp_base(other) == (local.partition("+")[0], domain) for other in ignored)


def _verp_base(address):
    local, _at, domain = address.partition("@")
    return local.partition("+")[0], domain


def clean_address(found):
    """An address as the ADDRESS pattern found it in text, without quoting and an X.400-style ``smtp=`` prefix."""
    address = found.lower().strip(".'`")
    return _ADDRESS_PREFIX.sub("", address)


def _named_as_sender(notice, position):
    """True when the address at ``position`` is part of a URL, named as the sender ("mail from x", "a message
    sent by\n  <x>") or a contact."""
    return bool(_BEFORE_NON_RECIPIENT.search(notice[max(0, position - 40) : position]))
