"""A campaign's life: create (draft) → send now or schedule → sending ⇄ paused → sent / cancelled / failed.

Each action checks and changes the campaign row under a lock, so a double click or two editors can't start a
campaign twice; the planner writes the deliveries in the same transaction; workers are kicked after commit.
"""

import logging

from django.db import transaction
from django.db.models import Count
from django.dispatch import Signal
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from wagtail.permissions import policy_registry

from ..compose.checks import ERROR, preflight
from ..compose.compiled import compile_page
from ..conf import newsletter_settings
from . import credits, dispatch
from .models import Campaign, CampaignStatus, Delivery, DeliveryStatus, PauseCause
from .outgoing import sender_of
from .planner import (  # noqa: F401 (public face)
    campaign_recipients,
    count_recipients,
    narrowed,
    plan_deliveries,
    recipients,
)
from .sender_domains import sender_domain_problem
from .translations import compile_translations, language_plan, translation_problems

logger = logging.getLogger(__name__)

STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)

# Sent inside the transaction that moves a campaign to sending, paused or a finished status, with ``campaign`` and
# ``previous`` (its status before); floors above react in that transaction (api's webhooks write their outbox rows).
campaign_status_changed = Signal()


def _status_changed(campaign, previous):
    campaign_status_changed.send(sender=Campaign, campaign=campaign, previous=previous)
PERMISSION = "wagtail_newsletter.send_campaign"


def may_send(user):
    """Whether ``user`` may send campaigns, as Wagtail's permission policy for Campaign says (looked up now, so a
    project's own registered policy is obeyed)."""
    return policy_registry.get_by_type(Campaign).user_has_permission(user, "send")


class CampaignError(Exception):
    """An action that can't be done now; the message is for the editor."""


EMAIL_SETTINGS = ("revision", "subject", "from_name", "from_email", "reply_to", "tracking_enabled", "track_opens")


def _take_latest_revision(campaign, page, user=None):
    """Point ``campaign`` at ``page``'s latest revision and copy that revision's email settings (not saved)."""
    revision = page.get_latest_revision() or page.save_revision(user=user)
    frozen = revision.as_object()
    campaign.revision = revision
    campaign.subject = frozen.subject or ""
    campaign.from_name = frozen.sender_name or ""
    campaign.from_email = frozen.sender_email or ""
    campaign.reply_to = frozen.reply_to or ""
    campaign.tracking_enabled = getattr(frozen, "tracking_enabled", True)
    campaign.track_opens = getattr(frozen, "track_opens", True)
    return frozen


def create_campaign(page, user=None, name=None):
    """A draft campaign of ``page``'s latest revision, with its email settings copied."""
    campaign = Campaign(page=page, created_by=user)
    frozen = _take_latest_revision(campaign, page, user)
    campaign.name = name or frozen.title
    campaign.save()
    return campaign


def refresh_revision(campaign, user=None):
    """Point a draft (or scheduled) campaign at its newsletter's latest revision, with its email settings."""
    if campaign.status not in STARTABLE:
        raise CampaignError(_("A campaign that has started keeps the version it was sent with."))
    if campaign.page is None:
        raise CampaignError(_("The newsletter of this campaign no longer exists."))
    _take_latest_revision(campaign, campaign.page.specific, user)
    campaign.save(update_fields=EMAIL_SETTINGS)
    return campaign


def set_audience(campaign, all_subscribers, include_group_ids=(), exclude_group_ids=(), other_audience=False):
    """Choose the recipients of a draft or scheduled campaign. ``other_audience``: it also goes to people chosen some
    other way (segments, set by the growth floor), so no group is needed."""
    if campaign.status not in STARTABLE:
        raise CampaignError(_("The recipients of a campaign can't change once it has started."))
    if not all_subscribers and not include_group_ids and not other_audience:
        raise CampaignError(_("Choose at least one group, or send to all subscribers."))
    campaign.all_subscribers = bool(all_subscribers)
    campaign.save(update_fields=["all_subscribers"])
    campaign.include_groups.set([] if all_subscribers else include_group_ids)
    campaign.exclude_groups.set(exclude_group_ids)


