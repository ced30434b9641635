"""Campaigns from code: create one from a newsletter page, choose its audience, schedule or send it, pause, resume,
cancel, wait for it, read its progress and statistics.

Thin over ``send.campaigns`` (the same checks and locks as the admin's send wizard) and ``growth.segments``; every
refusal is an ``errors`` exception with the editor's message, raised before anything changed.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Page

from ..compose.models import NewsletterPageMixin
from ..conf import newsletter_settings
from ..growth.segments import set_campaign_segments
from ..send import campaigns as lifecycle
from ..send.credits import InsufficientCredits
from ..send.models import Campaign
from ..track.aggregate import refresh as refresh_statistics
from ..track.stats import campaign_report
from .errors import InvalidInput, InvalidState, NotFound, WaitTimeout
from .lookup import clean_one_line, get_campaign, resolve_groups, resolve_segments
from .results import CampaignProgress, CampaignStatistics


def _newsletter_page(page: Page | int) -> Page:
    pk = getattr(page, "pk", page)
    found = Page.objects.filter(pk=pk).first() if isinstance(pk, int) and not isinstance(pk, bool) else None
    if found is None:
        raise NotFound(_("No page with id %(id)s.") % {"id": pk}, field="page")
    specific = found.specific
    if not isinstance(specific, NewsletterPageMixin):
        raise InvalidInput(_("“%(page)s” is not a newsletter page.") % {"page": found.title}, field="page")
    return specific


def _refreshed(given: Campaign | int, campaign: Campaign) -> Campaign:
    """The campaign after an action; a Campaign object the caller passed is refreshed too, so that code holding it
    (and saving it later) never works on its state from before the action."""
    if isinstance(given, Campaign) and given is not campaign:
        given.refresh_from_db()
    return campaign


def _state_error(error: Exception, campaign: Campaign | None = None, user=None) -> InvalidState:
    """InvalidState with the message of ``error``; for a refused start, ``problems`` lists each of the send checks'
    reasons (computed again, on this error path only)."""
    problems = [str(error)]
    if campaign is not None:
        campaign.refresh_from_db()
        problems = [str(problem) for problem in lifecycle.check_can_send(campaign, user)] or problems
    return InvalidState(" ".join(problems), problems=problems)


def create_campaign(page: Page | int, *, subject: str | None = None, name: str | None = None, user=None) -> Campaign:
    """A draft campaign of ``page`` (a newsletter page or its id): its latest revision, with the page's email
    settings (sender, reply-to, tracking). ``subject``: another subject line than the page's — saved as a new
    (unpublished) revision of the page, so the campaign keeps it as it keeps the rest; ``name``: the campaign's
    name in the admin (the page title by default). Its audience is chosen with ``set_audience``."""
    newsletter = _newsletter_page(page)
    if subject is not None:
        subject = clean_one_line(subject, "subject", _("Subject"), 200)
        if not subject:
            raise InvalidInput(_("The subject may not be empty."), field="subject")
    if name is not None:
        name = clean_one_line(name, "name", _("Name"), 255) or None
    with transaction.atomic():
        if subject is not None:
            draft = newsletter.get_latest_revision_as_object()
            draft.subject = subject
            draft.save_revision(user=user)
        return lifecycle.create_campaign(newsletter, user=user, name=name)


def set_audience(
    campaign: Campaign | int,
    *,
    groups: Iterable[Any] = (),
    exclude_groups: Iterable[Any] = (),
    segments: Iterable[Any] = (),
    exclude_segments: Iterable[Any] = (),
    all_subscribers: bool = False,
) -> int:
    """Choose who gets a draft or scheduled campaign; return how many subscribers that is now.

    The members of ``groups`` and the people of ``segments`` (objects, ids or names), or ``all_subscribers``,
    less those in ``exclude_groups`` or ``exclude_segments``; only subscribed people ever get it. Raises NotFound
    for an unknown group or segment, InvalidInput for an empty choice or one both chosen and excluded,
    InvalidState once the campaign has started.
    """
    given, campaign = campaign, get_campaign(campaign)
    include, exclude = resolve_groups(groups), resolve_groups(exclude_groups, "exclude_groups")
    chosen, left_out = resolve_segments(segments), resolve_segments(exclude_segments, "exclude_segments")
    if all_subscribers and (include or chosen):
        raise InvalidInput(_("Choose groups or segments, or all subscribers, not both."), field="all_subscribers")
    if not (all_subscribers or include or chosen):
        raise InvalidInput(_("Choose at least one group or segment, or all_subscribers=True."), field="groups")
    if {g.pk for g in include} & {g.pk for g in exclude}:
        raise InvalidInput(_("A group can't be both chosen and excepted."), field="exclude_groups")
    if {s.pk for s in chosen} & {s.pk for s in left_out}:
        raise InvalidInput(_("A segment can't be both chosen and excepted."), field="exclude_segments")
    if campaign.status not in lifecycle.STARTABLE:
        raise InvalidState(_("The recipients of a campaign can't change once it has started."))
    with transaction.atomic():
        try:
            lifecycle.set_audience(
                campaign, all_subscribers, [g.pk for g in include], [g.pk for g in exclude],
                other_audience=bool(chosen),
            )  # fmt: skip
        except lifecycle.CampaignError as error:
            raise _state_error(error) from error
        set_campaign_segments(campaign, [s.pk for s in chosen], [s.pk for s in left_out])
    return lifecycle.count_recipients_of(_refreshed(given, campaign))


def schedule(campaign: Campaign | int, at: datetime.datetime, *, user=None) -> Campaign:
    """Send ``campaign`` at ``at`` (an aware datetime in the future). The checks the send wizard shows (sender
    domain, pre-flight, recipients, credits) run now — InvalidState lists what is wrong — and again at that time."""
    given, campaign = campaign, get_campaign(campaign)
    if not isinstance(at, datetime.datetime) or timezone.is_naive(at):
        raise InvalidInput(_("Give the time as an aware datetime (with its time zone)."), field="at")
    if at <= timezone.now():
        raise InvalidInput(_("Choose a time in the future."), field="at")
    try:
        return _refreshed(given, lifecycle.schedule(campaign, at, user=user))
    except lifecycle.CampaignError as error:
        raise _state_error(error, campaign, user) from error


def send(campaign: Campaign | int, *, user=None) -> Campaign:
    """Start sending now: compile, plan one delivery per recipient, kick the workers (django-q2). InvalidState when
    it has started already or a check refuses it (its ``problems`` list every reason)."""
    given, campaign = campaign, get_campaign(campaign)
    if campaign.status not in lifecycle.STARTABLE:
        raise InvalidState(_("This campaign has already been started."))
    try:
        return _refreshed(given, lifecycle.send_now(campaign, user=user))
    except (lifecycle.CampaignError, InsufficientCredits) as error:
        raise _state_error(error, campaign, user) from error


def pause(campaign: Campaign | int, *, reason: str = "", user=None) -> Campaign:
    """Stop claiming new messages (those in flight finish); ``resume`` goes on. InvalidState unless sending."""
    given, campaign = campaign, get_campaign(campaign)
    reason = clean_one_line(reason, "reason", _("Reason"), 500)
    try:
        return _refreshed(given, lifecycle.pause(campaign, user=user, reason=reason))
    except lifecycle.CampaignError as error:
        raise _state_error(error) from error


def resume(campaign: Campaign | int, *, user=None) -> Campaign:
    """Go on sending a paused campaign. InvalidState unless paused."""
    try:
        return _refreshed(campaign, lifecycle.resume(get_campaign(campaign), user=user))
    except lifecycle.CampaignError as error:
        raise _state_error(error) from error


def cancel(campaign: Campaign | int, *, user=None) -> Campaign:
    """Stop for good: unsent messages are skipped (their credits refunded), a scheduled start is dropped.
    InvalidState once finished."""
    try:
        return _refreshed(campaign, lifecycle.cancel(get_campaign(campaign), user=user))
    except lifecycle.CampaignError as error:
        raise _state_error(error) from error


def progress(campaign: Campaign | int) -> CampaignProgress:
    """Where the sending stands (one grouped query over the campaign's deliveries)."""
    campaign = get_campaign(campaign)
    figures = lifecycle.progress(campaign)
    return CampaignProgress(
        campaign_id=campaign.pk,
        status=campaign.status,
        total=figures["total"],
        queued=figures["queued"],
        sending=figures["sending"],
        sent=figures["sent"],
        failed=figures["failed"],
        skipped=figures["skipped"],
        percent=figures["percent"],
        rate_per_minute=figures["rate_per_minute"],
        eta_seconds=figures["eta_seconds"],
        started_at=campaign.started_at,
        finished_at=campaign.finished_at,
        finished=campaign.is_finished,
        note=campaign.status_note,
    )


def wait(campaign: Campaign | int, timeout: float = 600, *, poll: float = 0.5) -> CampaignProgress:
    """Poll until the campaign is finished (sent, cancelled or failed) and return its progress; WaitTimeout after
    ``timeout`` seconds (its ``progress`` says where it stood). Workers (a qcluster) do the sending meanwhile; a
    paused or scheduled campaign is waited for like a sending one."""
    if timeout < 0 or poll <= 0:
        raise InvalidInput(_("timeout must be positive and poll greater than zero."), field="timeout")
    deadline = time.monotonic() + timeout
    while True:
        current = progress(campaign)
        if current.finished:
            return current
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                _("The campaign was still %(status)s after %(seconds)s s (%(percent)s %% done).")
                % {"status": current.status, "seconds": timeout, "percent": current.percent},
                progress=current,
            )
        time.sleep(min(poll, max(deadline - time.monotonic(), 0.01)))


