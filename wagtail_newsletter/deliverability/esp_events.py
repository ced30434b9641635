"""Bounces, complaints and unsubscribes reported by a sending service (Amazon SES, Postmark, Mailgun, SendGrid,
Brevo, Mailjet …) through django-anymail's normalised ``tracking`` signal.

``verdict_for_event`` reads one ``AnymailTrackingEvent`` into the same ``Verdict`` the bounce classifier makes, so
one intake (``intake.take_verdict``: dedupe by digest and effects in one transaction) serves the bounce mailbox and
the webhooks alike. Which delivery it is about: our own Message-ID where the service echoes the message's headers
(SES ``mail.headers``, Mailgun ``message.headers``, SendGrid ``smtp-id``, Brevo ``message-id``), else the
recipient's address. Plain functions over the event; ``receive_tracking`` is connected in ``apps.py`` only when
anymail is installed: nothing here imports anymail.
"""

import hashlib
import json
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import InboundMessage, InboundVia
from .reasons import failure_class, find_reply_code, find_status, phrase_class
from .verdict import COMPLAINT, HARD, POLICY, SOFT, TRANSIENT, Failure, Verdict

logger = logging.getLogger(__name__)

KIND_ESP = "esp-event"  # Verdict.kind of an event reported by a sending service
UNSUBSCRIBE = "unsubscribe"  # the class of an unsubscribe reported by a service (same as intake.UNSUBSCRIBE)

# anymail.signals.EventType values, named here so that this module does not import anymail.
BOUNCED, REJECTED, DEFERRED = "bounced", "rejected", "deferred"
COMPLAINED, UNSUBSCRIBED = "complained", "unsubscribed"
# anymail.signals.RejectReason values.
R_INVALID, R_BOUNCED, R_TIMED_OUT, R_BLOCKED, R_SPAM, R_UNSUBSCRIBED = (
    "invalid", "bounced", "timed_out", "blocked", "spam", "unsubscribed",
)  # fmt: skip

# What a service's refusal to send (its suppression list) says about the address, by anymail's reject reason.
# "blocked" is left out: it means the address, the content or the account depending on the service (see below).
_REJECT_CLASSES = {
    R_INVALID: HARD,  # not an address
    R_BOUNCED: HARD,  # bounced before: the service will not try it again
    R_SPAM: COMPLAINT,  # complained before: never mail it again
    R_UNSUBSCRIBED: UNSUBSCRIBE,  # unsubscribed at the service
    R_TIMED_OUT: TRANSIENT,  # gave up after temporary failures
}

# Each service's own word for a bounce or refusal, where it says more than anymail's normalised reason.
_SES_TRANSIENT = {"MailboxFull": SOFT, "MessageTooLarge": SOFT, "ContentRejected": POLICY, "AttachmentRejected": POLICY}
_POSTMARK = {
    "HardBounce": HARD, "BadEmailAddress": HARD, "SoftBounce": SOFT, "Transient": TRANSIENT, "DnsError": TRANSIENT,
    "Blocked": POLICY, "DMARCPolicy": POLICY, "VirusNotification": POLICY, "SpamNotification": COMPLAINT,
    "SpamComplaint": COMPLAINT, "ManuallyDeactivated": TRANSIENT, "Unconfirmed": TRANSIENT,
}  # fmt: skip
_MAILJET = {
    "user unknown": HARD, "invalid domain": HARD, "no mail host": HARD, "typofix": HARD, "mailbox inactive": SOFT,
    "quota exceeded": SOFT, "spam reporter": COMPLAINT, "sender blocked": POLICY, "content blocked": POLICY,
    "policy issue": POLICY, "blacklisted": TRANSIENT, "preblocked": TRANSIENT,
    "duplicate in campaign": TRANSIENT, "greylisted": TRANSIENT,
}  # fmt: skip
_SENDGRID_DROPPED = {"spam reporting address": COMPLAINT, "spam content": POLICY}
_BREVO = {"hard_bounce": HARD, "invalid_email": HARD, "soft_bounce": SOFT, "blocked": TRANSIENT}


