"""The send wizard through the Django test client: the "Send…" menu item, who may use it, and its four steps
(recipients, checklist, when, confirm)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience.models import Group, Status, Subscriber
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery
from wagtail_newsletter.send.outgoing import campaign_sender

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    assert_refused,
    audience_fixture,
    campaigns_url,
    editor_client_fixture,
    sender_client_fixture,
    sender_fixture,
    sending_campaign,
)
from .compose_editor_fixtures import GREETING_BODY, make_newsletter

pytestmark = pytest.mark.django_db


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


# Step 1: recipients


def test_step_one_needs_a_group_when_not_sending_to_everyone(sender_client, newsletter, audience):
    response = sender_client.post(campaigns_url("send_new", newsletter.pk), recipients_post(audience="groups"))
    assert response.status_code == 200
    assert "Choose at least one group or segment, or send to all subscribers." in response.content.decode()
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


def test_use_the_latest_version_moves_the_draft_and_asks_for_the_checklist_again(sender_client, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    checks_url = campaigns_url("send_checks", campaign.pk)
    assert "use_latest_revision" not in sender_client.get(checks_url).content.decode()  # nothing newer yet
    assert sender_client.post(checks_url, {}).url == campaigns_url("send_schedule", campaign.pk)
    newsletter.subject = "Summer news"
    newer = newsletter.save_revision()

    page = sender_client.get(checks_url).content.decode()
    assert "The newsletter has been changed since this campaign was prepared." in page
    assert 'name="use_latest_revision"' in page and "Use the latest version" in page
    response = sender_client.post(checks_url, {"use_latest_revision": "1"})
    assert response.status_code == 302 and response.url == checks_url
    campaign.refresh_from_db()
    assert campaign.revision_id == newer.pk and campaign.subject == "Summer news"
    assert campaign.status == CampaignStatus.DRAFT and Campaign.objects.count() == 1
    page = sender_client.get(checks_url).content.decode()
    assert "The campaign now sends the latest version of the newsletter." in page
    assert "use_latest_revision" not in page
    # The new revision's checklist has to be gone through again before choosing when.
    assert sender_client.get(campaigns_url("send_schedule", campaign.pk)).url == checks_url


def test_use_the_latest_version_leaves_a_started_campaign_alone(sender_client, sender, newsletter, audience):
    campaign = sending_campaign(newsletter, sender)
    revision_id = campaign.revision_id
    newsletter.subject = "Summer news"
    newsletter.save_revision()
    response = sender_client.post(campaigns_url("send_checks", campaign.pk), {"use_latest_revision": "1"})
    assert response.url == campaigns_url("detail", campaign.pk)
    campaign.refresh_from_db()
    assert campaign.revision_id == revision_id and campaign.subject.startswith("Spring news")


def test_use_the_latest_version_of_a_deleted_newsletter_says_why_not(sender_client, sender, newsletter, audience):
    campaign = start_wizard(sender_client, newsletter)
    newsletter.delete()
    response = sender_client.post(campaigns_url("send_checks", campaign.pk), {"use_latest_revision": "1"}, follow=True)
    assert "The newsletter of this campaign no longer exists." in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and campaign.page is None


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


def test_confirm_and_campaign_pages_show_the_sites_default_sender_that_the_messages_will_carry(
    sender_client, archive, audience, settings
):
    settings.DEFAULT_FROM_EMAIL = "Club News <club@example.net>"
    newsletter = make_newsletter(archive, sender_name="", sender_email="")
    campaign = start_wizard(sender_client, newsletter)
    through_schedule(sender_client, campaign)
    page = sender_client.get(campaigns_url("send_confirm", campaign.pk)).content.decode()
    sender = campaign_sender(campaign)  # the worker's
    assert (sender.name, sender.address) == ("Club News", "club@example.net")
    assert "Club News &lt;club@example.net&gt;" in page and "(the site's default sender)" in page
    detail = sender_client.get(campaigns_url("detail", campaign.pk)).content.decode()
    assert "Club News &lt;club@example.net&gt;" in detail


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
