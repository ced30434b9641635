"""The campaigns' admin through the Django test client: who sees the listing, the listing itself, the campaign page
with its progress JSON, and pause / resume / cancel. The send wizard: test_admin_send_wizard.py."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import NoReverseMatch, reverse

from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    assert_refused,
    audience_fixture,
    campaigns_url,
    editor_client_fixture,
    sender_client_fixture,
    sender_fixture,
    sending_campaign,
)

pytestmark = pytest.mark.django_db


# Permissions


def test_listing_and_menu_hidden_without_campaign_permissions(editor_client):
    assert_refused(editor_client, "get", campaigns_url("index"))
    assert campaigns_url("index") not in editor_client.get(reverse("wagtailadmin_home")).content.decode()


def test_listing_and_menu_shown_to_senders(sender_client):
    home = sender_client.get(reverse("wagtailadmin_home")).content.decode()
    assert campaigns_url("index") in home
    listing = sender_client.get(campaigns_url("index"))
    assert listing.status_code == 200
    assert "New campaign" in listing.content.decode() and campaigns_url("new") in listing.content.decode()


# Listing


def test_listing_shows_campaigns_and_filters_by_status(sender_client, newsletter, admin_user, audience):
    draft = campaigns.create_campaign(newsletter, admin_user, name="Draft one")
    sent = sending_campaign(newsletter, admin_user)
    Campaign.objects.filter(pk=sent.pk).update(name="Sent one", status=CampaignStatus.SENT)
    Delivery.objects.filter(campaign=sent).update(status=DeliveryStatus.SENT)
    listing = sender_client.get(campaigns_url("index")).content.decode()
    assert "Draft one" in listing and "Sent one" in listing
    assert campaigns_url("detail", draft.pk) in listing and campaigns_url("delete", draft.pk) in listing
    assert campaigns_url("delete", sent.pk) not in listing  # only drafts can be deleted
    assert campaigns_url("send_recipients", draft.pk) in listing and not re.search(r">\s*Edit\s*<", listing)
    filtered = sender_client.get(campaigns_url("index") + "?status=sent").content.decode()
    assert "Sent one" in filtered and "Draft one" not in filtered
    # No plain add or edit form: campaigns are made by the wizard and changed only by their actions.
    for name, args in (("add", ()), ("edit", (sent.pk,))):
        with pytest.raises(NoReverseMatch):
            campaigns_url(name, *args)


def test_only_drafts_can_be_deleted(sender_client, newsletter, admin_user, audience):
    draft = campaigns.create_campaign(newsletter, admin_user)
    running = sending_campaign(newsletter, admin_user)
    assert sender_client.get(campaigns_url("delete", running.pk)).status_code == 404
    assert sender_client.post(campaigns_url("delete", running.pk)).status_code == 404
    assert sender_client.post(campaigns_url("delete", draft.pk)).status_code == 302
    assert list(Campaign.objects.all()) == [running]


# Campaign page, progress and actions


def test_progress_json(sender_client, newsletter, admin_user, audience):
    campaign = sending_campaign(newsletter, admin_user)
    Delivery.objects.filter(pk=Delivery.objects.filter(campaign=campaign).first().pk).update(status=DeliveryStatus.SENT)
    response = sender_client.get(campaigns_url("progress", campaign.pk))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    data = response.json()
    expected_keys = {"status", "status_label", "total", "queued", "sending", "sent", "failed", "skipped", "remaining",
                     "done", "percent", "rate_per_minute", "eta_seconds", "started_at", "finished_at", "status_note",
                     "hold_until", "finished"}  # fmt: skip
    assert expected_keys <= set(data)
    assert (data["status"], data["total"], data["sent"], data["queued"], data["remaining"]) == ("sending", 4, 1, 3, 3)
    assert data["percent"] == 25.0 and data["finished"] is False


def test_progress_json_needs_a_campaign_permission(editor_client, newsletter, admin_user, audience):
    campaign = sending_campaign(newsletter, admin_user)
    assert_refused(editor_client, "get", campaigns_url("progress", campaign.pk))
    assert_refused(editor_client, "get", campaigns_url("detail", campaign.pk))


def test_campaign_page_shows_progress_details_and_buttons(sender_client, newsletter, admin_user, audience):
    campaign = sending_campaign(newsletter, admin_user)
    page = sender_client.get(campaigns_url("detail", campaign.pk)).content.decode()
    assert "data-campaign-progress" in page and campaigns_url("progress", campaign.pk) in page
    assert "campaign_progress.js" in page and 'aria-valuenow="0' in page
    assert "All subscribers" in page and "Garden Club" in page
    assert campaigns_url("pause", campaign.pk) in page and campaigns_url("cancel", campaign.pk) in page
    assert campaigns_url("resume", campaign.pk) not in page


def test_status_note_is_shown(sender_client, newsletter, admin_user, audience):
    campaign = sending_campaign(newsletter, admin_user)
    campaigns.pause(campaign, reason="The mail server refused our sender: 550 5.7.1 blocked")
    page = sender_client.get(campaigns_url("detail", campaign.pk)).content.decode()
    assert "data-status-note" in page and "550 5.7.1 blocked" in page
    assert campaigns_url("resume", campaign.pk) in page and campaigns_url("pause", campaign.pk) not in page


def test_pause_resume_and_cancel(sender_client, newsletter, admin_user, audience):
    campaign = sending_campaign(newsletter, admin_user)
    detail = campaigns_url("detail", campaign.pk)
    assert sender_client.get(campaigns_url("pause", campaign.pk)).status_code == 405  # POST only
    assert sender_client.post(campaigns_url("pause", campaign.pk)).url == detail
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED

    response = sender_client.post(campaigns_url("pause", campaign.pk), follow=True)
    assert "Only a campaign that is sending can be paused." in response.content.decode()

    sender_client.post(campaigns_url("resume", campaign.pk))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING

    confirm = sender_client.get(campaigns_url("cancel", campaign.pk)).content.decode()
    assert "Yes, cancel the campaign" in confirm
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING  # asking changes nothing
    sender_client.post(campaigns_url("cancel", campaign.pk))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SKIPPED).count() == 4

    response = sender_client.post(campaigns_url("resume", campaign.pk), follow=True)
    assert "Only a paused campaign can be resumed." in response.content.decode()
    assert sender_client.get(campaigns_url("cancel", campaign.pk)).url == detail


def test_the_send_permission_can_be_given_to_a_group_of_users(admin_client):
    page = admin_client.get(reverse("wagtailusers_groups:add")).content.decode()
    permission = Permission.objects.get(codename="send_campaign")
    assert "Can send campaigns" in page and f'value="{permission.pk}"' in page