def verdict_for_event(event, esp_name):
    """The Verdict for one anymail tracking event, or None for an event that is not about a failure (delivered,
    opened, clicked, queued, subscribed …): those are the tracking floor's business, not ours."""
    event_type = str(getattr(event, "event_type", "") or "")
    esp = _slug(esp_name)
    raw = _raw(event)
    if esp in ("brevo", "sendinblue") and raw.get("event") == "unsubscribed":
        event_type = UNSUBSCRIBED  # Brevo's transactional webhook says "unsubscribed"; anymail knows "unsubscribe"
    if event_type not in (BOUNCED, REJECTED, DEFERRED, COMPLAINED, UNSUBSCRIBED):
        return None
    text = " ".join(str(part) for part in (event.mta_response, event.description) if part)
    status = _status(esp, raw, event, text)
    cls = _class(esp, raw, event, event_type, status, text)
    if cls is None:
        return None
    recipient = str(event.recipient or "").strip().lower()
    failures = (Failure(recipient, cls, status, str(event.mta_response or "")[:500]),) if recipient else ()
    said = _esp_type(esp, raw) or event_type
    reason = f"{esp_name} {said}" + (f": {event.description}" if event.description else "")
    return Verdict(cls, KIND_ESP, failures, original_message_id=original_message_id(event, esp_name),
                   reason=reason[:500])  # fmt: skip


def _class(esp, raw, event, event_type, status, text):
    if event_type == COMPLAINED:
        # An ARF "not-spam" report (SES passes the feedback type on) takes a complaint back: nothing to do.
        return None if str(event.description or "").lower() == "not-spam" else COMPLAINT
    if event_type == UNSUBSCRIBED:
        return UNSUBSCRIBE
    if event_type == DEFERRED:
        return TRANSIENT  # the service is still trying: a later event says how it ended
    said = _esp_class(esp, raw, event)
    if said:
        return said
    if event_type == REJECTED:
        by_reason = _REJECT_CLASSES.get(event.reject_reason)
        if by_reason:
            return by_reason
        # The service refused to send without saying the address is bad: only words that name the sender's
        # problem make it a policy block (which pauses the campaign); anything else is recorded only.
        said = phrase_class(text)
        return said if said in (HARD, POLICY) else TRANSIENT
    return failure_class(status, str(event.mta_response or event.description or ""))


def _esp_class(esp, raw, event):
    """What the service's own fields say the failure is, or "" when they say nothing more than anymail's."""
    if esp == "amazonses":
        bounce = raw.get("bounce") or {}
        kind, sub = bounce.get("bounceType"), bounce.get("bounceSubType")
        if kind == "Transient":
            return _SES_TRANSIENT.get(sub) or _transient_unless(event)
        if kind == "Undetermined":
            return TRANSIENT
        if str(raw.get("eventType") or raw.get("notificationType")) == "Reject":
            return POLICY  # SES refused the message itself: it found a virus in it
        return ""
    if esp == "postmark":
        kind = raw.get("Type") or raw.get("SuppressionReason")
        return _POSTMARK.get(kind, "")
    if esp == "mailjet":
        if raw.get("event") == "bounce" and not raw.get("hard_bounce", True) and not raw.get("error"):
            return SOFT
        return _MAILJET.get(str(raw.get("error") or "").lower(), "")
    if esp == "sendgrid":
        if raw.get("event") == "dropped":
            return _SENDGRID_DROPPED.get(str(raw.get("reason") or "").lower(), "")
        if raw.get("event") == "bounce" and raw.get("type") == "blocked":
            # SendGrid's "blocked": refused for the message or the sending IP, not the address: a policy block
            # when the words say so, else recorded only.
            return _transient_unless(event)
        return ""
    if esp in ("brevo", "sendinblue"):
        said = _BREVO.get(raw.get("event"), "")
        if said == SOFT:
            return _transient_unless(event, default=SOFT)
        return said
    return ""


def _transient_unless(event, default=TRANSIENT):
    """A temporary failure is transient, unless the remote words say it is a full mailbox or a policy block."""
    said = phrase_class(str(event.mta_response or ""))
    return said if said in (SOFT, POLICY) else default


def _status(esp, raw, event, text):
    """The RFC 3463 status of the failure: the service's own field where it has one, else read from the text."""
    recipient = str(event.recipient or "").lower()
    if esp == "amazonses":
        for bounced in (raw.get("bounce") or {}).get("bouncedRecipients") or ():
            if str(bounced.get("emailAddress", "")).lower() == recipient and bounced.get("status"):
                return find_status(str(bounced["status"]))
    if esp == "sendgrid" and raw.get("status"):
        found = find_status(str(raw["status"]))
        if found:
            return found
    found = find_status(text)
    if found:
        return found
    reply = find_reply_code(str(event.mta_response or ""))
    return f"{reply[0]}.0.0" if reply else ""


