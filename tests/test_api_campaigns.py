"""The Python API's campaign functions: create from a page, audience by keywords, send / schedule / pause / resume /
cancel, wait, progress, statistics, and render_message — byte for byte what the worker sent through a real SMTP
server (aiosmtpd). Wrong state transitions and bad input raise and change nothing."""

import datetime
import email
import email.policy

import dkim
import pytest
from django.utils import timezone
from wagtail.models import Revision

from wagtail_newsletter import api
from wagtail_newsletter.audience.models import Field, Group, Membership, Status, Subscriber
from wagtail_newsletter.growth.segments import CampaignSegment, Segment
from wagtail_newsletter.send.dkim_signing import dns_record, generate_private_key
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, SenderDomain

from .compose_editor_fixtures import make_newsletter

pytestmark = pytest.mark.django_db


def people(count, group=None, prefix="reader", **fields):
    rows = Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.net", first_name=f"Reader{i}", status=Status.SUBSCRIBED, **fields)
         for i in range(count)]
    )  # fmt: skip
    rows = list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))
    if group is not None:
        Membership.objects.bulk_create([Membership(subscriber=s, group=group) for s in rows])
    return rows


@pytest.fixture
def groups():
    return {name: Group.objects.create(name=name) for name in ("Weekly news", "Friends", "Staff")}


def audience_of(campaign):
    campaign = Campaign.objects.get(pk=campaign.pk)
    return (
        campaign.all_subscribers,
        sorted(campaign.include_groups.values_list("name", flat=True)),
        sorted(campaign.exclude_groups.values_list("name", flat=True)),
        sorted(CampaignSegment.objects.filter(campaign=campaign).values_list("segment__name", "exclude")),
    )


# --- create, audience ---------------------------------------------------------------------------------------------


def test_create_campaign_with_its_own_subject(archive):
    page = make_newsletter(archive)
    campaign = api.create_campaign(page.pk, subject="Our {{ first_name }} special", name="April")
    assert (campaign.name, campaign.subject, campaign.status) == ("April", "Our {{ first_name }} special", "draft")
    assert campaign.revision.as_object().subject == "Our {{ first_name }} special"
    assert page.specific.__class__.objects.get(pk=page.pk).subject != campaign.subject  # the live page is unchanged


@pytest.mark.parametrize(
    "kwargs, error, field",
    [
        ({"subject": "Hello\r\nBcc: all@example.com"}, api.InvalidInput, "subject"),
        ({"subject": "  "}, api.InvalidInput, "subject"),
        ({"name": "x\n"  * 2 + "y"}, api.InvalidInput, "name"),
    ],
    ids=["subject-injection", "empty-subject", "name-line-break"],
)  # fmt: skip
def test_create_campaign_refuses_bad_input(archive, kwargs, error, field):
    page = make_newsletter(archive)
    revisions = Revision.objects.count()
    with pytest.raises(error) as raised:
        api.create_campaign(page, **kwargs)
    assert raised.value.field == field
    assert not Campaign.objects.exists() and Revision.objects.count() == revisions


def test_create_campaign_needs_a_newsletter_page(archive):
    with pytest.raises(api.InvalidInput, match="not a newsletter page"):
        api.create_campaign(archive)
    with pytest.raises(api.NotFound):
        api.create_campaign(987654)
    assert not Campaign.objects.exists()


