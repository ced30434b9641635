"""Campaigns: create one from a newsletter page, schedule or send it, pause, resume, cancel; progress and statistics.

Each action is the send floor's own (``send.campaigns``), so the API obeys the same checks as the send wizard
(sender domain, pre-flight, recipients, credits, guards, approval) and the same permission: the key's user must be
allowed to send.
"""

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from wagtail.models import Page

from ...compose.models import NewsletterPageMixin
from ...send import campaigns as lifecycle
from ...send.credits import InsufficientCredits
from ...send.models import Campaign
from ...track.stats import campaign_report
from . import auth, cursors
from .problems import ApiProblem, not_found
from .schemas import ID_PATH, CampaignIn, CampaignOut, CampaignPage, ProgressOut, ScheduleIn, StatisticsOut
from .validation import check_groups, utc_time

router = Router(tags=["campaigns"])
StatusName = CampaignOut.model_fields["status"].annotation


def campaign_out(campaign, include=None, exclude=None):
    return {
        "id": campaign.pk, "name": campaign.name, "page_id": campaign.page_id, "subject": campaign.subject,
        "status": campaign.status, "all_subscribers": campaign.all_subscribers,
        "groups": include if include is not None else sorted(g.pk for g in campaign.include_groups.all()),
        "exclude_groups": exclude if exclude is not None else sorted(g.pk for g in campaign.exclude_groups.all()),
        "scheduled_at": campaign.scheduled_at, "started_at": campaign.started_at,
        "finished_at": campaign.finished_at, "recipient_count": campaign.recipient_count,
        "status_note": campaign.status_note, "created_at": campaign.created_at,
    }  # fmt: skip


def _campaigns():
    return Campaign.objects.defer("compiled").prefetch_related("include_groups", "exclude_groups")


def _campaign(campaign_id):
    campaign = _campaigns().filter(pk=campaign_id).first()
    if campaign is None:
        raise not_found(_("No campaign has the id %(id)s.") % {"id": campaign_id})
    return campaign


def _refused(error):
    return ApiProblem(409, "invalid_state", str(error))


@router.get("/campaigns", response=CampaignPage, auth=auth.read, summary="List campaigns")
def list_campaigns(
    request,
    status: StatusName | None = None,
    cursor: str | None = Query(None, max_length=100),
    limit: int = Query(100, ge=1, le=cursors.MAX_LIMIT),
):
    queryset = _campaigns().filter(status=status) if status else _campaigns()
    rows, next_cursor = cursors.page(queryset, cursor, limit)
    return {"items": [campaign_out(row) for row in rows], "next_cursor": next_cursor}


@router.get("/campaigns/{int:campaign_id}", response=CampaignOut, auth=auth.read, summary="Get a campaign")
def get_campaign(request, campaign_id: int = ID_PATH):
    return campaign_out(_campaign(campaign_id))


@router.post("/campaigns", response={201: CampaignOut}, auth=auth.write, summary="Create a campaign from a page")
def create_campaign(request, payload: CampaignIn):
    """A draft campaign of the newsletter page's latest revision, to all subscribers or to groups (less the excluded
    groups). Send it with ``/campaigns/{id}/schedule``."""
    page = Page.objects.filter(pk=payload.page_id).first()
    page = page.specific if page is not None else None
    if not isinstance(page, NewsletterPageMixin):
        message = _("No newsletter page has the id %(id)s.") % {"id": payload.page_id}
        raise ApiProblem(422, "invalid_value", message, errors=[(["body", "page_id"], message)])
    include = check_groups(payload.groups)
    exclude = check_groups(payload.exclude_groups, "exclude_groups")
    with transaction.atomic():
        campaign = lifecycle.create_campaign(page, user=request.auth.user, name=payload.name.strip() or None)
        try:
            lifecycle.set_audience(campaign, payload.all_subscribers, include, exclude)
        except lifecycle.CampaignError as error:
            raise ApiProblem(422, "invalid_value", str(error), errors=[(["body", "groups"], str(error))]) from None
    return Status(201, campaign_out(campaign, include if not payload.all_subscribers else [], exclude))


def _sender(request):
    user = request.auth.user
    if not lifecycle.may_send(user):
        raise ApiProblem(403, "forbidden", _("The user of this API key may not send newsletters."))
    return user


@router.post("/campaigns/{int:campaign_id}/schedule", response=CampaignOut, auth=auth.send, summary="Send or schedule")
def schedule(request, payload: ScheduleIn, campaign_id: int = ID_PATH):
    """Send now (no ``at``) or at ``at``. The checks of the send wizard run now (and again at that time): a
    campaign that can't go out is a 409 problem saying why."""
    campaign = _campaign(campaign_id)
    user = _sender(request)
    try:
        if payload.at is None:
            if campaign.status not in lifecycle.STARTABLE:
                raise lifecycle.CampaignError(_("This campaign has already been started."))
            lifecycle.send_now(campaign, user)
        else:
            at = utc_time(payload.at, ["body", "at"])
            lifecycle.schedule(campaign, at, user)
    except (lifecycle.CampaignError, InsufficientCredits) as error:
        raise _refused(error) from None
    return campaign_out(_campaign(campaign_id))


def _action(request, campaign_id, action):
    campaign = _campaign(campaign_id)
    user = _sender(request)
    try:
        action(campaign, user=user)
    except lifecycle.CampaignError as error:
        raise _refused(error) from None
    return campaign_out(_campaign(campaign_id))


@router.post("/campaigns/{int:campaign_id}/pause", response=CampaignOut, auth=auth.send, summary="Pause")
def pause(request, campaign_id: int = ID_PATH):
    return _action(request, campaign_id, lifecycle.pause)


@router.post("/campaigns/{int:campaign_id}/resume", response=CampaignOut, auth=auth.send, summary="Resume")
def resume(request, campaign_id: int = ID_PATH):
    return _action(request, campaign_id, lifecycle.resume)


@router.post("/campaigns/{int:campaign_id}/cancel", response=CampaignOut, auth=auth.send, summary="Cancel")
def cancel(request, campaign_id: int = ID_PATH):
    """Stop for good: messages not sent yet are skipped (and their credits refunded)."""
    return _action(request, campaign_id, lifecycle.cancel)


@router.get("/campaigns/{int:campaign_id}/progress", response=ProgressOut, auth=auth.read, summary="Progress")
def progress(request, campaign_id: int = ID_PATH):
    figures = lifecycle.progress(_campaign(campaign_id))
    return {name: figures[name] for name in ProgressOut.model_fields}


@router.get("/campaigns/{int:campaign_id}/statistics", response=StatisticsOut, auth=auth.read, summary="Statistics")
def statistics(request, campaign_id: int = ID_PATH):
    """Counts and rates as the report shows them (aggregated from the events every minute)."""
    report = campaign_report(_campaign(campaign_id))
    figures = {name: getattr(report, name) for name in StatisticsOut.model_fields if name != "rates"}
    figures["rates"] = [{"key": rate.key, "value": rate.value, "numerator": rate.numerator,
                         "denominator": rate.denominator} for rate in report.rates]  # fmt: skip
    return figures
