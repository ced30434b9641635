"""The editor's side of sending: the "Send…" menu item, the send wizard, the campaign listing, the campaign page with
its progress JSON, and pause / resume / cancel — through the Django test client."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from wagtail_newsletter.audience.models import Group, Membership, Status, Subscriber
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus

from .compose_editor_fixtures import GREETING_BODY, make_newsletter

pytestmark = pytest.mark.django_db


def campaigns_url(name, *args):
    return reverse(f"newsletter_campaigns:{name}", args=args)


def subscribe(email, *groups, status=Status.SUBSCRIBED):
    subscriber = Subscriber.objects.create(email=email, status=status)
    for group in groups:
        Membership.objects.create(subscriber=subscriber, group=group)
    return subscriber


@pytest.fixture
def audience(db):
    """Two groups sharing a member, an unsubscribed member and someone in no group: 4 subscribed people in all."""
    readers, friends = Group.objects.create(name="Readers"), Group.objects.create(name="Friends")
    subscribe("ann@example.net", readers)
    subscribe("bob@example.net", readers, friends)
    subscribe("cid@example.net", friends)
    subscribe("dan@example.net")
    subscribe("eve@example.net", readers, status=Status.UNSUBSCRIBED)
    return {"readers": readers, "friends": friends}


@pytest.fixture
def sender(newsletter_editor):
    """The newsletter editor, allowed to send."""
    newsletter_editor.user_permissions.add(Permission.objects.get(codename="send_campaign"))
    return type(newsletter_editor).objects.get(pk=newsletter_editor.pk)  # fresh permission cache


@pytest.fixture
def sender_client(client, sender):
    client.force_login(sender)
    return client


@pytest.fixture
def editor_client(client, newsletter_editor):
    client.force_login(newsletter_editor)
    return client


def assert_refused(client, method, url, data=None):
    """Wagtail's refusal: a redirect to the dashboard with an error message, a 403 to scripts (XMLHttpRequest)."""
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home"), url
    xhr = getattr(client, method)(url, data or {}, headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status_code == 403, url


def recipients_post(**data):
    return {"name": "Spring campaign", "audience": "all", **data}


def start_wizard(client, newsletter, **data):
    """Step 1 for ``newsletter``: returns the new draft campaign."""
    response = client.post(campaigns_url("send_new", newsletter.pk), recipients_post(**data))
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = Campaign.objects.get()
    assert response.url == campaigns_url("send_checks", campaign.pk)
    return campaign


def through_schedule(client, campaign, **schedule):
    assert client.post(campaigns_url("send_checks", campaign.pk), {}).status_code == 302
    response = client.post(campaigns_url("send_schedule", campaign.pk), {"when": "now", **schedule})
    assert response.status_code == 302 and response.url == campaigns_url("send_confirm", campaign.pk)


def sending_campaign(newsletter, user=None):
    campaign = campaigns.create_campaign(newsletter, user)
    campaigns.send_now(campaign, user)  # the workers' kick runs on commit: the deliveries stay queued here
    campaign.refresh_from_db()
    return campaign


# Permissions and menu items


def test_send_menu_item_is_shown_to_those_who_may_send(sender_client, newsletter, audience):
    page = sender_client.get(reverse("wagtailadmin_pages:edit", args=[newsletter.pk])).content.decode()
    assert "Send…" in page and campaigns_url("send_new", newsletter.pk) in page


def test_send_menu_item_is_hidden_without_the_permission(editor_client, newsletter):
    page = editor_client.get(reverse("wagtailadmin_pages:edit", args=[newsletter.pk])).content.decode()
    assert "Send test…" in page
    assert "Send…" not in page and campaigns_url("send_new", newsletter.pk) not in page


def test_send_menu_item_is_not_on_other_pages(admin_client, archive):
    page = admin_client.get(reverse("wagtailadmin_pages:edit", args=[archive.pk])).content.decode()
    assert "Send…" not in page


def test_wizard_and_actions_refuse_editors_without_send_permission(editor_client, newsletter, admin_user, audience):
    draft = campaigns.create_campaign(newsletter, admin_user)
    running = sending_campaign(newsletter, admin_user)
    gets = [
        campaigns_url("new"),
        campaigns_url("send_new", newsletter.pk),
        campaigns_url("count") + "?audience=all",
        campaigns_url("send_recipients", draft.pk),
        campaigns_url("send_checks", draft.pk),
        campaigns_url("send_schedule", draft.pk),
        campaigns_url("send_confirm", draft.pk),
        campaigns_url("cancel", running.pk),
    ]
    for url in gets:
        assert_refused(editor_client, "get", url)
    for name in ("pause", "resume", "cancel"):
        assert_refused(editor_client, "post", campaigns_url(name, running.pk))
    assert_refused(editor_client, "post", campaigns_url("send_new", newsletter.pk), recipients_post())
    assert_refused(editor_client, "post", campaigns_url("send_confirm", draft.pk))
    running.refresh_from_db()
    assert running.status == CampaignStatus.SENDING and Campaign.objects.count() == 2


def test_listing_and_menu_hidden_without_campaign_permissions(editor_client):
    assert_refused(editor_client, "get", campaigns_url("index"))
    assert campaigns_url("index") not in editor_client.get(reverse("wagtailadmin_home")).content.decode()


def test_listing_and_menu_shown_to_senders(sender_client):
    home = sender_client.get(reverse("wagtailadmin_home")).content.decode()
    assert campaigns_url("index") in home
    listing = sender_client.get(campaigns_url("index"))
    assert listing.status_code == 200
    assert "New campaign" in listing.content.decode() and campaigns_url("new") in listing.content.decode()


# Step 1: recipients


def test_step_one_needs_a_group_when_not_sending_to_everyone(sender_client, newsletter, audience):
    response = sender_client.post(campaigns_url("send_new", newsletter.pk), recipients_post(audience="groups"))
    assert response.status_code == 200
    assert "Choose at least one group, or send to all subscribers." in response.content.decode()
    assert not Campaign.objects.exists()


def test_step_one_refuses_a_group_both_chosen_and_excepted(sender_client, newsletter, audience):
    readers = audience["readers"].pk
    data = recipients_post(audience="groups", include_groups=[readers], exclude_groups=[readers])
    response = sender_client.post(campaigns_url("send_new", newsletter.pk), data)
    assert "both chosen and excepted" in response.content.decode()
    assert not Campaign.objects.exists()


def test_step_one_refuses_an_audience_of_nobody(sender_client, newsletter, audience):
    empty = Group.objects.create(name="Empty")
    data = recipients_post(audience="groups", include_groups=[empty.pk])
    response = sender_client.post(campaigns_url("send_new", newsletter.pk), data)
    assert "Nobody would get this newsletter" in response.content.decode()
    assert not Campaign.objects.exists()


def test_step_one_creates_a_draft_with_the_chosen_groups(sender_client, sender, newsletter, audience):
    readers, friends = audience["readers"], audience["friends"]
    data = {"audience": "groups", "include_groups": [readers.pk], "exclude_groups": [friends.pk]}
    campaign = start_wizard(sender_client, newsletter, **data)
    assert campaign.status == CampaignStatus.DRAFT and campaign.name == "Spring campaign"
    assert campaign.page_id == newsletter.pk and campaign.created_by == sender
    assert not campaign.all_subscribers
    assert list(campaign.include_groups.all()) == [readers] and list(campaign.exclude_groups.all()) == [friends]
    assert campaigns.count_recipients_of(campaign) == 1  # ann (bob is a friend, eve unsubscribed)


def test_step_one_page_shows_groups_with_counts_and_the_count(sender_client, newsletter, audience):
    page = sender_client.get(campaigns_url("send_new", newsletter.pk)).content.decode()
    assert "Readers (2 subscribed)" in page and "Friends (2 subscribed)" in page
    assert "data-recipient-count-value>4<" in page and campaigns_url("count") in page


def test_going_back_to_step_one_changes_the_same_draft(sender_client, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    page = sender_client.get(campaigns_url("send_recipients", campaign.pk)).content.decode()
    assert 'value="Spring campaign"' in page
    data = recipients_post(audience="groups", include_groups=[audience["friends"].pk])
    response = sender_client.post(campaigns_url("send_recipients", campaign.pk), data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert Campaign.objects.count() == 1 and not campaign.all_subscribers
    assert list(campaign.include_groups.all()) == [audience["friends"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("audience=all", 4),
        ("audience=groups&include_groups={readers}&include_groups={friends}", 3),  # bob counted once
        ("audience=groups&include_groups={readers}", 2),  # eve is unsubscribed
        ("audience=all&exclude_groups={friends}", 2),
        ("audience=groups", 0),
    ],
)
def test_live_count_is_deduplicated(sender_client, audience, query, expected):
    query = query.format(readers=audience["readers"].pk, friends=audience["friends"].pk)
    response = sender_client.get(campaigns_url("count") + "?" + query)
    assert response.status_code == 200 and response.json() == {"count": expected}


def test_live_count_rejects_bad_input(sender_client, audience):
    response = sender_client.get(campaigns_url("count") + "?audience=everyone&include_groups=x")
    assert response.status_code == 400 and "errors" in response.json()


# Step 2: checklist


def test_checklist_errors_block_the_send(sender_client, archive, audience):
    no_footer = make_newsletter(archive, title="No footer", slug="no-footer", body=GREETING_BODY[:2])
    campaign = start_wizard(sender_client, no_footer)
    page = sender_client.get(campaigns_url("send_checks", campaign.pk)).content.decode()
    assert "The email has no unsubscribe link." in page
    response = sender_client.post(campaigns_url("send_checks", campaign.pk), {"accept_warnings": "on"})
    assert response.status_code == 200 and "Fix the problems above before sending." in response.content.decode()
    # Skipping the step by URL leads back to it.
    assert sender_client.get(campaigns_url("send_schedule", campaign.pk)).url == campaigns_url(
        "send_checks", campaign.pk
    )


def test_checklist_warnings_need_a_tick(sender_client, archive, audience):
    body = [*GREETING_BODY[:1], {"type": "rich_text", "value": {"text": '<p><a href="http://example.org/">x</a></p>'}},
            GREETING_BODY[2]]  # fmt: skip
    insecure = make_newsletter(archive, title="Plain link", slug="plain-link", body=body)
    campaign = start_wizard(sender_client, insecure)
    url = campaigns_url("send_checks", campaign.pk)
    assert "not an absolute HTTPS address" in sender_client.get(url).content.decode()
    response = sender_client.post(url, {})
    assert response.status_code == 200 and "Tick this box" in response.content.decode()
    assert sender_client.post(url, {"accept_warnings": "on"}).url == campaigns_url("send_schedule", campaign.pk)


def test_checklist_shows_what_check_can_send_objects_to(sender_client, newsletter, audience, settings):
    campaign = start_wizard(sender_client, newsletter)
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "REQUIRE_APPROVAL": True}
    page = sender_client.get(campaigns_url("send_checks", campaign.pk)).content.decode()
    assert "needs to be approved" in page
    assert sender_client.post(campaigns_url("send_checks", campaign.pk)).status_code == 200


# Step 3: when


def test_schedule_in_the_past_is_refused(sender_client, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    sender_client.post(campaigns_url("send_checks", campaign.pk), {})
    past = timezone.localtime() - timedelta(hours=1)
    data = {"when": "later", "scheduled_at": past.strftime("%Y-%m-%d %H:%M")}
    response = sender_client.post(campaigns_url("send_schedule", campaign.pk), data)
    assert response.status_code == 200 and "Choose a time in the future." in response.content.decode()
    response = sender_client.post(campaigns_url("send_schedule", campaign.pk), {"when": "later"})
    assert "Choose the date and time to send at." in response.content.decode()
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    response = sender_client.post(campaigns_url("send_schedule", campaign.pk), {"when": "now", "scheduled_at": future})
    assert "You chose a date" in response.content.decode()
    assert sender_client.get(campaigns_url("send_confirm", campaign.pk)).url == campaigns_url(
        "send_schedule", campaign.pk
    )


# Step 4: confirm


def test_confirm_shows_count_subject_sender_and_when(sender_client, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter, audience="groups", include_groups=[audience["readers"].pk])
    through_schedule(sender_client, campaign)
    page = sender_client.get(campaigns_url("send_confirm", campaign.pk)).content.decode()
    assert "2 subscribers" in page and "Readers" in page
    assert "Spring news for {{ first_name|default:&quot;you&quot; }}" in page
    assert "Garden Club &lt;news@example.org&gt;" in page and "Now" in page


def test_send_now_starts_once_and_a_second_submit_changes_nothing(sender_client, sender, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    through_schedule(sender_client, campaign)
    response = sender_client.post(campaigns_url("send_confirm", campaign.pk))
    assert response.status_code == 302 and response.url == campaigns_url("detail", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.sent_by == sender
    assert campaign.recipient_count == 4 and Delivery.objects.filter(campaign=campaign).count() == 4
    started_at = campaign.started_at

    again = sender_client.post(campaigns_url("send_confirm", campaign.pk))
    assert again.status_code == 302 and again.url == campaigns_url("detail", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.started_at == started_at and Delivery.objects.count() == 4 and Campaign.objects.count() == 1
    # Nor can the started campaign go back through the wizard.
    for name in ("send_recipients", "send_checks", "send_schedule"):
        assert sender_client.get(campaigns_url(name, campaign.pk)).url == campaigns_url("detail", campaign.pk)
    response = sender_client.post(campaigns_url("send_recipients", campaign.pk), recipients_post(audience="groups"))
    assert response.url == campaigns_url("detail", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.all_subscribers


def test_schedule_for_later(sender_client, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    sender_client.post(campaigns_url("send_checks", campaign.pk), {})
    assert "date-time-chooser.js" in sender_client.get(campaigns_url("send_schedule", campaign.pk)).content.decode()
    when = (timezone.localtime() + timedelta(days=2)).replace(second=0, microsecond=0)
    through_schedule(sender_client, campaign, when="later", scheduled_at=when.strftime("%Y-%m-%d %H:%M"))
    page = sender_client.get(campaigns_url("send_confirm", campaign.pk)).content.decode()
    assert timezone.get_current_timezone_name() in page
    response = sender_client.post(campaigns_url("send_confirm", campaign.pk))
    assert response.url == campaigns_url("detail", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SCHEDULED and campaign.scheduled_at == when
    assert not Delivery.objects.exists()


def test_confirm_rechecks_a_time_that_has_passed(sender_client, newsletter, audience, monkeypatch):
    campaign = start_wizard(sender_client, newsletter)
    when = timezone.localtime() + timedelta(minutes=5)
    through_schedule(sender_client, campaign, when="later", scheduled_at=when.strftime("%Y-%m-%d %H:%M"))
    later = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = sender_client.post(campaigns_url("send_confirm", campaign.pk))
    assert response.url == campaigns_url("send_schedule", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_confirm_shows_a_refusal_and_changes_nothing(sender_client, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    through_schedule(sender_client, campaign)
    Subscriber.objects.update(status=Status.UNSUBSCRIBED)  # everyone left in the meantime
    response = sender_client.post(campaigns_url("send_confirm", campaign.pk), follow=True)
    assert "No subscriber matches the chosen recipients." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and not Delivery.objects.exists()


def test_new_campaign_button_asks_for_a_newsletter(sender_client, newsletter):
    page = sender_client.get(campaigns_url("new")).content.decode()
    assert "Spring news" in page
    response = sender_client.post(campaigns_url("new"), {"page": newsletter.pk})
    assert response.url == campaigns_url("send_new", newsletter.pk)
    assert sender_client.post(campaigns_url("new"), {"page": newsletter.get_parent().pk}).status_code == 200
    assert sender_client.get(campaigns_url("send_new", newsletter.get_parent().pk)).status_code == 404


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
