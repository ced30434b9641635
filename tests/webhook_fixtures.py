"""Data and drivers for the webhook tests: subscribers with deliveries of a started campaign, clicks interleaved over
them, and a loop that delivers until the outbox is done."""

import time

from django.utils import timezone

from wagtail_newsletter.api.webhooks import delivery, endpoints
from wagtail_newsletter.api.webhooks.models import OutboxStatus, WebhookMessage
from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.send.models import Delivery, DeliveryStatus, Event, EventKind

from .track_fixtures import make_campaign

FAST = {
    "WEBHOOK_RETRY_BASE_SECONDS": 0.05,
    "WEBHOOK_RETRY_MAX_SECONDS": 0.4,
    "WEBHOOK_TIMEOUT": 0.5,
    "WEBHOOK_BATCH_SIZE": 20,
    "WEBHOOK_CONNECTIONS": 3,
    "WEBHOOK_LEASE_SECONDS": 5,
}


def fast_settings(settings, **more):
    for name, value in {**FAST, **more}.items():
        setattr(settings, f"WAGTAIL_NEWSLETTER_{name}", value)


def audience_with_deliveries(count):
    """``count`` subscribers, each with a sent delivery of one started campaign (3 web links)."""
    campaign = make_campaign(web_links=3, started_at=timezone.now())
    Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{n}@example.net", status=Status.SUBSCRIBED) for n in range(count)
    )
    subscribers = list(Subscriber.objects.order_by("id"))
    Delivery.objects.bulk_create(
        Delivery(campaign=campaign, subscriber=s, status=DeliveryStatus.SENT, sent_at=timezone.now())
        for s in subscribers
    )
    return campaign, list(Delivery.objects.filter(campaign=campaign).order_by("id"))


def add_clicks(deliveries, per_delivery):
    """Clicks interleaved over the deliveries (round after round), with links 0, 1, 2, 0…"""
    Event.objects.bulk_create(
        Event(
            campaign_id=d.campaign_id, delivery_id=d.pk, kind=EventKind.CLICK, link=round_ % 3, at=timezone.now()
        )  # fmt: skip
        for round_ in range(per_delivery)
        for d in deliveries
    )


def register(url, events, user=None):
    return endpoints.create_endpoint(url, events, name="test receiver", user=user)


def deliver_until_done(endpoint_ids, timeout=60):
    """Run delivery inline (as a task would) until nothing is pending or being sent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for endpoint_id in endpoint_ids:
            delivery.deliver(endpoint_id, seconds=2)
        if not WebhookMessage.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.CLAIMED]).exists():
            return True
    return False


def arrival_order_is_kept(accepted):
    """Per subscriber, messages first arrived in the order of their outbox ids (= the order of the events)."""
    last = {}
    for msg_id, payload in accepted:
        subscriber = payload["data"].get("subscriber", {}).get("id")
        number = int(msg_id.removeprefix("msg_"))
        if subscriber is not None and last.get(subscriber, 0) > number:
            return False
        last[subscriber] = number
    return True
