"""Sender domains' DNS checks in the admin: each check with its status and the exact records to publish (copy
buttons), "Check DNS now" (POST, change permission), the state on the listing, the dashboard and the campaign
page, and the sender-domain entry of the pre-flight checklist — against a real DNS server (dnsmasq)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.admin.compose.pages import checklist
from wagtail_newsletter.admin.send.wizard import url as campaign_url
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.dkim_signing import dns_record
from wagtail_newsletter.send.models import SenderDomain

from .compose_editor_fixtures import archive, make_newsletter  # noqa: F401 (fixture)
from .sender_domain_fixtures import (  # noqa: F401 (fixtures)
    RELAY,
    dns_settings_fixture,
    dns_zones_fixture,
    good_key_fixture,
    other_key_fixture,
    sender_domain,
)

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"newsletter_sender_domains:{name}", args=args)


def failing(domain, key, days=3):
    """A domain verified a while ago whose records have been failing for ``days``."""
    now = timezone.now()
    row = sender_domain(domain, key)
    SenderDomain.objects.filter(pk=row.pk).update(
        dns_verified_at=now - timedelta(days=days + 10), dns_failing_since=now - timedelta(days=days)
    )
    return row


def test_edit_page_shows_each_check_and_the_exact_records_to_publish(admin_client, dns_settings, good_key):
    row = sender_domain("wrong.test", good_key)
    response = admin_client.post(url("check_dns", row.pk))
    assert response.status_code == 302 and response["Location"] == url("edit", row.pk)
    html = admin_client.get(url("edit", row.pk)).content.decode()
    assert "Some DNS records of wrong.test are missing or wrong" in html
    for check in ("spf", "dkim", "dmarc", "bounce_mx"):
        assert f'data-dns-check="{check}" data-dns-status="wrong"' in html
    assert "There are 2 SPF records: receivers then ignore them all." in html
    assert "publishes a null MX" in html
    assert f"v=spf1 {RELAY} -all</textarea>" in html  # the two records merged into one, +all dropped
    assert f"{dns_record(good_key)}</textarea>" in html  # our key, where another one is published
    assert "v=DMARC1; p=none; adkim=r; aspf=r</textarea>" in html
    assert html.count('data-action="w-clipboard#copy"') >= 7  # DKIM panel 2, SPF 2, DKIM 2, DMARC 2
    assert f'formaction="{url("check_dns", row.pk)}"' in html


def test_check_now_verifies_a_good_domain_and_the_listing_says_so(admin_client, dns_settings, good_key):
    row = sender_domain("good.test", good_key)
    listing = admin_client.get(url("index")).content.decode()
    assert 'data-sender-domain-state="unverified"' in listing and "never checked" in listing
    response = admin_client.post(url("check_dns", row.pk), follow=True)
    html = response.content.decode()
    assert "Every DNS record of good.test is right: it is verified." in html
    assert 'data-dns-check="dkim" data-dns-status="ok"' in html and "</textarea>" in html  # the DKIM panel's
    listing = admin_client.get(url("index")).content.decode()
    assert 'data-sender-domain-state="verified"' in listing


def test_check_now_when_dns_does_not_answer_says_try_again(admin_client, dns_settings, good_key):
    row = sender_domain("timeout.test", good_key)
    html = admin_client.post(url("check_dns", row.pk), follow=True).content.decode()
    assert "DNS did not answer every question about timeout.test" in html
    assert 'data-dns-check="spf" data-dns-status="unknown"' in html and "Unknown, try again" in html


def test_check_now_needs_a_post_and_the_change_permission(client, admin_client, django_user_model, good_key):
    row = sender_domain("good.test", good_key)
    assert admin_client.get(url("check_dns", row.pk)).status_code == 405
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert client.post(url("check_dns", row.pk)).status_code in (302, 403)
    row.refresh_from_db()
    assert row.dns_checked_at is None


def test_failing_domain_is_flagged_on_the_listing_and_the_dashboard(admin_client, good_key):
    failing("good.test", good_key)
    listing = admin_client.get(url("index")).content.decode()
    assert 'data-sender-domain-state="failing"' in listing and "sending stops on" in listing
    dashboard = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Sender domains need attention" in dashboard and "good.test" in dashboard
    assert "have been failing since" in dashboard


def test_dashboard_says_nothing_when_every_domain_passes(admin_client, good_key):
    SenderDomain.objects.create(domain="good.test", private_key=good_key, dns_verified_at=timezone.now())
    assert "Sender domains need attention" not in admin_client.get(reverse("wagtailadmin_home")).content.decode()


def test_campaign_page_warns_of_a_failing_sender_domain(admin_client, archive, good_key):  # noqa: F811
    failing("good.test", good_key, days=40)
    campaign = campaigns.create_campaign(make_newsletter(archive, sender_email="news@good.test"))
    html = admin_client.get(campaign_url("detail", campaign.pk)).content.decode()
    assert "data-sender-domain-alert" in html and "it cannot send until they are fixed" in html


def test_checklists_name_the_unverified_sender_domain(admin_client, archive, good_key):  # noqa: F811
    sender_domain("fresh.test", good_key)
    newsletter = make_newsletter(archive, sender_email="news@fresh.test")
    [first, *_rest] = checklist(newsletter.get_latest_revision())
    assert (first.code, first.level) == ("sender-domain-not-verified", "error")
    campaign = campaigns.create_campaign(newsletter)
    html = admin_client.get(campaign_url("send_checks", campaign.pk)).content.decode()
    assert "The sender domain fresh.test is not verified yet" in html


def test_renaming_a_verified_domain_makes_it_unverified(admin_client, good_key):
    row = SenderDomain.objects.create(
        domain="good.test", selector="newsletter", private_key=good_key, dns_verified_at=timezone.now()
    )
    admin_client.post(url("edit", row.pk), {"domain": "good.test", "selector": "s2"})
    row.refresh_from_db()
    assert row.dns_verified_at is not None  # same name: the next check tells about the new selector
    admin_client.post(url("edit", row.pk), {"domain": "other.test", "selector": "s2"})
    row.refresh_from_db()
    assert (row.domain, row.dns_verified_at, row.dns_checks) == ("other.test", None, {})