def compile_campaign(campaign):
    """The CompiledEmail of the campaign's revision (compiled now: the page's current settings may differ)."""
    if campaign.revision is None:
        raise CampaignError(_("The newsletter revision of this campaign no longer exists."))
    return compile_page(campaign.revision)


def is_approved(campaign):
    """Whether a Wagtail workflow approved the campaign's revision (for ``REQUIRE_APPROVAL``)."""
    from wagtail.models import WorkflowState

    if campaign.page is None or campaign.revision is None:
        return False
    return (
        WorkflowState.objects.for_instance(campaign.page.specific)
        .filter(status=WorkflowState.STATUS_APPROVED, current_task_state__revision=campaign.revision)
        .exists()
    )


# Checks of floors above (deliverability's sending guards) that may refuse a campaign: each is given the campaign and
# its recipient count and returns messages for people ([] when it has nothing against it). Connected in
# ``AppConfig.ready``.
_send_checks = []


def add_send_check(check):
    """Register ``check(campaign, count) -> [message, …]``, consulted by ``check_can_send`` (once per function)."""
    if check not in _send_checks:
        _send_checks.append(check)


def remove_send_check(check):
    if check in _send_checks:
        _send_checks.remove(check)


def check_can_send(campaign, user=None, compiled=None, count=None):
    """What keeps ``user`` from sending ``campaign`` now: a list of messages for people (empty: good to go)."""
    problems = []
    if user is not None and not may_send(user):
        problems.append(_("You don't have permission to send newsletters."))
    if campaign.status not in STARTABLE:
        problems.append(_("This campaign has already been started."))
        return problems
    if newsletter_settings.REQUIRE_APPROVAL and not is_approved(campaign):
        problems.append(_("This newsletter needs to be approved through its workflow before it can be sent."))
    address = sender_of(campaign.from_name, campaign.from_email)[1]
    if not address:
        problems.append(_("The newsletter has no sender address."))
    elif refusal := sender_domain_problem(address):
        problems.append(refusal)
    try:
        compiled = compiled or compile_campaign(campaign)
    except CampaignError as error:
        problems.append(str(error))
    else:
        problems += [check.message for check in preflight(compiled) if check.level == ERROR]
    languages = language_plan(campaign, lambda: campaign_recipients(campaign))
    problems += translation_problems(languages, campaign.translation_fallback)
    count = count_recipients_of(campaign) if count is None else count
    if not count:
        problems.append(_("No subscriber matches the chosen recipients."))
    elif newsletter_settings.CREDITS_ENABLED and (refusal := credits.check(count)):
        problems.append(refusal)
    if count:
        for check in _send_checks:
            problems += check(campaign, count)
    return problems


def count_recipients_of(campaign):
    return campaign_recipients(campaign).count()


def _locked(campaign):
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _raise_problems(problems):
    if problems:
        raise CampaignError(" ".join(str(problem) for problem in problems))


def send_now(campaign, user=None):
    """Start sending at once: compile, plan one delivery per recipient, charge credits, kick the workers.

    Returns the campaign; a campaign already started is left as it is (a repeated click changes nothing).
    """
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in STARTABLE:
            return campaign
        compiled = compile_campaign(campaign)
        _raise_problems(check_can_send(campaign, user, compiled=compiled))
        start(campaign, compiled, user)
    return campaign


def start(campaign, compiled, user=None):
    """Inside a transaction holding the campaign's lock: freeze, plan, charge, mark sending, kick after commit."""
    campaign.compiled = compiled.to_dict()
    campaign.subject = compiled.source("subject")[:255] or campaign.subject  # variables written back as tags
    translated = compile_translations(campaign, compiled)  # each published translation once; the planner reads them
    if translated:  # so that readers of the campaign know there are more links than its own, without a query
        campaign.compiled["languages"] = [translation.language for translation in translated]
    campaign.recipient_count = plan_deliveries(campaign)
    if not campaign.recipient_count:
        raise CampaignError(_("No subscriber matches the chosen recipients."))
    if newsletter_settings.CREDITS_ENABLED:
        credits.charge(campaign, campaign.recipient_count, actor=user)  # raises InsufficientCredits: rolled back
    now = timezone.now()
    previous, campaign.status = campaign.status, CampaignStatus.SENDING
    campaign.started_at = now
    campaign.sent_by = user or campaign.sent_by
    campaign.status_note = ""
    campaign.save()
    _status_changed(campaign, previous)
    dispatch.kick_on_commit(campaign.pk, newsletter_settings.SEND_CONCURRENCY)
    logger.info("Campaign %s started: %d recipients", campaign.pk, campaign.recipient_count)


