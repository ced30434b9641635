"""In a real browser, against a real DNS server: "Check DNS now" on a sender domain's page (a button of the edit form
that posts to the check view) shows each check, and a record's Copy button puts the exact value on the clipboard."""

import json

import pytest
from django.urls import reverse

from wagtail_newsletter.send.models import SenderDomain

from .live_site import BROWSER_TEST, log_in, screenshot
from .sender_domain_fixtures import (  # noqa: F401 (fixtures)
    RELAY,
    SELECTOR,
    dns_zones_fixture,
    good_key_fixture,
    other_key_fixture,
)

pytestmark = BROWSER_TEST


@pytest.fixture
def dns_live_site(monkeypatch, dns_zones, smtp_server, start_live_site):
    """The example site, its sender-domain checks asking the test's DNS server."""
    settings = {"DNS_RESOLVERS": [dns_zones.address], "DNS_TIMEOUT": 1, "SPF_INCLUDE": [RELAY]}
    monkeypatch.setenv("WN_TEST_NEWSLETTER_SETTINGS", json.dumps(settings))
    return start_live_site(smtp_port=smtp_server.port)


@pytest.fixture
def nohost_domain(dns_live_site, good_key):
    """Made before the browser starts (Playwright's event loop then forbids database calls in the test)."""
    return SenderDomain.objects.create(domain="nohost.test", selector=SELECTOR, private_key=good_key)


def test_check_now_then_copy_the_spf_record_to_publish(dns_live_site, nohost_domain, browser):
    row = nohost_domain
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    log_in(page, dns_live_site)
    page.goto(dns_live_site + reverse("newsletter_sender_domains:edit", args=[row.pk]))
    page.get_by_role("button", name="Check DNS now").click()
    page.wait_for_selector('[data-dns-check="spf"]')
    assert "Some DNS records of nohost.test are missing or wrong" in page.content()
    assert page.get_attribute('[data-dns-check="spf"]', "data-dns-status") == "wrong"
    assert page.get_attribute('[data-dns-check="dkim"]', "data-dns-status") == "missing"
    page.locator('[data-dns-check="spf"]').scroll_into_view_if_needed()
    screenshot(page, "sender-domain-checks-top")
    spf = page.locator('[data-dns-check="spf"]')
    spf.get_by_role("button", name="Copy").nth(1).click()  # the value (the first is the name)
    page.wait_for_selector("text=Copied to clipboard")
    assert page.evaluate("navigator.clipboard.readText()") == f"v=spf1 ip4:198.51.100.7 {RELAY} -all"
    screenshot(page, "sender-domain-checks")
