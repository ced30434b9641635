"""Only verified sender domains send: a From address on no sender domain, or on one never verified, is refused
(campaigns, scheduled starts and test sends); a verified domain whose records fail may send for 30 days
(SENDER_DOMAIN_GRACE_DAYS), with a warning, then not; the schedule re-checks every domain."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from wagtail_newsletter.schedules import ensure_schedules
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import CampaignStatus, Delivery, SenderDomain
from wagtail_newsletter.send.sender_domains import (
    ASSUMED,
    BLOCKED,
    FAILING,
    sender_domain_checks,
    sender_domain_problem,
    sender_domain_state,
)
from wagtail_newsletter.send.test_send import sender_problems

from .compose_editor_fixtures import archive, make_newsletter  # noqa: F401 (fixture)
from .dns_server import DnsServer
from .sender_domain_fixtures import (  # noqa: F401 (fixtures)
    dns_settings_fixture,
    dns_zones_fixture,
    good_key_fixture,
    other_key_fixture,
    sender_domain,
)
from .test_send_engine import make_subscribers

pytestmark = pytest.mark.django_db

NOT_ON_A_DOMAIN = "is not on a sender domain"
NOT_VERIFIED = "is not verified yet"
FAILING_SINCE = "have been failing since"
CANNOT_SEND = "it cannot send until they are fixed"


def campaign_from(archive, address):  # noqa: F811
    make_subscribers(2)
    campaign = campaigns.create_campaign(make_newsletter(archive, sender_email=address))
    campaigns.set_audience(campaign, True)
    return campaign


def verified(domain, key):
    from wagtail_newsletter.deliverability.domain_checks import check_sender_domain

    row = check_sender_domain(sender_domain(domain, key).pk)
    assert row.dns_verified_at is not None, row.dns_checks
    return row


def test_address_on_no_sender_domain_is_refused(archive):  # noqa: F811
    campaign = campaign_from(archive, "news@nowhere.test")
    assert any(NOT_ON_A_DOMAIN in problem for problem in campaigns.check_can_send(campaign))
    with pytest.raises(campaigns.CampaignError, match=NOT_ON_A_DOMAIN):
        campaigns.send_now(campaign)
    assert not Delivery.objects.exists()


def test_domain_never_verified_is_refused(archive, good_key):  # noqa: F811
    sender_domain("fresh.test", good_key)
    campaign = campaign_from(archive, "news@fresh.test")
    with pytest.raises(campaigns.CampaignError, match=NOT_VERIFIED):
        campaigns.send_now(campaign)


def test_verified_domain_sends(archive, dns_settings, good_key, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    verified("good.test", good_key)
    campaign = campaign_from(archive, "news@good.test")
    assert campaigns.check_can_send(campaign) == []
    assert sender_domain_checks("news@good.test") == []
    with django_capture_on_commit_callbacks(execute=True):  # the workers are kicked after commit
        campaigns.send_now(campaign)
    campaign.refresh_from_db()
    assert campaign.status in (CampaignStatus.SENDING, CampaignStatus.SENT)
    assert len(mail.outbox) == 2


def test_records_gone_warn_for_thirty_days_then_the_domain_cannot_send(archive, dns_settings, good_key):  # noqa: F811
    from wagtail_newsletter.deliverability.domain_checks import check_sender_domain

    row = verified("good.test", good_key)
    with DnsServer([]) as empty:
        dns_settings.WAGTAIL_NEWSLETTER_DNS_RESOLVERS = [empty.address]
        row = check_sender_domain(row.pk)
    campaign = campaign_from(archive, "news@good.test")
    assert sender_domain_state("news@good.test").state == FAILING
    assert campaigns.check_can_send(campaign) == []  # still within the grace period…
    [warning] = sender_domain_checks("news@good.test")
    assert warning.level == "warning" and FAILING_SINCE in warning.message  # …with a warning

    in_29_days = row.dns_failing_since + timedelta(days=29, hours=23)
    assert sender_domain_problem("news@good.test", now=in_29_days) is None
    SenderDomain.objects.filter(pk=row.pk).update(dns_failing_since=timezone.now() - timedelta(days=30, minutes=1))
    assert sender_domain_state("news@good.test").state == BLOCKED
    with pytest.raises(campaigns.CampaignError, match=CANNOT_SEND):
        campaigns.send_now(campaign)


def test_grace_period_follows_its_setting(archive, settings, good_key):  # noqa: F811
    settings.WAGTAIL_NEWSLETTER_SENDER_DOMAIN_GRACE_DAYS = 5
    now = timezone.now()
    sender_domain("good.test", good_key)
    SenderDomain.objects.update(dns_verified_at=now - timedelta(days=10), dns_failing_since=now - timedelta(days=6))
    assert sender_domain_state("news@good.test").state == BLOCKED
    settings.WAGTAIL_NEWSLETTER_SENDER_DOMAIN_GRACE_DAYS = 7
    assert sender_domain_state("news@good.test").state == FAILING


def test_scheduled_campaign_whose_domain_is_blocked_fails_with_the_reason(archive, good_key):  # noqa: F811
    now = timezone.now()
    sender_domain("good.test", good_key)
    SenderDomain.objects.update(dns_verified_at=now - timedelta(days=60))
    campaign = campaign_from(archive, "news@good.test")
    campaigns.schedule(campaign, now + timedelta(hours=1))
    SenderDomain.objects.update(dns_failing_since=now - timedelta(days=31))
    assert not campaigns.start_scheduled(campaign.pk, now=now + timedelta(hours=2))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED and CANNOT_SEND in campaign.status_note


def test_test_send_from_an_unverified_domain_is_refused(archive, good_key):  # noqa: F811
    sender_domain("fresh.test", good_key)
    page = make_newsletter(archive, sender_email="news@fresh.test")
    assert any(NOT_VERIFIED in problem for problem in sender_problems(page))
    assert sender_problems(make_newsletter(archive, slug="other")) == []  # example.org: assumed verified in tests


def test_assumed_domains_and_their_subdomains_send_without_dns(settings, good_key):
    settings.WAGTAIL_NEWSLETTER_ASSUME_VERIFIED_DOMAINS = ["demo.test"]
    assert sender_domain_state("news@letters.demo.test").state == ASSUMED
    sender_domain("demo.test", good_key)  # a row that was never checked: the setting still wins
    assert sender_domain_state("news@demo.test").state == ASSUMED
    assert sender_domain_problem("news@notdemo.test") is not None


def test_schedule_checks_every_sender_domain_every_six_hours(dns_settings, good_key):
    ensure_schedules()
    schedule = Schedule.objects.get(name="wagtail_newsletter: check sender domains in DNS")
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 360)
    sender_domain("good.test", good_key)
    sender_domain("missing.test", good_key)
    assert import_string(schedule.func)() == 2
    rows = {row.domain: row for row in SenderDomain.objects.all()}
    assert rows["good.test"].dns_verified_at is not None and rows["good.test"].dns_failing_since is None
    assert rows["missing.test"].dns_checked_at is not None and rows["missing.test"].dns_verified_at is None
