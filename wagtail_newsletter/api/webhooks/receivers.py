"""Receivers connected by importing this module in ``AppConfig.ready``: send's ``campaign_status_changed`` becomes
outbox rows in the same transaction; audience's ``subscribers_erased`` clears the request bodies kept for the log."""

import logging

from django.db import transaction
from django.dispatch import receiver

from ...audience.services import subscribers_erased
from ...send.campaigns import campaign_status_changed
from ...send.models import CampaignStatus
from .fanout import record_campaign_event
from .models import EventType, WebhookMessage

logger = logging.getLogger(__name__)

FINISHED = (CampaignStatus.SENT, CampaignStatus.CANCELLED, CampaignStatus.FAILED)


def event_type_of(status, previous):
    if status == CampaignStatus.SENDING and previous != CampaignStatus.PAUSED:  # a resume is no new start
        return EventType.CAMPAIGN_STARTED
    if status == CampaignStatus.PAUSED:
        return EventType.CAMPAIGN_PAUSED
    if status in FINISHED:  # sent, cancelled (also before starting) or failed
        return EventType.CAMPAIGN_FINISHED
    return None


@receiver(campaign_status_changed, dispatch_uid="wagtail_newsletter.api.webhooks")
def campaign_changed(sender, campaign, previous, **kwargs):
    event_type = event_type_of(campaign.status, previous)
    if event_type is None:
        return
    try:
        with transaction.atomic():  # a savepoint: the campaign's change must not fail for its webhooks
            record_campaign_event(campaign, event_type)
    except Exception:  # noqa: BLE001
        logger.exception("Could not record the webhook event of campaign %s", campaign.pk)


@receiver(subscribers_erased, dispatch_uid="wagtail_newsletter.api.webhooks.erase")
def erase_bodies(sender, subscriber_ids, **kwargs):
    """GDPR erasure: a failed message's body kept for the log names the person; the rows themselves hold only ids
    (a message still to send is built without the address)."""
    WebhookMessage.objects.filter(subscriber_id__in=list(subscriber_ids)).update(body="", response_body="")
