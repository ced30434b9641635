"""What a returned message does: find the delivery it is about, record its event, change the subscriber, pause the
campaign when receivers block the sender or its bounces and complaints cross the guards' lines.

``apply_verdict`` is called by the intake (mailbox poller, pipe command, ESP webhooks) inside its transaction, once
per message (the intake dedupes identical messages by their digest). Two different messages about the same delivery
and of the same class (a DSN, then the ESP's webhook of the same bounce) make one event: the delivery row is locked and
an event of that kind already there means "already recorded".
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..audience.models import Source, Status, Subscriber
from ..audience.services import change_status
from ..conf import newsletter_settings
from ..send.campaigns import CampaignError, pause
from ..send.mime import OUR_MESSAGE_ID, read_message_id
from ..send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Event, EventKind, PauseCause
from ..send.worker import alert_editor
from ..track.events import record_event
from . import guards
from .soft_bounces import recent_soft_bounces
from .verdict import COMPLAINT, HARD, POLICY, SOFT, TRANSIENT
from .verp import verp_delivery_id

# Which event each class appends to the delivery's log.
EVENT_OF_CLASS = {
    HARD: EventKind.HARD_BOUNCE,
    SOFT: EventKind.SOFT_BOUNCE,
    TRANSIENT: EventKind.TRANSIENT_BOUNCE,
    POLICY: EventKind.POLICY_BOUNCE,
    COMPLAINT: EventKind.COMPLAINT,
}
# Only these subscribers change status: one who unsubscribed, bounced or complained already keeps that status (the
# event is still recorded in the campaign's log and the subscriber's history).
ACTIVE_STATUSES = (Status.SUBSCRIBED,)


@dataclass(frozen=True)
class Effect:
    """What one returned message did; ``outcome`` is the short text kept on ``InboundMessage.outcome``."""

    delivery_id: int | None
    campaign_id: int | None
    subscriber_id: int | None
    outcome: str


# --- finding the delivery ---------------------------------------------------------------------------------------------


def _ours_shaped_verp(address):
    local = str(address or "").strip().strip("<>").rpartition("@")[0].lower()
    return local.startswith(newsletter_settings.RETURN_PATH_LOCAL_PART.lower() + "+")


def looks_forged(verdict):
    """Whether the message carries one of our VERP addresses or Message-IDs whose signature does not verify (and no
    good one): someone made it up, so it must name no delivery at all, not even through its recipients."""
    if verp_delivery_id(verdict) is not None or read_message_id(verdict.original_message_id) is not None:
        return False
    bad_verp = any(_ours_shaped_verp(address) for address in verdict.verp_addresses)
    bad_message_id = OUR_MESSAGE_ID.match(str(verdict.original_message_id or "").strip().lower()) is not None
    return bad_verp or bad_message_id


def find_delivery(verdict):
    """The Delivery a verdict is about, or None: through its VERP token first, then the returned message's
    Message-ID, then the most recent sent delivery to one of its recipients. A forged token finds nothing."""
    deliveries = Delivery.objects.select_related("campaign")
    delivery_id = verp_delivery_id(verdict)
    if delivery_id is None:
        delivery_id = read_message_id(verdict.original_message_id)
    if delivery_id is not None:
        return deliveries.filter(pk=delivery_id).first()
    if looks_forged(verdict) or not verdict.recipients:
        return None
    addresses = [address.lower() for address in verdict.recipients if address]
    return (
        deliveries.filter(status=DeliveryStatus.SENT, subscriber__email__in=addresses)
        .order_by("-sent_at", "-id")
        .first()
    )


# --- applying it ------------------------------------------------------------------------------------------------------


def apply_verdict(verdict, *, at=None, delivery=None):
    """Record what ``verdict`` says about its delivery (found with ``find_delivery`` unless given) and act on it.

    The caller holds ``transaction.atomic()`` and has made sure this very message was not applied before."""
    at = at or timezone.now()
    if delivery is None:
        delivery = find_delivery(verdict)
    if delivery is None:
        return Effect(None, None, None, _("no delivery found"))
    ids = (delivery.pk, delivery.campaign_id, delivery.subscriber_id)
    kind = EVENT_OF_CLASS.get(verdict.cls)
    if kind is None:
        return Effect(*ids, _("nothing to do"))
    # Two messages about one delivery taken in at once are applied one after the other.
    list(Delivery.objects.select_for_update().filter(pk=delivery.pk).values_list("pk"))
    if Event.objects.filter(delivery_id=delivery.pk, kind=kind).exists():
        return Effect(*ids, _("already recorded"))
    answer = _answer(verdict, delivery)
    record_event(delivery, kind, detail=answer, at=at)
    outcome = APPLY[verdict.cls](verdict, delivery, answer)
    return Effect(*ids, outcome[:200])


def _failure_of(verdict, delivery):
    """The verdict's failure about this delivery's recipient (the first one when the address is not among them)."""
    if delivery.subscriber_id is None:
        email = None
    elif "subscriber" in delivery._state.fields_cache:  # the intake's batch query selected it already
        email = delivery.subscriber.email
    else:
        email = Subscriber.all_objects.filter(pk=delivery.subscriber_id).values_list("email", flat=True).first()
    for failure in verdict.failures:
        if email and failure.address == email.lower():
            return failure
    return verdict.failures[0] if verdict.failures else None


def _answer(verdict, delivery):
    """The event's detail: the status and the receiver's answer, or the complaint's feedback type."""
    if verdict.cls == COMPLAINT:
        return verdict.feedback_type or "abuse"
    failure = _failure_of(verdict, delivery)
    if failure is None:
        return verdict.reason
    return " ".join(part for part in (failure.status, failure.diagnostic) if part) or verdict.reason