def test_set_audience_by_keywords(archive, groups):
    people(3, groups["Weekly news"])
    people(2, groups["Friends"], prefix="friend")
    people(1, groups["Staff"], prefix="staff", data={"city": "Lyon"})
    Membership.objects.create(subscriber=Subscriber.objects.get(email="reader0@example.net"), group=groups["Staff"])
    Field.objects.create(label="City", key="city")
    lyon = Segment.objects.create(name="Lyon", conditions={"field": "data.city", "op": "is", "value": "Lyon"})
    campaign = api.create_campaign(make_newsletter(archive))

    assert api.set_audience(campaign, groups=["Weekly news", groups["Friends"].pk], exclude_groups=["Staff"]) == 4
    assert campaign.all_subscribers is False  # the object the caller holds follows (it may save it later)
    assert audience_of(campaign) == (False, ["Friends", "Weekly news"], ["Staff"], [])
    assert api.set_audience(campaign, segments=["Lyon"]) == 1
    assert audience_of(campaign) == (False, [], [], [("Lyon", False)])
    assert api.set_audience(campaign, all_subscribers=True, exclude_segments=[lyon]) == 5
    assert audience_of(campaign) == (True, [], [], [("Lyon", True)])


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"groups": ["Weekly news", "Nope"]}, api.NotFound),
        ({"groups": [123456]}, api.NotFound),
        ({"segments": ["Nope"]}, api.NotFound),
        ({"groups": ["Friends"], "exclude_groups": ["Friends"]}, api.InvalidInput),
        ({}, api.InvalidInput),
        ({"all_subscribers": True, "groups": ["Friends"]}, api.InvalidInput),
        ({"groups": [1.5]}, api.InvalidInput),
    ],
    ids=["unknown-group", "unknown-group-id", "unknown-segment", "chosen-and-excluded", "nothing", "all-and-groups",
         "odd-type"],
)  # fmt: skip
def test_set_audience_refuses_bad_input_and_keeps_the_audience(archive, groups, kwargs, error):
    campaign = api.create_campaign(make_newsletter(archive))
    api.set_audience(campaign, groups=["Weekly news"])
    before = audience_of(campaign)
    with pytest.raises(error):
        api.set_audience(campaign, **kwargs)
    assert audience_of(campaign) == before


# --- sending and its states -----------------------------------------------------------------------------------------


def sent_campaign(archive, smtp_server, capture, count=3):
    readers = Group.objects.create(name="Readers")
    people(count, readers)
    campaign = api.create_campaign(make_newsletter(archive))
    api.set_audience(campaign, groups=["Readers"])
    with capture(execute=True):  # django-q2 runs the send task inline (sync) once the start commits
        api.send(campaign)
    return campaign


def test_send_wait_progress_statistics(archive, smtp_server, django_capture_on_commit_callbacks):
    campaign = sent_campaign(archive, smtp_server, django_capture_on_commit_callbacks)
    done = api.wait(campaign, timeout=30)
    assert (done.status, done.total, done.sent, done.finished, done.percent) == ("sent", 3, 3, True, 100.0)
    assert isinstance(done, api.CampaignProgress) and done.started_at <= done.finished_at
    assert len(smtp_server.wait_for(3)) == 3
    stats = api.statistics(campaign, refresh=True)
    assert (stats.recipients, stats.sent, stats.delivered, stats.opens) == (3, 3, 3, 0)
    assert stats.open_rate == 0.0


def test_wrong_state_transitions_change_nothing(archive, smtp_server, django_capture_on_commit_callbacks):
    campaign = sent_campaign(archive, smtp_server, django_capture_on_commit_callbacks)
    before = Campaign.objects.filter(pk=campaign.pk).values().get()
    for action in (api.send, api.pause, api.resume, api.cancel):
        with pytest.raises(api.InvalidState) as raised:
            action(campaign)
        assert raised.value.code == "invalid_state" and raised.value.problems
    with pytest.raises(api.InvalidState, match="can't change once it has started"):
        api.set_audience(campaign, all_subscribers=True)
    with pytest.raises(api.InvalidState):
        api.schedule(campaign, timezone.now() + datetime.timedelta(hours=1))
    assert Campaign.objects.filter(pk=campaign.pk).values().get() == before


