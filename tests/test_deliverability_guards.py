"""Sending guards (deliverability/guards.py): a campaign is refused before sending when its audience's recent
hard-bounce or complaint rate is over the line, and pauses by itself while sending when its own rates cross it.
The rates are counted from the deliveries and the event log the sending engine and the bounce effects write."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from wagtail_newsletter.audience.models import Group, Membership, Status, Subscriber
from wagtail_newsletter.deliverability import effects, guards
from wagtail_newsletter.deliverability import sample_mail as build
from wagtail_newsletter.deliverability.classify import classify
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.mime import message_id, verp_return_path
from wagtail_newsletter.send.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    PauseCause,
)

from .campaign_admin_fixtures import campaigns_url, sending_campaign
from .compose_editor_fixtures import make_newsletter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def guard_settings(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "GUARD_MIN_SENT": 20}


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.org", "x")


def members(group, count, prefix):
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{n}@example.net", status=Status.SUBSCRIBED) for n in range(count)]
    )
    people = list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))
    Membership.objects.bulk_create([Membership(subscriber=person, group=group) for person in people])
    return people


def past_campaign(people, days_ago=3, hard=0, complaints=0, status=DeliveryStatus.SENT):
    """A campaign started ``days_ago`` to ``people``: the first ``hard`` hard-bounced (and are bounced now), the
    next ``complaints`` complained."""
    started = timezone.now() - timedelta(days=days_ago)
    campaign = Campaign.objects.create(name=f"Past {days_ago}", status=CampaignStatus.SENT, started_at=started)
    Delivery.objects.bulk_create(
        [Delivery(campaign=campaign, subscriber=person, status=status, sent_at=started) for person in people]
    )
    deliveries = list(Delivery.objects.filter(campaign=campaign).order_by("subscriber_id"))
    kinds = [EventKind.HARD_BOUNCE] * hard + [EventKind.COMPLAINT] * complaints
    pairs = zip(deliveries, kinds, strict=False)  # the first len(kinds) deliveries
    Event.objects.bulk_create([Event(campaign=campaign, delivery=d, kind=kind, at=started) for d, kind in pairs])
    Subscriber.objects.filter(pk__in=[p.pk for p in people[:hard]]).update(status=Status.BOUNCED)
    return campaign


def draft_to(archive, editor, *groups, exclude=()):
    campaign = campaigns.create_campaign(make_newsletter(archive), editor)
    campaigns.set_audience(campaign, not groups, [g.pk for g in groups], [g.pk for g in exclude])
    return campaign


# --- before sending ---------------------------------------------------------------------------------------------------


def test_an_audience_whose_recent_hard_bounces_are_over_the_line_is_refused_with_the_numbers(archive, editor):
    readers, friends = Group.objects.create(name="Readers"), Group.objects.create(name="Friends")
    people = members(readers, 40, "reader")
    past_campaign(people, hard=3)  # 3 of 40: 7.5 %, the bounced three are not subscribed any more but still count
    members(friends, 30, "friend")
    draft = draft_to(archive, editor, readers)

    problems = campaigns.check_can_send(draft, editor)
    expected = "7.5 % of this audience's messages hard-bounced in the last 30 days (3 of 40); the limit is 5 %."
    assert len(problems) == 1 and problems[0].startswith(expected)
    with pytest.raises(campaigns.CampaignError, match="7.5 %"):
        campaigns.send_now(draft, editor)
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.DRAFT and not Delivery.objects.filter(campaign=draft).exists()
    # Another audience (the friends) has no such history; all subscribers together: 3 of 40 messages still.
    assert campaigns.check_can_send(draft_to(archive, editor, friends), editor) == []
    assert guards.audience_rates(draft_to(archive, editor)) == guards.Rates(40, 3, 0)
    # The readers minus a group holding two of the bounced: 1 of 38 (2.6 %): under the line.
    some = Group.objects.create(name="Some")
    Membership.objects.bulk_create([Membership(subscriber=p, group=some) for p in people[:2]])
    assert guards.audience_rates(draft_to(archive, editor, readers, exclude=[some])) == guards.Rates(38, 1, 0)
    assert campaigns.check_can_send(draft_to(archive, editor, readers, exclude=[some]), editor) == []


def test_old_campaigns_and_small_audiences_have_no_rate(archive, editor, settings):
    readers = Group.objects.create(name="Readers")
    people = members(readers, 40, "reader")
    past_campaign(people, days_ago=31, hard=10)  # outside the 30-day window
    draft = draft_to(archive, editor, readers)
    assert guards.audience_rates(draft) == guards.Rates(0, 0, 0)
    assert campaigns.check_can_send(draft, editor) == []
    past_campaign(people[:19], days_ago=2, hard=5)  # 19 messages: fewer than GUARD_MIN_SENT (20)
    assert guards.audience_rates(draft).rate(5) is None
    assert campaigns.check_can_send(draft, editor) == []
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "GUARD_WINDOW_DAYS": 40}
    assert guards.audience_rates(draft) == guards.Rates(59, 15, 0)
    assert len(campaigns.check_can_send(draft, editor)) == 1
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "GUARD_HARD_BOUNCE_RATE": None}  # guard off
    assert campaigns.check_can_send(draft, editor) == []


def test_complaints_over_a_tenth_of_a_percent_refuse_the_send(archive, editor):
    readers = Group.objects.create(name="Readers")
    people = members(readers, 400, "reader")
    past_campaign(people, complaints=1)  # 1 of 400: 0.25 %
    problems = campaigns.check_can_send(draft_to(archive, editor, readers), editor)
    assert len(problems) == 1
    assert problems[0].startswith(
        "0.25 % of this audience's messages were reported as spam in the last 30 days (1 of 400); the limit is 0.1 %."
    )


def test_the_wizard_checklist_shows_the_refusal(archive, editor, client):
    readers = Group.objects.create(name="Readers")
    past_campaign(members(readers, 40, "reader"), hard=3)
    draft = draft_to(archive, editor, readers)
    client.force_login(editor)
    page = client.get(campaigns_url("send_checks", draft.pk)).content.decode()
    assert "7.5 % of this audience&#x27;s messages hard-bounced in the last 30 days (3 of 40)" in page


# --- while sending ----------------------------------------------------------------------------------------------------


@pytest.fixture
def sending(archive, editor):
    """A campaign to 40 subscribers, still sending, all 40 messages out: (campaign, [(delivery, email)])."""
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{n}@example.net", status=Status.SUBSCRIBED) for n in range(40)]
    )
    campaign = sending_campaign(make_newsletter(archive), editor)
    deliveries = Delivery.objects.filter(campaign=campaign).select_related("subscriber").order_by("pk")
    deliveries.update(status=DeliveryStatus.SENT, sent_at=timezone.now())
    return campaign, [(d, d.subscriber.email) for d in deliveries]


def returned(delivery, email, complaint=False):
    """A DSN (or an ARF complaint) about ``delivery`` to its VERP address, classified."""
    verp = verp_return_path(delivery.pk, "example.org")
    original = build.newsletter(email, return_path=verp, message_id=message_id(delivery.pk, "example.org"))
    if complaint:
        return classify(build.arf(original, mail_from=verp))
    return classify(build.dsn([(email, "failed", "5.1.1", "550 5.1.1 User unknown")], to=verp, original=original))


def apply(verdict):
    with transaction.atomic():
        return effects.apply_verdict(verdict)


def test_a_campaign_pauses_itself_when_its_hard_bounces_cross_the_line(sending, django_capture_on_commit_callbacks):
    campaign, deliveries = sending
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = [apply(returned(*deliveries[n])).outcome for n in range(3)]
    # 1 and 2 of 40 are within 5 %; 3 of 40 is over it.
    assert outcomes[:2] == ["subscriber bounced", "subscriber bounced"]
    assert outcomes[2] == "subscriber bounced; campaign paused (bounce_guard)"
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_cause) == (CampaignStatus.PAUSED, PauseCause.BOUNCE_GUARD)
    assert campaign.status_note.startswith(
        "Paused by the bounce guard: 7.5 % of this campaign's messages hard-bounced (3 of 40); the limit is 5 %."
    )
    assert [m.to for m in mail.outbox] == [["editor@example.org"]]
    assert "3 of 40" in mail.outbox[0].body
    # More bounces while paused change nothing more; resuming is the editor's decision and clears the cause.
    assert apply(returned(*deliveries[3])).outcome == "subscriber bounced"
    campaigns.resume(campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_cause, campaign.status_note) == (CampaignStatus.SENDING, "", "")


def test_one_complaint_in_forty_pauses_the_campaign(sending):
    campaign, deliveries = sending
    assert apply(returned(*deliveries[0], complaint=True)).outcome.endswith("campaign paused (complaint_guard)")
    campaign.refresh_from_db()
    assert campaign.pause_cause == PauseCause.COMPLAINT_GUARD
    assert "2.5 % of this campaign's messages were reported as spam (1 of 40); the limit is 0.1 %" in (
        campaign.status_note
    )


def test_no_guard_below_the_minimum_of_messages_out(sending):
    campaign, deliveries = sending
    Delivery.objects.filter(pk__in=[d.pk for d, _email in deliveries[19:]]).update(
        status=DeliveryStatus.QUEUED, sent_at=None
    )  # 19 out
    for n in range(5):
        assert apply(returned(*deliveries[n])).outcome == "subscriber bounced"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING and campaign.pause_cause == ""


def test_rates_count_each_message_once(sending):
    campaign, deliveries = sending
    delivery, email = deliveries[0]
    apply(returned(delivery, email))
    Event.objects.create(campaign=campaign, delivery=delivery, kind=EventKind.HARD_BOUNCE)  # e.g. from an ESP too
    assert guards.campaign_rates(campaign.pk) == guards.Rates(40, 1, 0)


def test_percentages_read_well():
    assert [guards.percent(v) for v in (0.05, 0.075, 0.042, 0.0025, 0.001, 0.0015, 1)] == [
        "5 %", "7.5 %", "4.2 %", "0.25 %", "0.1 %", "0.15 %", "100 %",
    ]  # fmt: skip
