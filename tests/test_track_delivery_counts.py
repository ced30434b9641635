"""The delivery counts copied into CampaignStats for the Reports listing: which campaigns get recounted, and the
listing sorting on the copies instead of counting every campaign's deliveries for each rate."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from wagtail_newsletter.track import delivery_counts
from wagtail_newsletter.track.aggregate import scheduled_aggregate
from wagtail_newsletter.track.models import CampaignStats

from .track_fixtures import T0, make_campaign, make_deliveries

pytestmark = pytest.mark.django_db


def copies():
    return {row[0]: row[1:] for row in CampaignStats.objects.values_list("campaign__name", "sent", "failed")}


def test_sending_paused_and_newly_finished_campaigns_are_recounted_then_left_alone():
    sending = make_campaign(name="Sending")
    paused = make_campaign(name="Paused", status=CampaignStatus.PAUSED)
    finished = make_campaign(name="Finished", status=CampaignStatus.SENT, finished_at=T0)
    draft = make_campaign(name="Draft", status=CampaignStatus.DRAFT, started_at=None)
    for campaign in (sending, paused, finished):
        make_deliveries(campaign, 3)
        make_deliveries(campaign, 1, status=DeliveryStatus.FAILED)
    make_deliveries(sending, 2, status=DeliveryStatus.QUEUED, sent_at=None)  # neither sent nor failed

    assert sorted(delivery_counts.refresh()) == sorted([sending.pk, paused.pk, finished.pk])
    assert copies() == {"Sending": (3, 1), "Paused": (3, 1), "Finished": (3, 1)}
    assert draft.pk not in delivery_counts.stale_campaign_ids()
    # Counted after it finished: the finished campaign is not counted again; live ones are, every time.
    assert sorted(delivery_counts.stale_campaign_ids()) == sorted([sending.pk, paused.pk])

    Delivery.objects.filter(campaign=sending, status=DeliveryStatus.QUEUED).update(status=DeliveryStatus.SENT)
    Campaign.objects.filter(pk=sending.pk).update(status=CampaignStatus.SENT, finished_at=timezone.now())
    scheduled_aggregate()  # the every-minute task recounts too
    assert copies()["Sending"] == (5, 1)
    assert sending.pk not in delivery_counts.stale_campaign_ids()


def test_recounting_keeps_the_event_counters():
    campaign = make_campaign(status=CampaignStatus.SENT, finished_at=T0)
    make_deliveries(campaign, 2)
    CampaignStats.objects.create(campaign=campaign, unique_opens=7, clicks=3)
    delivery_counts.refresh()
    stats = CampaignStats.objects.get(campaign=campaign)
    assert (stats.sent, stats.failed, stats.unique_opens, stats.clicks) == (2, 0, 7, 3)


def test_the_reports_listing_uses_the_copies_once_counted(admin_client):
    campaigns = [make_campaign(name=f"Campaign {n}", status=CampaignStatus.SENT, finished_at=T0) for n in range(3)]
    for campaign in campaigns:
        make_deliveries(campaign, 4)
    index = reverse("newsletter_reports:index")

    def listing():
        export = admin_client.get(index + "?export=csv&ordering=-open_rate")
        return {row["Campaign"]: row["Sent"] for row in csv.DictReader(io.StringIO(export.getvalue().decode()))}

    Delivery.objects.filter(campaign=campaigns[2]).delete()
    assert listing() == {"Campaign 0": "4", "Campaign 1": "4", "Campaign 2": "0"}  # never counted: counted live
    delivery_counts.refresh()
    Delivery.objects.filter(campaign=campaigns[0]).delete()  # the copy stands until the next recount
    assert listing() == {"Campaign 0": "4", "Campaign 1": "4", "Campaign 2": "0"}
    delivery_counts.refresh([campaigns[0].pk])
    assert listing()["Campaign 0"] == "0"