def test_draft_transitions(archive):
    people(2)
    campaign = api.create_campaign(make_newsletter(archive))
    api.set_audience(campaign, all_subscribers=True)
    for action in (api.pause, api.resume):
        with pytest.raises(api.InvalidState):
            action(campaign)
    with pytest.raises(api.InvalidInput, match="future"):
        api.schedule(campaign, timezone.now() - datetime.timedelta(minutes=1))
    with pytest.raises(api.InvalidInput, match="aware"):
        api.schedule(campaign, datetime.datetime(2030, 1, 1, 9, 0))
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT

    at = timezone.now() + datetime.timedelta(days=1)
    assert api.schedule(campaign, at).status == CampaignStatus.SCHEDULED
    assert api.progress(campaign).status == CampaignStatus.SCHEDULED
    with pytest.raises(api.WaitTimeout) as raised:
        api.wait(campaign, timeout=0.2, poll=0.05)
    assert raised.value.progress.status == CampaignStatus.SCHEDULED and not raised.value.progress.finished
    assert api.cancel(campaign).status == CampaignStatus.CANCELLED
    assert api.wait(campaign, timeout=1).finished


def test_send_refused_by_the_checks_lists_every_problem(archive):
    campaign = api.create_campaign(make_newsletter(archive, sender_email="news@unverified.test"))
    api.set_audience(campaign, all_subscribers=True)  # and nobody is subscribed
    with pytest.raises(api.InvalidState) as raised:
        api.send(campaign)
    assert len(raised.value.problems) == 2  # each of the wizard's problems
    assert "sender domain" in str(raised.value) and "No subscriber" in str(raised.value)
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT and not Delivery.objects.exists()


def test_pause_and_resume_a_sending_campaign(archive, monkeypatch):
    from wagtail_newsletter.send import dispatch

    monkeypatch.setattr(dispatch, "kick", lambda campaign_id, count=1: None)  # no worker: it stays sending
    people(2)
    campaign = api.create_campaign(make_newsletter(archive))
    api.set_audience(campaign, all_subscribers=True)
    api.send(campaign)
    with pytest.raises(api.InvalidInput):
        api.pause(campaign, reason="editor\r\nBcc: x")
    assert api.pause(campaign, reason="typo in the title").status == CampaignStatus.PAUSED
    assert campaign.status == CampaignStatus.PAUSED
    assert api.progress(campaign).note == "typo in the title"
    assert api.resume(campaign).status == CampaignStatus.SENDING
    assert api.cancel(campaign).status == CampaignStatus.CANCELLED
    assert api.progress(campaign).skipped == 2


def test_unknown_campaign():
    for call in (api.send, api.progress, api.statistics, api.cancel, lambda c: api.set_audience(c, groups=["x"])):
        with pytest.raises(api.NotFound):
            call(424242)


# --- render_message ---------------------------------------------------------------------------------------------------


def test_render_message_is_byte_for_byte_what_was_sent(archive, smtp_server, django_capture_on_commit_callbacks):
    key = generate_private_key()
    SenderDomain.objects.create(domain="example.org", selector="s1", private_key=key)
    campaign = sent_campaign(archive, smtp_server, django_capture_on_commit_callbacks)
    received = smtp_server.wait_for(3)
    assert len(received) == 3
    record = dns_record(key).encode()
    for message in received:
        raw = message["raw"]
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        at = parsed["Date"].datetime
        rendered = api.render_message(campaign, message["to"][0], at=at)
        assert rendered == raw
        assert dkim.verify(rendered, dnsfunc=lambda name, timeout=5: record)
    # Another time gives another Date and signature, nothing else.
    later = api.render_message(campaign, received[0]["to"][0], at=at + datetime.timedelta(seconds=61))
    assert later != raw and len(later) == len(raw)


def test_render_message_refusals(archive, smtp_server, django_capture_on_commit_callbacks):
    draft = api.create_campaign(make_newsletter(archive))
    people(1, prefix="draft")
    with pytest.raises(api.InvalidState, match="has not started"):
        api.render_message(draft, "draft0@example.net")
    campaign = sent_campaign(archive, smtp_server, django_capture_on_commit_callbacks, count=1)
    with pytest.raises(api.InvalidState, match="not a recipient"):
        api.render_message(campaign, "draft0@example.net")
    with pytest.raises(api.NotFound):
        api.render_message(campaign, "nobody@example.net")
    with pytest.raises(api.InvalidEmail):
        api.render_message(campaign, "not-an-address")
    with pytest.raises(api.InvalidInput):
        api.render_message(campaign, "reader0@example.net", at=datetime.datetime(2030, 1, 1))
