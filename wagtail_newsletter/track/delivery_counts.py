"""Sent and failed counts copied into CampaignStats, so that listings sort campaigns by rate without counting
each campaign's deliveries (a million rows each) for every row of every page.

The every-minute schedule recounts campaigns that are sending or paused, and finished ones once after they finished.
"""

from django.db.models import Count, F, Q
from django.utils import timezone

from ..send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from .models import CampaignStats

LIVE = (CampaignStatus.SENDING, CampaignStatus.PAUSED)


def stale_campaign_ids():
    finished_since_counted = Q(finished_at__isnull=False) & (
        Q(stats__isnull=True) | Q(stats__counted_at__isnull=True) | Q(stats__counted_at__lt=F("finished_at"))
    )
    return list(Campaign.objects.filter(Q(status__in=LIVE) | finished_since_counted).values_list("pk", flat=True))


def refresh(campaign_ids=None, now=None):
    """Recount the deliveries of ``campaign_ids`` (default: those whose copy may be out of date); return them."""
    now = now or timezone.now()
    campaign_ids = stale_campaign_ids() if campaign_ids is None else list(campaign_ids)
    if not campaign_ids:
        return []
    counts = {pk: {DeliveryStatus.SENT: 0, DeliveryStatus.FAILED: 0} for pk in campaign_ids}
    rows = (
        Delivery.objects.filter(campaign_id__in=campaign_ids, status__in=[DeliveryStatus.SENT, DeliveryStatus.FAILED])
        .order_by()
        .values_list("campaign_id", "status")
        .annotate(n=Count("id"))
    )
    for campaign_id, status, number in rows:
        counts[campaign_id][status] = number
    existing = {stats.pk: stats for stats in CampaignStats.objects.filter(campaign_id__in=campaign_ids)}
    for campaign_id, by_status in counts.items():
        stats = existing.get(campaign_id) or CampaignStats(campaign_id=campaign_id, updated_at=now)
        stats.sent, stats.failed, stats.counted_at = (
            by_status[DeliveryStatus.SENT],
            by_status[DeliveryStatus.FAILED],
            now,
        )
        existing[campaign_id] = stats
    CampaignStats.objects.bulk_create(
        existing.values(),
        update_conflicts=True,
        unique_fields=["campaign"],
        update_fields=["sent", "failed", "counted_at"],
    )
    return campaign_ids
