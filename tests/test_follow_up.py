"""Follow-up campaigns (growth/follow_ups.py and the wizard): exact audiences for non-openers, non-clickers and
newcomers, built from events through the aggregation; one INSERT … SELECT to plan them; the way through the send
wizard; refusals."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.growth import follow_ups
from wagtail_newsletter.growth.segments import Segment, segment_ids
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, FollowUp
from wagtail_newsletter.send.planner import plan_deliveries
from wagtail_newsletter.track.models import Agent, Event, EventKind

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    assert_refused,
    audience_fixture,
    campaigns_url,
    sender_client_fixture,
    sender_fixture,
    subscribe,
)
from .test_report_exports import deliveries, fold, hit, sent_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def original(archive, admin_user, audience):
    """Sent to ann, bob, cid, dan (audience) and fay, gil, hal, ida:

    ann opened and clicked; bob opened; cid's only open was Apple's privacy proxy; dan did nothing and unsubscribed
    since; fay's message failed; gil did nothing; hal clicked without an open being recorded (images off); ida's only
    click was a scanner's. After sending: new@ subscribed, eve (unsubscribed at the time) subscribed again, pen@ is
    pending."""
    for name in ("fay", "gil", "hal", "ida"):
        subscribe(f"{name}@example.net")
    campaign = sent_campaign(archive, admin_user)
    people = {email.split("@")[0]: delivery for email, delivery in deliveries(campaign).items()}
    Delivery.objects.filter(pk=people["fay"].pk).update(status=DeliveryStatus.FAILED, sent_at=None, error="550")
    hit(campaign, people["ann"], EventKind.OPEN, 10)
    hit(campaign, people["ann"], EventKind.CLICK, 11, link=0)
    hit(campaign, people["bob"], EventKind.OPEN, 20)
    hit(campaign, people["cid"], EventKind.OPEN, 5, agent=Agent.PRIVACY_PROXY)
    hit(campaign, people["hal"], EventKind.CLICK, 30, link=1)
    hit(campaign, people["ida"], EventKind.CLICK, 31, link=1, agent=Agent.SCANNER)
    fold()
    Subscriber.objects.filter(email="dan@example.net").update(status=Status.UNSUBSCRIBED)
    subscribe("new@example.net")
    subscribe("pen@example.net", status=Status.PENDING)
    Subscriber.objects.filter(email="eve@example.net").update(status=Status.SUBSCRIBED)
    return campaign


def names(queryset):
    return sorted(email.split("@")[0] for email in queryset.values_list("email", flat=True))


def planned(campaign):
    return sorted(
        email.split("@")[0]
        for email in Delivery.objects.filter(campaign=campaign).values_list("subscriber__email", flat=True)
    )


EXPECTED = {
    FollowUp.NON_OPENERS: ["cid", "gil", "ida"],  # machine-only opens don't count; hal's click implies an open
    FollowUp.NON_CLICKERS: ["bob", "cid", "gil", "ida"],  # ida's scanner click is not hers
    FollowUp.NEWCOMERS: ["eve", "new"],  # fay got a (failed) delivery; pen is not confirmed
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_follow_up_audiences_are_exact(original, admin_user, kind):
    assert names(follow_ups.preview_recipients(original, kind)) == EXPECTED[kind]
    draft = follow_ups.create_follow_up(original, kind, admin_user)
    assert (draft.follow_up_of, draft.follow_up, draft.status) == (original, kind, CampaignStatus.DRAFT)
    assert draft.revision_id == original.revision_id and draft.subject == original.subject
    assert names(campaigns.campaign_recipients(draft)) == EXPECTED[kind]
    assert campaigns.count_recipients_of(draft) == len(EXPECTED[kind])
    Campaign.objects.filter(pk=draft.pk).update(status=CampaignStatus.SENDING)
    with CaptureQueriesContext(connection) as queries:
        assert plan_deliveries(draft) == len(EXPECTED[kind])
    assert [q["sql"].split()[0] for q in queries.captured_queries if "INSERT" in q["sql"]] == ["INSERT"]
    assert planned(draft) == EXPECTED[kind]


def test_people_unsubscribed_or_deleted_since_are_left_out(original, admin_user):
    Subscriber.objects.filter(email="gil@example.net").update(status=Status.BOUNCED)
    Subscriber.all_objects.filter(email="cid@example.net").update(deleted_at=timezone.now())
    assert names(follow_ups.preview_recipients(original, FollowUp.NON_OPENERS)) == ["ida"]


def test_newcomers_respect_the_groups_and_earlier_follow_ups(archive, admin_user, audience):
    """A campaign to Readers (ann, bob): newcomers are new Readers only (not new Friends); a newcomers follow-up of
    that follow-up also leaves out the people the first campaign reached."""
    from .compose_editor_fixtures import make_newsletter

    newsletter = make_newsletter(archive, title="Readers news", slug="readers-news")
    campaign = campaigns.create_campaign(newsletter, admin_user)
    campaigns.set_audience(campaign, False, [audience["readers"].pk], [audience["friends"].pk])
    campaigns.send_now(campaign, admin_user)
    campaign.refresh_from_db()
    assert planned(campaign) == ["ann"]  # bob is also a Friend: excluded
    subscribe("ron@example.net", audience["readers"])
    subscribe("sam@example.net", audience["friends"])
    subscribe("ted@example.net", audience["readers"], audience["friends"])
    assert names(follow_ups.preview_recipients(campaign, FollowUp.NEWCOMERS)) == ["ron"]

    first = follow_ups.create_follow_up(campaign, FollowUp.NEWCOMERS, admin_user)
    assert list(first.include_groups.all()) == [audience["readers"]]
    assert list(first.exclude_groups.all()) == [audience["friends"]]
    campaigns.send_now(first, admin_user)
    first.refresh_from_db()
    assert planned(first) == ["ron"]
    subscribe("una@example.net", audience["readers"])
    second = follow_ups.create_follow_up(first, FollowUp.NEWCOMERS, admin_user)
    assert follow_ups.campaign_chain_ids(second) == [second.pk, first.pk, campaign.pk]
    assert names(campaigns.campaign_recipients(second)) == ["una"]  # not ann, who got the first campaign


def test_a_follow_up_goes_through_the_wizard(sender_client, original):
    page = sender_client.get(campaigns_url("detail", original.pk))
    assert page.status_code == 200
    url = f"/admin/newsletter/campaigns/{original.pk}/follow-up/non_openers/"
    preview = sender_client.get(url).content.decode()
    assert "did not open it" in preview and "<strong data-follow-up-count>3</strong>" in preview
    assert Campaign.objects.filter(follow_up_of=original).count() == 0  # a GET creates nothing

    response = sender_client.post(url)
    draft = Campaign.objects.get(follow_up_of=original)
    assert response.status_code == 302 and response.url == campaigns_url("send_recipients", draft.pk)
    step1 = sender_client.get(response.url).content.decode()
    assert "did not open it" in step1 and 'name="include_groups"' not in step1
    assert "<strong data-recipient-count-value>3</strong>" in step1

    response = sender_client.post(response.url, {"name": "Spring, again"})
    assert response.status_code == 302 and response.url == campaigns_url("send_checks", draft.pk)
    assert sender_client.post(campaigns_url("send_checks", draft.pk), {"accept_warnings": "on"}).status_code == 302
    assert sender_client.post(campaigns_url("send_schedule", draft.pk), {"when": "now"}).status_code == 302
    confirm = sender_client.get(campaigns_url("send_confirm", draft.pk)).content.decode()
    assert "did not open it" in confirm and "3 subscribers" in confirm
    assert sender_client.post(campaigns_url("send_confirm", draft.pk)).status_code == 302
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.SENDING and draft.name == "Spring, again" and draft.recipient_count == 3
    assert planned(draft) == EXPECTED[FollowUp.NON_OPENERS]
    assert "did not open it" in sender_client.get(campaigns_url("detail", draft.pk)).content.decode()  # its page


def test_segments_narrow_a_follow_up_and_leave_people_out(sender_client, original, admin_user):
    """Of the non-openers (cid, gil, ida), only those of "c or g", without "cid": gil, counted and planned."""
    starts = {"or": [{"field": "email", "op": "starts_with", "value": "c"},
                     {"field": "email", "op": "starts_with", "value": "g"}]}  # fmt: skip
    c_or_g = Segment.objects.create(name="C or G", conditions=starts)
    cid = Segment.objects.create(name="Cid", conditions={"field": "email", "op": "is", "value": "cid@example.net"})
    draft = follow_ups.create_follow_up(original, FollowUp.NON_OPENERS, admin_user)
    step1 = campaigns_url("send_recipients", draft.pk)
    assert 'name="include_segments"' in sender_client.get(step1).content.decode()
    both = {"name": "Again", "include_segments": [cid.pk], "exclude_segments": [cid.pk]}
    assert "both chosen and excepted" in sender_client.post(step1, both).content.decode()
    assert segment_ids(draft) == ([], [])  # refused: nothing stored
    response = sender_client.post(step1, {"name": "Again", "include_segments": [c_or_g.pk],
                                          "exclude_segments": [cid.pk]})  # fmt: skip
    assert response.status_code == 302
    assert segment_ids(draft) == ([c_or_g.pk], [cid.pk])
    assert campaigns.count_recipients_of(draft) == 1
    assert f'value="{c_or_g.pk}"' in sender_client.get(step1).content.decode()
    campaigns.start(draft, campaigns.compile_campaign(draft))
    assert planned(draft) == ["gil"]


def test_the_follow_up_page_folds_the_latest_events_first(sender_client, original):
    """An open recorded a moment ago (not yet folded by the schedule) already takes gil out of the non-openers."""
    gil = Delivery.objects.get(campaign=original, subscriber__email="gil@example.net")
    hit(original, gil, EventKind.OPEN, 100)
    preview = sender_client.get(f"/admin/newsletter/campaigns/{original.pk}/follow-up/non_openers/").content.decode()
    assert "<strong data-follow-up-count>2</strong>" in preview


def test_a_follow_up_matching_nobody_is_refused_at_step_one(sender_client, original, admin_user):
    Subscriber.objects.filter(email__in=["cid@example.net", "gil@example.net", "ida@example.net"]).update(
        status=Status.UNSUBSCRIBED
    )
    draft = follow_ups.create_follow_up(original, FollowUp.NON_OPENERS, admin_user)
    response = sender_client.post(campaigns_url("send_recipients", draft.pk), {"name": "Again"})
    assert response.status_code == 200 and "Nobody would get this follow-up" in response.content.decode()


def test_refusals(sender_client, editor_without_page_rights, original):
    viewer = Client()
    viewer.force_login(editor_without_page_rights)
    url = f"/admin/newsletter/campaigns/{original.pk}/follow-up/"
    assert sender_client.get(url + "everyone/").status_code == 404
    assert sender_client.post(url + "everyone/").status_code == 404
    assert sender_client.get("/admin/newsletter/campaigns/999999/follow-up/non_openers/").status_code == 404
    assert_refused(viewer, "get", url + "non_openers/")
    assert_refused(viewer, "post", url + "non_openers/")
    assert Campaign.objects.filter(follow_up_of=original).count() == 0

    draft = Campaign.objects.create(name="Not sent", page=original.page, revision=original.revision)
    with pytest.raises(follow_ups.FollowUpError):
        follow_ups.create_follow_up(draft, FollowUp.NON_OPENERS)
    with pytest.raises(follow_ups.FollowUpError):
        follow_ups.create_follow_up(original, "everyone")
    response = sender_client.post(f"/admin/newsletter/campaigns/{draft.pk}/follow-up/non_openers/")
    assert response.status_code == 302 and not Campaign.objects.filter(follow_up_of=draft).exists()

    Campaign.objects.filter(pk=original.pk).update(track_opens=False, tracking_enabled=False)
    response = sender_client.post(url + "non_openers/")
    assert response.status_code == 302 and not Campaign.objects.filter(follow_up_of=original).exists()


def test_the_follow_up_keeps_the_original_version(original, admin_user):
    """Even after the newsletter is edited (the checklist then offers the latest version), or its revision purged."""
    page = original.page.specific
    page.subject = "Changed since"
    page.save_revision()
    draft = follow_ups.create_follow_up(original, FollowUp.NON_CLICKERS, admin_user)
    assert draft.revision_id == original.revision_id and draft.subject == original.subject
    Campaign.objects.filter(pk=original.pk).update(revision=None)
    original.refresh_from_db()
    draft = follow_ups.create_follow_up(original, FollowUp.NON_CLICKERS, admin_user)
    assert draft.revision_id == page.latest_revision_id


def test_a_follow_up_whose_original_was_deleted_goes_to_nobody(original, admin_user):
    draft = follow_ups.create_follow_up(original, FollowUp.NON_OPENERS, admin_user)
    original.delete()
    draft.refresh_from_db()
    assert draft.follow_up_of is None and campaigns.count_recipients_of(draft) == 0
    assert "No subscriber matches" in " ".join(str(p) for p in campaigns.check_can_send(draft))


def test_timing_rule_makes_an_early_open_machine(original, admin_user):
    """An open a second after sending (a gateway's pre-fetch) leaves gil a non-opener."""
    gil = deliveries(original)["gil@example.net"]
    Event.objects.create(campaign=original, delivery=gil, kind=EventKind.OPEN, at=gil.sent_at + timedelta(seconds=1))
    fold()
    assert "gil" in names(follow_ups.preview_recipients(original, FollowUp.NON_OPENERS))