def schedule(campaign, when, user=None):
    """Send at ``when`` (an aware datetime in the future); the checks run now and again at that time."""
    if when <= timezone.now():
        raise CampaignError(_("Choose a time in the future."))
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status not in STARTABLE:
            raise CampaignError(_("This campaign has already been started."))
        _raise_problems(check_can_send(campaign, user))
        campaign.status = CampaignStatus.SCHEDULED
        campaign.scheduled_at = when
        campaign.sent_by = user
        campaign.save(update_fields=["status", "scheduled_at", "sent_by"])
        dispatch.schedule_start(campaign)
    return campaign


def start_scheduled(campaign_id, now=None):
    """django-q2 task: start a scheduled campaign whose time has come (once, whoever calls it first)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CampaignStatus.SCHEDULED:
            return False
        if campaign.scheduled_at and campaign.scheduled_at > (now or timezone.now()):
            return False
        try:
            compiled = compile_campaign(campaign)
            problems = check_can_send(campaign, None, compiled=compiled)
            _raise_problems(problems)
            with transaction.atomic():
                start(campaign, compiled, campaign.sent_by)
        except (CampaignError, credits.InsufficientCredits) as error:
            campaign.status = CampaignStatus.FAILED
            campaign.finished_at = timezone.now()
            campaign.status_note = _("The scheduled send could not start: %(reason)s") % {"reason": error}
            campaign.save(update_fields=["status", "finished_at", "status_note"])
            _status_changed(campaign, CampaignStatus.SCHEDULED)
            return False
    return True


def pause(campaign, user=None, reason="", cause=PauseCause.EDITOR):
    """Stop claiming new messages; those being sent finish (a batch at most), the rest wait for ``resume``.

    ``cause``: who or what paused it (an editor, the relay's answer, a guard); ``reason`` says why in words."""
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != CampaignStatus.SENDING:
            raise CampaignError(_("Only a campaign that is sending can be paused."))
        campaign.status = CampaignStatus.PAUSED
        campaign.paused_at = timezone.now()
        campaign.status_note = reason
        campaign.pause_cause = cause
        campaign.save(update_fields=["status", "paused_at", "status_note", "pause_cause"])
        _status_changed(campaign, CampaignStatus.SENDING)
    return campaign


def resume(campaign, user=None):
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.status != CampaignStatus.PAUSED:
            raise CampaignError(_("Only a paused campaign can be resumed."))
        campaign.status = CampaignStatus.SENDING
        campaign.paused_at = None
        campaign.hold_until = None
        campaign.status_note = ""
        campaign.pause_cause = ""  # resuming is the editor's decision: the cause is over
        campaign.save(update_fields=["status", "paused_at", "hold_until", "status_note", "pause_cause"])
        _status_changed(campaign, CampaignStatus.PAUSED)
        dispatch.kick_on_commit(campaign.pk, newsletter_settings.SEND_CONCURRENCY)
    return campaign


def cancel(campaign, user=None):
    """Stop for good: messages not sent yet are skipped (and their credits refunded)."""
    with transaction.atomic():
        campaign = _locked(campaign)
        if campaign.is_finished:
            raise CampaignError(_("This campaign has already finished."))
        previous = campaign.status
        was_scheduled = previous == CampaignStatus.SCHEDULED
        campaign.status = CampaignStatus.CANCELLED
        campaign.finished_at = timezone.now()
        campaign.hold_until = None
        campaign.save(update_fields=["status", "finished_at", "hold_until"])
        _status_changed(campaign, previous)
        # Rows being sent right now are skipped by their worker as it stops (or by the dispatcher if it died).
        skip_cancelled(campaign, Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.QUEUED))
        if was_scheduled:
            dispatch.unschedule_start(campaign)
    return campaign


