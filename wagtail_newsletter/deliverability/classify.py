"""The entry point of the bounce and complaint classifier: ``classify(raw_bytes) -> Verdict``.

In order: a feedback-loop report is a complaint (or, for DMARC failure reports, nothing); a challenge-response
request is nothing; a DSN is read field by field; an auto-reply is nothing; a notice in an MTA's own words is read
for its recipients and reasons; anything else is nothing. Plain functions over bytes: no database, no network.
"""

from . import arf, autoreply, bounce_text, dsn
from .message_parts import ADDRESS, Parts, header_text, parse
from .reasons import failure_class
from .verdict import (
    KIND_AUTOREPLY,
    KIND_BOUNCE,
    KIND_DSN,
    KIND_OTHER,
    NONE,
    NOT_A_MESSAGE,
    TRANSIENT,
    UNPARSABLE,
    Failure,
    Verdict,
    overall_class,
)

# Headers of the bounce through which our own (VERP) address comes back.
_ROUTING_HEADERS = {
    "to", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to", "x-delivered-to", "return-path", "received"
}  # fmt: skip
_FINAL_ACTIONS = {"failed"}
_WARNING_ACTIONS = {"delayed"}


def classify(raw):
    """Read one raw message (bytes) and say what it is: see ``Verdict``. Never raises on content."""
    try:
        message = parse(raw)
        if not message.keys():
            return Verdict(NONE, KIND_OTHER, problem=NOT_A_MESSAGE)
        return _classify(message, Parts(message))
    except Exception:  # noqa: BLE001 (garbage in: nothing to act on, and say why)
        return Verdict(NONE, KIND_OTHER, problem=UNPARSABLE)


def _classify(message, parts, depth=0):
    found = {
        "original_message_id": _original_message_id(message, parts),
        "verp_addresses": _verp_addresses(message, parts),
    }
    feedback = arf.read_feedback(parts)
    if feedback is not None:
        found["verp_addresses"] = _unique((*feedback.mail_from, *found["verp_addresses"]))
        reason = f"feedback-type {feedback.feedback_type}"
        return Verdict(feedback.cls, feedback.kind, feedback.failures, feedback_type=feedback.feedback_type,
                       reason=reason, **found)  # fmt: skip
    if autoreply.is_challenge(message, parts.lowered):
        return Verdict(NONE, KIND_AUTOREPLY, reason="challenge-response", **found)
    dsn_text = parts.report_text or (parts.notice if dsn.has_fields_in_text(parts.notice) else "")
    reports = dsn.recipient_reports(dsn_text)
    if any(report.address for report in reports) or (reports and not _named_in_text(message, parts)):
        return _dsn_verdict(message, parts, reports, found)
    signals = autoreply.autoreply_signals(message)
    if signals:
        return Verdict(NONE, KIND_AUTOREPLY, reason=", ".join(signals), **found)
    if autoreply.is_automatic_report(message):
        return Verdict(NONE, KIND_OTHER, reason="aggregate report", **found)
    is_bounce = bounce_text.looks_like_bounce(message, parts) or reports
    if not is_bounce and (autoreply.is_auto_submitted(message) or autoreply.reads_like_autoreply(parts.lowered)):
        return Verdict(NONE, KIND_AUTOREPLY, reason="auto-reply", **found)
    if is_bounce:
        warning = bounce_text.is_warning(message, parts) or any(
            report.action in _WARNING_ACTIONS for report in reports
        )
        failures = bounce_text.failures_in_text(message, parts, warning)
        if failures:
            return Verdict(overall_class([f.cls for f in failures]), KIND_BOUNCE, tuple(failures), **found)
        forwarded = _forwarded_bounce(parts, depth)
        if forwarded is not None:
            return forwarded
    return Verdict(NONE, KIND_OTHER, **found)


def _forwarded_bounce(parts, depth):
    """A notice that names nobody but returns a bounce (an ISP forwarding its MTA's report): that bounce."""
    if depth > 0:
        return None
    for original in parts.originals:
        if original.get_payload():  # a returned copy with a body, not just headers
            verdict = _classify(original, Parts(original), depth + 1)
            if verdict.is_bounce:
                return verdict
    return None


def _dsn_verdict(message, parts, reports, found):
    """A DSN's verdict: each failed recipient classed by its Status and diagnostic; delays are transient;
    delivered, relayed and expanded recipients are no failure."""
    failures = []
    for report in reports:
        if report.action in _WARNING_ACTIONS or (report.action not in _FINAL_ACTIONS and report.status[:1] == "4"):
            cls = TRANSIENT
        elif report.action in _FINAL_ACTIONS or report.status[:1] == "5":
            diagnostic = report.diagnostic or report.status_text
            cls = failure_class(report.status, diagnostic, lambda: parts.reason_class)
        else:
            continue  # delivered / relayed / expanded: a success notice
        if report.address:
            failures.append(Failure(report.address, cls, report.status, report.diagnostic))
    if not failures and any(report.action in _FINAL_ACTIONS | _WARNING_ACTIONS for report in reports):
        # Per-message fields only (no recipient named): the text says who.
        warning = all(report.action in _WARNING_ACTIONS for report in reports)
        failures = bounce_text.failures_in_text(message, parts, warning)
    if not failures:
        return Verdict(NONE, KIND_DSN, reason="success notice", **found)
    unique = {}
    for failure in failures:
        unique.setdefault(failure.address, failure)
    failures = tuple(unique.values())
    return Verdict(overall_class([failure.cls for failure in failures]), KIND_DSN, failures, **found)


def _named_in_text(message, parts):
    return bool(bounce_text.failures_in_text(message, parts))


def _original_message_id(message, parts):
    """The Message-ID of the returned message: from its copy, else the bounce's In-Reply-To / References."""
    for original in parts.originals:
        value = header_text(original, "Message-ID")
        if value:
            return _angle(value)
    for name in ("In-Reply-To", "References"):
        value = header_text(message, name)
        if value:
            return _angle(value.split()[0])
    return ""


def _angle(value):
    value = value.strip()
    start, end = value.find("<"), value.find(">")
    return value[start : end + 1] if 0 <= start < end else f"<{value.strip('<>')}>"


def _verp_addresses(message, parts):
    """Addresses that may carry our VERP token back: where the bounce was delivered, and the returned message's
    envelope sender; only those with a ``+`` tag (the token) are kept."""
    values = [value for name, value in message.items() if name.lower() in _ROUTING_HEADERS]
    for original in parts.originals:
        values.extend(original.get_all("Return-Path", []))
    tagged = [value for value in map(str, values) if "+" in value]
    candidates = [match.group().lower() for value in tagged for match in ADDRESS.finditer(value)]
    return tuple(address for address in _unique(candidates) if "+" in address.partition("@")[0])


def _unique(values):
    return tuple(dict.fromkeys(value for value in values if value))