def statistics(campaign: Campaign | int, *, refresh: bool = False) -> CampaignStatistics:
    """The report's figures (the admin report's numbers: human opens and clicks, bounces, complaints, rates).

    They come from tracking events aggregated every minute by a schedule; ``refresh`` folds the waiting events in
    first (a bounded run, ``AGGREGATE_BUDGET_SECONDS``)."""
    campaign = get_campaign(campaign)
    if refresh:
        refresh_statistics(newsletter_settings.AGGREGATE_BUDGET_SECONDS)
    report = campaign_report(campaign)
    rates = {rate.key: rate.value for rate in report.rates}
    return CampaignStatistics(
        campaign_id=campaign.pk,
        recipients=report.recipients,
        sent=report.sent,
        failed=report.failed,
        delivered=report.delivered,
        opens=report.opens,
        unique_opens=report.unique_opens,
        clicks=report.clicks,
        unique_clicks=report.unique_clicks,
        machine_opens=report.machine_opens,
        machine_clicks=report.machine_clicks,
        unsubscribes=report.unsubscribes,
        hard_bounces=report.hard_bounces,
        soft_bounces=report.soft_bounces,
        complaints=report.complaints,
        open_rate=rates.get("open_rate"),
        click_rate=rates.get("click_rate"),
        updated_at=report.updated_at,
    )
