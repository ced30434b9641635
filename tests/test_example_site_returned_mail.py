"""The example site's ``demo_activity`` makes mail come back about its sample campaign and the follow-up to its
non-openers (example_site/home/returned_mail.py): real DSNs, an ARF complaint, vacation notices and a mail to the
List-Unsubscribe address about real deliveries, taken in by the real intake — so "Messages received", the
subscribers' statuses and histories, the campaign reports, "Repeated soft bounces" and the guards show them. A second
run takes nothing again (the intake knows each message by its digest). Also the example site's sender domain and
spam score settings."""

import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import escape
from home import returned_mail

from wagtail_newsletter.compose.compiled import compile_page
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.deliverability import guards
from wagtail_newsletter.deliverability.intake import digest_of, take_message
from wagtail_newsletter.deliverability.models import InboundMessage, InboundVia
from wagtail_newsletter.deliverability.soft_bounces import repeated_soft_bounces
from wagtail_newsletter.deliverability.spam_score import page_spam_checks
from wagtail_newsletter.models import Group, Source, Status, StatusEvent, Subscriber
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, Delivery, SenderDomain
from wagtail_newsletter.send.sender_domains import ASSUMED, row_state, sender_domain_checks
from wagtail_newsletter.track import stats
from wagtail_newsletter.track.models import Event

from .spamd_server import spamd_fixture  # noqa: F401 (fixture)
from .test_example_settings import example_settings

pytestmark = pytest.mark.django_db

SAMPLE, FOLLOW_UP = "Welcome issue (sample report)", "Welcome issue (sample report) — to non-openers"


@pytest.fixture
def demo(db):
    call_command("setup_demo", stdout=io.StringIO())
    call_command("demo_activity", stdout=io.StringIO())


@pytest.fixture
def admin_client(client, demo):
    assert client.login(username="admin", password="admin")
    return client


def who(cls, campaign=SAMPLE):
    """The recipients of the returned messages of class ``cls`` about ``campaign``."""
    rows = InboundMessage.objects.filter(cls=cls, campaign__name=campaign).order_by("id")
    return [row.recipients for row in rows]


def counts():
    return {
        model.__name__: model._default_manager.count()
        for model in (InboundMessage, Event, StatusEvent, Subscriber, Campaign, Delivery)
    }


def test_messages_received_lists_the_returned_mail_with_its_classes(admin_client):
    rows = InboundMessage.objects.all()
    assert Counter((row.campaign.name, row.cls) for row in rows) == {
        (SAMPLE, "hard"): 2, (SAMPLE, "soft"): 3, (SAMPLE, "transient"): 1, (SAMPLE, "complaint"): 1,
        (SAMPLE, "none"): 1, (SAMPLE, "unsubscribe"): 1, (FOLLOW_UP, "soft"): 2, (FOLLOW_UP, "none"): 1,
    }  # fmt: skip
    # Each is about the very delivery it names (its VERP token, Message-ID or List-Unsubscribe token).
    assert all(row.delivery.campaign_id == row.campaign_id and row.via == InboundVia.COMMAND for row in rows)
    assert all(row.delivery.subscriber.email == row.recipients for row in rows if row.recipients)
    assert set(InboundMessage.objects.filter(cls="hard").values_list("status", flat=True)) == {"5.1.1"}
    assert set(InboundMessage.objects.filter(cls="soft").values_list("status", flat=True)) == {"5.2.2"}
    page = admin_client.get(reverse("newsletter_inbound_messages:index")).content.decode()
    shown = ("Hard bounce", "Soft bounce", "Temporary failure", "Complaint", "Not a bounce", "Unsubscribe by mail",
             "subscriber bounced", "subscriber complained", "soft bounce 2/7", who("hard")[0])  # fmt: skip
    assert [words for words in shown if words not in page] == []


def test_a_hard_bounce_makes_its_subscriber_bounced_with_a_history_entry(admin_client):
    bounced = Subscriber.objects.get(email=who("hard")[0])
    assert bounced.status == Status.BOUNCED
    entry = bounced.status_events.get(new_status=Status.BOUNCED)
    assert entry.old_status == Status.SUBSCRIBED and entry.source == Source.BOUNCE
    assert entry.note.startswith(f"{SAMPLE}: 5.1.1 550 5.1.1 <{bounced.email}>")
    page = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_subscriber:edit", args=[bounced.pk]))
    assert escape(entry.note) in page.content.decode()
    complainer = Subscriber.objects.get(email=who("complaint")[0])
    assert complainer.status == Status.COMPLAINED and complainer.status_events.filter(source=Source.COMPLAINT).exists()
    leaver = InboundMessage.objects.get(cls="unsubscribe").delivery.subscriber
    assert leaver.status == Status.UNSUBSCRIBED and "mailto" in leaver.status_events.get(new_status="unsubscribed").note
    # A full mailbox, a delay or a vacation notice changes no status.
    unchanged = InboundMessage.objects.filter(cls__in=("soft", "transient", "none")).values("delivery__subscriber")
    assert set(Subscriber.objects.filter(pk__in=unchanged).values_list("status", flat=True)) == {"subscribed"}


