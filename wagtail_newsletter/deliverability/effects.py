"""What a returned message does: find the delivery it is about, record its event, change the subscriber, pause the
campaign when receivers block the sender or its bounces and complaints cross the guards' lines.

``apply_verdicts`` is called by the intake (mailbox poller, pipe command, ESP webhooks) inside its transaction, once
per batch of messages (the intake dedupes identical messages by their digest). Two different messages about the same
delivery and of the same class (a DSN, then the ESP's webhook of the same bounce) make one event: the delivery rows are
locked and an event of that kind already there means "already recorded".
"""

import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..audience.models import Source, Status, Subscriber
from ..audience.services import change_each_status
from ..conf import newsletter_settings
from ..send.campaigns import CampaignError, pause
from ..send.mime import OUR_MESSAGE_ID, read_message_id
from ..send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Event, EventKind, PauseCause
from ..send.worker import alert_editor
from . import guards
from .soft_bounces import recent_soft_bounces_of
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


@dataclass
class _Return:
    """One message of a batch that records an event: its place in the batch, what it says, what it did."""

    index: int
    verdict: object
    delivery: Delivery
    answer: str
    outcome: str = ""


def apply_verdict(verdict, *, at=None, delivery=None):
    """Record what ``verdict`` says about its delivery (found with ``find_delivery`` unless given) and act on it.

    The caller holds ``transaction.atomic()`` and has made sure this very message was not applied before."""
    return apply_verdicts([(verdict, delivery)], at=at)[0]


def apply_verdicts(pairs, *, at=None, guard_interval=0):
    """``apply_verdict`` for a batch of (verdict, delivery or None): one Effect each, in order, in a few statements
    whatever the batch's size — the deliveries locked together, their events found and written in one query each,
    each kind of status change made once, the guards checked once per campaign.

    Within a batch a complaint outranks a bounce of the same subscriber (it is what keeps a person from being mailed
    again), then hard bounces, then soft ones. ``guard_interval``: seconds during which a campaign whose rates were
    checked by this process is not checked again (for the send loop's refusals, batch after batch)."""
    at = at or timezone.now()
    effects = [None] * len(pairs)
    candidates = []
    for index, (verdict, delivery) in enumerate(pairs):
        delivery = delivery if delivery is not None else find_delivery(verdict)
        if delivery is None:
            effects[index] = Effect(None, None, None, _("no delivery found"))
        elif verdict.cls not in EVENT_OF_CLASS:
            effects[index] = Effect(*_ids(delivery), _("nothing to do"))
        else:
            candidates.append((index, verdict, delivery))
    returns = _new_events(candidates, effects, at)
    by_class = {cls: [r for r in returns if r.verdict.cls == cls] for cls in APPLY}
    for cls in (COMPLAINT, HARD, SOFT, TRANSIENT, POLICY):
        if by_class[cls]:
            APPLY[cls](by_class[cls])
    _check_guards(by_class[COMPLAINT] + by_class[HARD], guard_interval)
    for item in returns:
        effects[item.index] = Effect(*_ids(item.delivery), str(item.outcome)[:200])
    return effects


def _load_campaigns(deliveries):
    """Give each delivery its campaign (the notes name it, the guards read its status) in one query for those that
    were not loaded with it."""
    missing = [d for d in deliveries if "campaign" not in d._state.fields_cache]
    if missing:
        campaigns = Campaign.objects.in_bulk({d.campaign_id for d in missing})
        for delivery in missing:
            delivery.campaign = campaigns[delivery.campaign_id]


def _ids(delivery):
    return delivery.pk, delivery.campaign_id, delivery.subscriber_id


def _new_events(candidates, effects, at):
    """Lock the candidates' deliveries (two messages about one delivery taken in at once by two processes are
    applied one after the other), leave out an event of a kind the delivery has already, write the others."""
    if not candidates:
        return []
    delivery_ids = sorted({delivery.pk for _, _, delivery in candidates})
    list(Delivery.objects.select_for_update().filter(pk__in=delivery_ids).values_list("pk"))
    _load_campaigns([delivery for _, _, delivery in candidates])
    kinds = {EVENT_OF_CLASS[verdict.cls] for _, verdict, _ in candidates}
    seen = set(
        Event.objects.filter(delivery_id__in=delivery_ids, kind__in=kinds).values_list("delivery_id", "kind")
    )
    returns = []
    for index, verdict, delivery in candidates:
        key = (delivery.pk, EVENT_OF_CLASS[verdict.cls])
        if key in seen:
            effects[index] = Effect(*_ids(delivery), _("already recorded"))
            continue
        seen.add(key)
        returns.append(_Return(index, verdict, delivery, _answer(verdict, delivery)))
    Event.objects.bulk_create(
        Event(campaign_id=r.delivery.campaign_id, delivery_id=r.delivery.pk, kind=EVENT_OF_CLASS[r.verdict.cls],
              at=at, detail=(r.answer or "")[:500])  # fmt: skip
        for r in returns
    )
    return returns


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


