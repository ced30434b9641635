"""Kicks: django-q2 tasks that make workers look at a campaign. The database is the truth, tasks are only kicks.

A kick lost with a killed worker is harmless: django-q2 hands an unacknowledged task out again after its
``retry`` time, and the periodic ``dispatch`` (every minute) kicks any campaign that has work nobody holds.
"""

from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import newsletter_settings
from ..taskqueue import enqueue
from .models import Campaign, CampaignStatus, Delivery, DeliveryStatus

SEND_TASK = "wagtail_newsletter.send.worker.send_campaign_task"
START_TASK = "wagtail_newsletter.send.campaigns.start_scheduled"
# The one-off schedules that start scheduled campaigns (``schedules.ensure_schedules`` leaves them alone).
CAMPAIGN_START_PREFIX = "wagtail_newsletter: start campaign "


def kick(campaign_id, count=1):
    for _ in range(count):
        enqueue(SEND_TASK, campaign_id)


def kick_on_commit(campaign_id, count=1):
    transaction.on_commit(partial(kick, campaign_id, count))


def _schedule_name(campaign):
    return f"{CAMPAIGN_START_PREFIX}{campaign.pk}"


def schedule_start(campaign):
    """A one-off django-q2 schedule that starts ``campaign`` at its ``scheduled_at`` (``dispatch`` backs it up)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=_schedule_name(campaign),
        defaults={
            "func": START_TASK,
            "args": repr((campaign.pk,)),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": campaign.scheduled_at,
        },
    )


def unschedule_start(campaign):
    from django_q.models import Schedule

    Schedule.objects.filter(name=_schedule_name(campaign)).delete()


def due_work(campaign_id, now):
    """Deliveries a worker could claim now: queued and due, or claimed under an expired lease."""
    return Delivery.objects.filter(campaign_id=campaign_id).filter(
        Q(status=DeliveryStatus.QUEUED, next_attempt_at__isnull=True)
        | Q(status=DeliveryStatus.QUEUED, next_attempt_at__lte=now)
        | Q(status=DeliveryStatus.CLAIMED, lease_expires_at__lt=now)
    )


def dispatch(now=None):
    """Periodic (django-q2 schedule): start due scheduled campaigns, re-kick stalled ones, finish completed ones."""
    from .campaigns import finish_if_done, settle_cancelled, start_scheduled  # cycle: campaigns kicks through here

    now = now or timezone.now()
    started = kicked = 0
    for pk in Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now).values_list(
        "pk", flat=True
    ):
        started += bool(start_scheduled(pk, now=now))
    # Rows a worker held when its campaign was cancelled, and never gave back (it died): skipped, credits settled.
    for pk in (
        Delivery.objects.filter(
            campaign__status=CampaignStatus.CANCELLED, status=DeliveryStatus.CLAIMED, lease_expires_at__lt=now
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    ):
        settle_cancelled(pk, expired_before=now)
    sending = Campaign.objects.filter(status=CampaignStatus.SENDING).filter(
        Q(hold_until__isnull=True) | Q(hold_until__lte=now)
    )
    for pk in sending.values_list("pk", flat=True):
        if finish_if_done(pk):
            continue
        held = Delivery.objects.filter(campaign_id=pk, status=DeliveryStatus.CLAIMED, lease_expires_at__gte=now)
        if due_work(pk, now).exists() and not held.exists():
            kick(pk, newsletter_settings.SEND_CONCURRENCY)
            kicked += 1
    return {"started": started, "kicked": kicked}