def _esp_type(esp, raw):
    """The service's own name for the event, for the record's reason."""
    if esp == "amazonses":
        bounce = raw.get("bounce") or {}
        if bounce:
            return f"{bounce.get('bounceType', '')}/{bounce.get('bounceSubType', '')}".strip("/")
        return str(raw.get("eventType") or raw.get("notificationType") or "")
    if esp == "postmark":
        return str(raw.get("Type") or raw.get("SuppressionReason") or raw.get("RecordType") or "")
    if esp == "mailgun":
        data = raw.get("event-data") or {}
        return " ".join(str(data[key]) for key in ("event", "severity", "reason") if data.get(key))
    if isinstance(raw, dict):
        return " ".join(str(raw[key]) for key in ("event", "error", "type") if raw.get(key))
    return ""


# --- Which message it was ---------------------------------------------------------------------------------------


def original_message_id(event, esp_name):
    """Our Message-ID (``<…>``) of the message the event is about, where the service echoes it, else ""."""
    esp, raw = _slug(esp_name), _raw(event)
    candidates = []
    if esp == "amazonses":
        mail = raw.get("mail") or {}
        candidates += [h.get("value") for h in mail.get("headers") or () if str(h.get("name")).lower() == "message-id"]
        candidates.append((mail.get("commonHeaders") or {}).get("messageId"))
    elif esp == "sendgrid":
        candidates.append(raw.get("smtp-id"))
    elif esp in ("brevo", "sendinblue"):
        candidates.append(raw.get("message-id"))
    candidates.append(event.message_id)  # Mailgun's is the header's; other services' ids have no "@"
    for value in candidates:
        value = str(value or "").strip()
        if "@" in value:
            return value if value.startswith("<") else f"<{value.strip('<>')}>"
    return ""


def event_digest(event, esp_name):
    """SHA-256 that makes taking the same event twice a no-op: of the service's event id (with the recipient: one
    SES notification names several), else of the event's raw fields."""
    esp, raw = _slug(esp_name), _raw(event)
    event_id = event.event_id
    if esp == "mailgun":
        # anymail's id for Mailgun is the signature token of one POST; the event's own id survives retries.
        event_id = (raw.get("event-data") or {}).get("id") or event_id
    if event_id:
        key = f"{esp_name}:{event_id}:{str(event.recipient or '').lower()}"
    else:
        key = f"{esp_name}:" + json.dumps(raw, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()


def _raw(event):
    """The service's own fields as a plain dict (Mailgun's legacy form posts are a QueryDict)."""
    raw = getattr(event, "esp_event", None)
    if hasattr(raw, "lists"):
        return {key: values[-1] if len(values) == 1 else values for key, values in raw.lists()}
    return raw if isinstance(raw, dict) else {}


def _slug(esp_name):
    return "".join(char for char in str(esp_name or "").lower() if char.isalnum())


# --- Taking it in ------------------------------------------------------------------------------------------------


def receive_tracking(sender, event, esp_name, **kwargs):
    """Receiver of ``anymail.signals.tracking`` (connected in apps.py). Errors propagate: anymail answers 500 and
    the service posts the event again later."""
    verdict = verdict_for_event(event, esp_name)
    if verdict is None:
        return None
    return take_event(verdict, event_digest(event, esp_name), esp_name)


def take_event(verdict, digest, esp_name=""):
    """Record one verdict read from a service's event and apply it; None when that event was taken already."""
    if verdict.cls == UNSUBSCRIBE:
        return _take_unsubscribe(verdict, digest, esp_name)
    from .intake import take_verdict

    return take_verdict(verdict, digest, via=InboundVia.WEBHOOK)


def _take_unsubscribe(verdict, digest, esp_name):
    """An unsubscribe reported by the service: unsubscribe exactly the delivery it is about, once."""
    from ..track.unsubscribe import unsubscribe_delivery
    from .effects import find_delivery

    recipients = ";".join(verdict.recipients)[:500]
    row = InboundMessage(digest=digest, received_at=timezone.now(), via=InboundVia.WEBHOOK, cls=UNSUBSCRIBE,
                         kind=KIND_ESP, recipients=recipients, reason=verdict.reason[:500])  # fmt: skip
    if InboundMessage.objects.filter(digest=digest).exists():
        return None
    try:
        with transaction.atomic():
            delivery = find_delivery(verdict)
            if delivery is None:
                row.outcome = "no delivery found: nothing done"
            else:
                row.delivery_id, row.campaign_id = delivery.pk, delivery.campaign_id
                changed = unsubscribe_delivery(delivery, how=f"{esp_name or 'sending service'} webhook")
                row.outcome = "unsubscribed" if changed else "already unsubscribed: nothing done"
            row.save(force_insert=True)
    except IntegrityError:
        if InboundMessage.objects.filter(digest=digest).exists():
            return None  # taken already (or meanwhile by another request): nothing of ours stays
        raise
    return row