def _set_statuses(returns, status, source, note_of):
    """Move the returns' active subscribers to ``status``, each with its own note; the subscriber ids that changed.
    A subscriber named by several returns is moved (and noted) once, by the first."""
    notes = {}
    for item in returns:
        if item.delivery.subscriber_id is not None:
            notes.setdefault(item.delivery.subscriber_id, note_of(item))
    return set(change_each_status(notes, status, source, from_statuses=ACTIVE_STATUSES))


def _note(item):
    campaign, answer = item.delivery.campaign.name, item.answer
    return f"{campaign}: {answer}" if answer else campaign


def _each_changed(returns, changed, yes, no):
    """Outcome ``yes`` for the first return of each subscriber in ``changed``, ``no`` for the others."""
    for item in returns:
        if item.delivery.subscriber_id in changed:
            changed.discard(item.delivery.subscriber_id)
            item.outcome = yes
        else:
            item.outcome = no


def _hard(returns):
    changed = _set_statuses(returns, Status.BOUNCED, Source.BOUNCE, _note)
    _each_changed(returns, changed, _("subscriber bounced"), _("hard bounce recorded"))


def _soft(returns):
    limit = newsletter_settings.SOFT_BOUNCE_LIMIT
    counts = recent_soft_bounces_of({r.delivery.subscriber_id for r in returns if r.delivery.subscriber_id})
    count_of = {id(r): counts.get(r.delivery.subscriber_id, 1) for r in returns}
    reaching = [r for r in returns if count_of[id(r)] >= limit]
    changed = _set_statuses(reaching, Status.BOUNCED, Source.BOUNCE, lambda r: _soft_note(count_of[id(r)], r.answer))
    for item in returns:
        count = count_of[id(item)]
        item.outcome = _("soft bounce %(count)d/%(limit)d") % {"count": count, "limit": limit}
        if item.delivery.subscriber_id in changed:
            changed.discard(item.delivery.subscriber_id)
            item.outcome = _("subscriber bounced (%(count)d soft bounces)") % {"count": count}


def _soft_note(count, answer):
    return _("%(count)d soft bounces in recent campaigns; last: %(answer)s") % {"count": count, "answer": answer}


def _transient(returns):
    for item in returns:
        item.outcome = _("transient bounce recorded")


def _policy(returns):
    """Blocked for the sender's sake: pause the campaign (once) and tell the editor; the subscriber is not at fault."""
    for item in returns:
        failure = _failure_of(item.verdict, item.delivery)
        receiver = failure.address.rpartition("@")[2] if failure else ""
        reason = _(
            "Paused: the receiving mail server of %(receiver)s refused this campaign's messages for the sender's "
            "content, reputation or authentication (%(answer)s). The subscribers are not at fault. Check the sender "
            "domain's records and reputation before resuming."
        ) % {"receiver": receiver or _("a recipient"), "answer": item.answer or _("no answer given")}
        if pause_campaign(item.delivery.campaign_id, PauseCause.POLICY, reason):
            item.outcome = _("campaign paused (policy)")
        else:
            item.outcome = _("blocked by policy recorded")


def _complaint(returns):
    changed = _set_statuses(returns, Status.COMPLAINED, Source.COMPLAINT, _note)
    _each_changed(returns, changed, _("subscriber complained"), _("complaint recorded"))


APPLY = {HARD: _hard, SOFT: _soft, TRANSIENT: _transient, POLICY: _policy, COMPLAINT: _complaint}


_guards_checked = {}  # campaign id -> time.monotonic() of this process's last check


def _check_guards(returns, interval=0):
    """After hard bounces and complaints, each campaign still sending checks its own rates once (not again within
    ``interval`` seconds); the last of its returns says so when that paused it."""
    last_of_campaign = {}
    for item in returns:
        if item.delivery.campaign.status == CampaignStatus.SENDING:
            last_of_campaign[item.delivery.campaign_id] = item
    now = time.monotonic()
    for campaign_id, item in last_of_campaign.items():
        if interval and now - _guards_checked.get(campaign_id, -interval) < interval:
            continue
        _guards_checked[campaign_id] = now
        crossed = guards.campaign_crossing(campaign_id)
        if crossed is not None and pause_campaign(campaign_id, crossed.cause, crossed.message):
            item.outcome = _("%(outcome)s; campaign paused (%(cause)s)") % {"outcome": item.outcome,
                                                                           "cause": crossed.cause}  # fmt: skip


def pause_campaign(campaign_id, cause, reason):
    """Pause a sending campaign for ``cause`` and tell the person who sent it (by mail, after commit); False when
    it was not sending (finished, or paused already)."""
    try:
        campaign = pause(Campaign(pk=campaign_id), reason=reason, cause=cause)
    except CampaignError:
        return False
    transaction.on_commit(lambda: alert_editor(campaign, reason))
    return True