def _set_status(delivery, status, source, note):
    """Move the delivery's subscriber to ``status`` when it is active; True when it changed."""
    if delivery.subscriber_id is None:
        return False
    active = Subscriber.all_objects.filter(pk=delivery.subscriber_id, status__in=ACTIVE_STATUSES)
    return bool(change_status(active, status, source, note=note))


def _note(delivery, answer):
    return f"{delivery.campaign.name}: {answer}" if answer else delivery.campaign.name


def _hard(verdict, delivery, answer):
    changed = _set_status(delivery, Status.BOUNCED, Source.BOUNCE, _note(delivery, answer))
    outcome = _("subscriber bounced") if changed else _("hard bounce recorded")
    return _with_guard(outcome, delivery)


def _soft(verdict, delivery, answer):
    limit = newsletter_settings.SOFT_BOUNCE_LIMIT
    count = recent_soft_bounces(delivery.subscriber_id) if delivery.subscriber_id else 1
    outcome = _("soft bounce %(count)d/%(limit)d") % {"count": count, "limit": limit}
    if count >= limit and _set_status(delivery, Status.BOUNCED, Source.BOUNCE, _soft_note(count, answer)):
        outcome = _("subscriber bounced (%(count)d soft bounces)") % {"count": count}
    return outcome


def _soft_note(count, answer):
    return _("%(count)d soft bounces in recent campaigns; last: %(answer)s") % {"count": count, "answer": answer}


def _transient(verdict, delivery, answer):
    return _("transient bounce recorded")


def _policy(verdict, delivery, answer):
    failure = _failure_of(verdict, delivery)
    receiver = failure.address.rpartition("@")[2] if failure else ""
    reason = _(
        "Paused: the receiving mail server of %(receiver)s refused this campaign's messages for the sender's "
        "content, reputation or authentication (%(answer)s). The subscribers are not at fault. Check the sender "
        "domain's records and reputation before resuming."
    ) % {"receiver": receiver or _("a recipient"), "answer": answer or _("no answer given")}
    if pause_campaign(delivery.campaign_id, PauseCause.POLICY, reason):
        return _("campaign paused (policy)")
    return _("blocked by policy recorded")


def _complaint(verdict, delivery, answer):
    changed = _set_status(delivery, Status.COMPLAINED, Source.COMPLAINT, _note(delivery, answer))
    outcome = _("subscriber complained") if changed else _("complaint recorded")
    return _with_guard(outcome, delivery)


APPLY = {HARD: _hard, SOFT: _soft, TRANSIENT: _transient, POLICY: _policy, COMPLAINT: _complaint}


def _with_guard(outcome, delivery):
    """Check the campaign's own rates after a hard bounce or complaint; say so when that paused it."""
    if delivery.campaign.status != CampaignStatus.SENDING:
        return outcome
    crossed = guards.campaign_crossing(delivery.campaign_id)
    if crossed is not None and pause_campaign(delivery.campaign_id, crossed.cause, crossed.message):
        return _("%(outcome)s; campaign paused (%(cause)s)") % {"outcome": outcome, "cause": crossed.cause}
    return outcome


def pause_campaign(campaign_id, cause, reason):
    """Pause a sending campaign for ``cause`` and tell the person who sent it (by mail, after commit); False when
    it was not sending (finished, or paused already)."""
    try:
        campaign = pause(Campaign(pk=campaign_id), reason=reason, cause=cause)
    except CampaignError:
        return False
    transaction.on_commit(lambda: alert_editor(campaign, reason))
    return True