def skip_cancelled(campaign, deliveries):
    """Mark unsent ``deliveries`` of a cancelled campaign skipped and give their credits back."""
    deliveries.filter(status__in=(DeliveryStatus.QUEUED, DeliveryStatus.CLAIMED)).update(
        status=DeliveryStatus.SKIPPED, error=_("Cancelled")[:500], claim=None, lease_expires_at=None
    )
    if campaign.credits_charged:
        credits.settle(campaign)


def settle_cancelled(campaign_id, ids=None, expired_before=None):
    """Skip rows of a cancelled campaign still claimed: ``ids`` (given back by a worker) or expired leases."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status != CampaignStatus.CANCELLED:
            return
        deliveries = Delivery.objects.filter(campaign=campaign)
        if ids is not None:
            deliveries = deliveries.filter(pk__in=ids)
        if expired_before is not None:
            deliveries = deliveries.filter(lease_expires_at__lt=expired_before)
        skip_cancelled(campaign, deliveries)


def finish_if_done(campaign_id):
    """Mark a sending campaign sent once no delivery is queued or claimed; refund credits of unsent messages."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.status not in (CampaignStatus.SENDING, CampaignStatus.PAUSED):
            return False
        pending = Delivery.objects.filter(
            campaign=campaign, status__in=(DeliveryStatus.QUEUED, DeliveryStatus.CLAIMED)
        ).exists()
        if pending:
            return False
        previous, campaign.status = campaign.status, CampaignStatus.SENT
        campaign.finished_at = timezone.now()
        campaign.hold_until = None
        if not campaign.pause_cause:  # a guard's or receivers' pause stays on record for the report
            campaign.status_note = ""  # a quota or relay note is over once everything is out
        campaign.save(update_fields=["status", "finished_at", "hold_until", "status_note"])
        _status_changed(campaign, previous)
        if campaign.credits_charged:
            credits.settle(campaign)
    logger.info("Campaign %s sent", campaign_id)
    return True


def delivery_counts(campaign):
    """{status: count} of the campaign's deliveries, in one grouped query."""
    counts = dict.fromkeys(DeliveryStatus.values, 0)
    rows = Delivery.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id")).order_by()
    counts.update(dict(rows))
    return counts


def progress(campaign):
    """Live figures for the campaign page: counts, percentage, rate and estimated time left."""
    counts = delivery_counts(campaign)
    total = sum(counts.values())
    done = counts[DeliveryStatus.SENT] + counts[DeliveryStatus.FAILED] + counts[DeliveryStatus.SKIPPED]
    remaining = counts[DeliveryStatus.QUEUED] + counts[DeliveryStatus.CLAIMED]
    rate = eta = None
    if campaign.started_at and counts[DeliveryStatus.SENT]:
        end = campaign.finished_at or campaign.paused_at or timezone.now()
        minutes = max((end - campaign.started_at).total_seconds(), 1) / 60
        rate = round(counts[DeliveryStatus.SENT] / minutes, 1)
        if remaining and campaign.status == CampaignStatus.SENDING:
            eta = int(remaining / rate * 60)

    def when(value):
        return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else None

    return {
        "status": campaign.status,
        "status_label": str(campaign.get_status_display()),
        "total": total,
        "queued": counts[DeliveryStatus.QUEUED],
        "sending": counts[DeliveryStatus.CLAIMED],
        "sent": counts[DeliveryStatus.SENT],
        "failed": counts[DeliveryStatus.FAILED],
        "skipped": counts[DeliveryStatus.SKIPPED],
        "remaining": remaining,
        "done": done,
        "percent": round(100 * done / total, 1) if total else (100.0 if campaign.is_finished else 0.0),
        "rate_per_minute": rate,
        "eta_seconds": eta,
        "started_at": when(campaign.started_at),
        "finished_at": when(campaign.finished_at),
        "status_note": campaign.status_note,
        "hold_until": when(campaign.hold_until),
        "finished": campaign.is_finished,
    }
