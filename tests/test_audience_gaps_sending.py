"""A campaign already sending skips the subscribers who paused, unsubscribed or bounced after it was planned: the
worker reads their state with its claim (no query per recipient) and marks those deliveries skipped with a reason.
A real send through aiosmtpd, the worker run inline as in tests/test_send_engine.py."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wagtail_newsletter.audience import preferences
from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.audience.services import unsubscribe
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import CampaignStatus, Delivery, DeliveryStatus
from wagtail_newsletter.send.worker import send_campaign_task

from . import test_send_engine
from .compose_editor_fixtures import make_newsletter
from .test_send_engine import hold_kicks, make_subscribers

sending_settings = test_send_engine.sending_settings  # the fixture


def planned_campaign(archive, monkeypatch):
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, True)
    kicks = hold_kicks(monkeypatch)
    campaigns.send_now(campaign)
    assert kicks and Delivery.objects.filter(campaign=campaign).count() == 10  # planned, nothing sent yet
    return campaign


@pytest.mark.django_db(transaction=True)
def test_a_pause_taken_after_planning_is_skipped_with_its_reason(archive, smtp_server, sending_settings, monkeypatch):
    readers = make_subscribers(10)
    campaign = planned_campaign(archive, monkeypatch)
    paused, left, bounced = readers[2], readers[5], readers[8]
    preferences.pause(paused, preferences.pause_months()[0])
    unsubscribe([left.pk])
    Subscriber.objects.filter(pk=bounced.pk).update(status=Status.BOUNCED)
    # A pause already over when the worker runs does not hold anyone back.
    ended = readers[9]
    Subscriber.objects.filter(pk=ended.pk).update(paused_until=timezone.now() - datetime.timedelta(minutes=1))

    send_campaign_task(campaign.pk)

    received = {address for message in smtp_server.messages for address in message["to"]}
    assert received == {r.email for r in readers} - {paused.email, left.email, bounced.email}
    deliveries = {d.subscriber_id: d for d in Delivery.objects.filter(campaign=campaign)}
    assert deliveries[paused.pk].status == DeliveryStatus.SKIPPED
    assert deliveries[paused.pk].error == "Paused by the subscriber"
    for reader in (left, bounced):
        assert deliveries[reader.pk].status == DeliveryStatus.SKIPPED
        assert deliveries[reader.pk].error == "Not subscribed any more"
    assert deliveries[ended.pk].status == DeliveryStatus.SENT
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_skipping_costs_one_update_per_reason_and_batch(archive, smtp_server, settings, monkeypatch):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SEND_BATCH_SIZE": 50, "SEND_CONCURRENCY": 1}
    readers = make_subscribers(10)
    campaign = planned_campaign(archive, monkeypatch)
    until = timezone.now() + datetime.timedelta(days=30)
    Subscriber.objects.filter(pk__in=[r.pk for r in readers[:6]]).update(paused_until=until)
    unsubscribe([readers[6].pk, readers[7].pk])

    with CaptureQueriesContext(connection) as queries:
        send_campaign_task(campaign.pk)

    assert len(smtp_server.messages) == 2
    skip_updates = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE") and '"error" = ' in q["sql"]
    ]
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SKIPPED).count() == 8
    assert len(skip_updates) == 2, skip_updates  # paused (6) and not subscribed (2): one UPDATE each