def test_the_follow_up_to_non_openers_leaves_out_who_bounced_complained_or_unsubscribed(demo):
    follow_up = Campaign.objects.get(name=FOLLOW_UP)
    assert follow_up.follow_up_of.name == SAMPLE and follow_up.recipient_count > 0
    gone = who("hard") + who("complaint") + [InboundMessage.objects.get(cls="unsubscribe").delivery.subscriber.email]
    assert not Delivery.objects.filter(campaign=follow_up, subscriber__email__in=gone).exists()
    assert who("soft", FOLLOW_UP) == who("soft")[:2]
    away = InboundMessage.objects.filter(cls="none").values_list("delivery__subscriber", flat=True)
    assert len(away) == 2 and len(set(away)) == 1  # the same person is away for both


def test_the_campaign_reports_count_the_bounces_and_the_complaint(admin_client):
    sample = Campaign.objects.get(name=SAMPLE)
    report = stats.campaign_report(sample)
    # Refused by the relay (failed deliveries) and bounced later (two DSNs) are both hard bounces, counted once each.
    assert report.failed > 0 and report.hard_bounces == report.failed + 2
    assert (report.soft_bounces, report.complaints) == (3, 1)
    assert guards.blocked_and_delayed(sample.pk) == (0, 1)  # the delay warning
    assert stats.campaign_report(Campaign.objects.get(name=FOLLOW_UP)).soft_bounces == 2
    page = admin_client.get(reverse("newsletter_campaigns:report", args=[sample.pk]))
    assert page.status_code == 200 and SAMPLE in page.content.decode()


def test_repeated_soft_bounces_lists_the_full_mailboxes_of_both_campaigns(admin_client):
    listed = {subscriber.email: subscriber.recent_soft_bounces for subscriber in repeated_soft_bounces()}
    assert listed == dict.fromkeys(who("soft")[:2], 2)
    page = admin_client.get(reverse("newsletter_soft_bounces:index")).content.decode()
    assert all(email in page for email in listed) and "2 (limit 7)" in page


def test_a_second_run_adds_nothing_and_the_intake_knows_every_message_by_its_digest(demo):
    before = counts()
    statuses = dict(Subscriber.objects.values_list("email", "status"))
    call_command("demo_activity", stdout=io.StringIO())
    assert counts() == before and dict(Subscriber.objects.values_list("email", "status")) == statuses
    # The messages are the same bytes each time: the intake has every digest and takes none again.
    sample = Campaign.objects.get(name=SAMPLE)
    earlier = returned_mail.first_returns(sample)
    again = earlier + returned_mail.follow_up_returns(Campaign.objects.get(name=FOLLOW_UP), earlier)
    raws = [returned_mail.raw_message(returned) for returned in again]
    assert {digest_of(raw) for raw, _to in raws} == set(InboundMessage.objects.values_list("digest", flat=True))
    assert [take_message(raw, InboundVia.COMMAND, envelope_recipients=to) for raw, to in raws] == [None] * 12
    assert counts() == before


def test_after_the_sample_complaint_the_guard_refuses_the_sample_readers_but_not_weekly_news(demo):
    campaign = campaigns.create_campaign(NewsletterPage.objects.get(title="Welcome issue"))
    campaigns.set_audience(campaign, False, [Group.objects.get(name="Sample readers").pk])
    [refusal] = guards.send_check(campaign, 0)
    assert "reported as spam" in refusal and "(1 of " in refusal and "the limit is 0.1 %" in refusal
    campaigns.set_audience(campaign, False, [Group.objects.get(name="Weekly news").pk])
    assert guards.send_check(campaign, 0) == []


def test_the_demo_sender_domain_is_assumed_verified_and_its_page_shows_the_records(admin_client, settings):
    *_, example_newsletter, _admin_url = example_settings(NEWSLETTER_BASE_URL=None)
    settings.WAGTAIL_NEWSLETTER = example_newsletter
    domain = SenderDomain.objects.get(domain="example.org")
    assert row_state(domain).state == ASSUMED and sender_domain_checks("news@example.org") == []
    page = admin_client.get(reverse("newsletter_sender_domains:edit", args=[domain.pk]))
    html = page.content.decode()
    assert "treated as verified by the ASSUME_VERIFIED_DOMAINS setting" in html
    assert "newsletter._domainkey.example.org" in html  # the DKIM record a real domain would publish


def test_the_example_site_reads_spamd_from_the_environment():
    assert "SPAMD" not in example_settings(SPAMD=None)[2]
    assert example_settings(SPAMD="127.0.0.1:7830")[2]["SPAMD"] == {"HOST": "127.0.0.1", "PORT": 7830}
    assert example_settings(SPAMD="spamd.internal")[2]["SPAMD"] == {"HOST": "spamd.internal", "PORT": 783}


def test_with_spamd_the_welcome_issue_checklist_shows_a_low_spam_score(db, settings, spamd):
    *_, example_newsletter, _admin_url = example_settings(NEWSLETTER_BASE_URL=None, SPAMD=f"{spamd.host}:{spamd.port}")
    settings.WAGTAIL_NEWSLETTER = example_newsletter
    call_command("setup_demo", stdout=io.StringIO())
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    [check] = page_spam_checks(newsletter, compile_page(newsletter))
    assert check.code == "spam-score" and check.level == "info", (check.code, check.message)
