"""End to end in a real browser: a subscriber opens the "Preferences" link of a newsletter they really received
(a campaign sent through a real SMTP server, aiosmtpd), adds a topic and pauses their newsletters on the running
example site (Chromium, without JavaScript); the next campaign to that topic skips them; once the pause is over
(its end moved into the past) they receive again.

The campaigns are sent by the test process (django-q2 in sync mode) with links to the live site. Screenshots land
in ``test-artifacts/browser-preferences-*.png``.
"""

import contextlib
import datetime
import re

from django.utils import timezone

from wagtail_newsletter.audience.models import Group, Membership, Status, Subscriber
from wagtail_newsletter.audience.preference_log import PreferenceChange
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Delivery

from .live_site import BROWSER_TEST, CHROMIUM, CHROMIUM_ARGS, screenshot

pytestmark = BROWSER_TEST

READER = "nina@example.net"


@contextlib.contextmanager
def chromium():
    """Chromium only while the block runs: Playwright's loop forbids the ORM in its thread, so the database work
    happens before and after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def send_campaign(name, group, smtp_server):
    """Send the demo newsletter to ``group`` from the test process; return the addresses it reached."""
    already = len(smtp_server.messages)
    campaign = campaigns.create_campaign(NewsletterPage.objects.get(title="Welcome issue"), name=name)
    campaigns.set_audience(campaign, False, [group.pk])
    expected = campaigns.count_recipients_of(campaign)
    campaigns.send_now(campaign)
    messages = smtp_server.wait_for(already + expected, timeout=30)[already:]
    assert Delivery.objects.filter(campaign=campaign).count() == expected == len(messages)
    return sorted(message["to"][0] for message in messages), messages


def preferences_link(message):
    html = message["message"].get_body(preferencelist=("html",)).get_content()
    return re.search(r'href="([^"]+/newsletter/p/[^"]+)"', html).group(1)


def test_subscriber_changes_topics_and_pauses_from_a_received_mail(live_site, smtp_server, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BASE_URL": live_site}  # links lead to the site
    weekly, events = Group.objects.get(name="Weekly news"), Group.objects.get(name="Events")
    assert weekly.public and events.public  # the demo's topics
    reader = Subscriber.objects.create(email=READER, first_name="Nina", status=Status.SUBSCRIBED)
    Membership.objects.create(subscriber=reader, group=weekly)

    # 1. Nina receives the Weekly news; its footer links to her preference page.
    received, messages = send_campaign("Weekly #1", weekly, smtp_server)
    assert READER in received
    link = preferences_link(next(m for m in messages if m["to"] == [READER]))
    assert link.startswith(f"{live_site}/newsletter/p/")

    # 2. In a browser without JavaScript she adds the Events topic, then pauses for 3 months.
    with chromium() as browser:
        context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
        page = context.new_page()
        page.goto(link)
        assert page.get_by_role("heading", name="Your newsletter preferences").is_visible()
        assert page.get_by_label("Weekly news").is_checked() and not page.get_by_label("Events").is_checked()
        assert page.get_by_text("Invitations to meetups and webinars.").is_visible()  # the topic's description
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the page overflows on a phone"
        screenshot(page, "preferences-1-page")
        page.get_by_label("Events").check()
        page.get_by_label("City").fill("Lyon")
        page.get_by_role("button", name="Save my preferences").click()
        assert page.get_by_text("Your preferences are saved.").is_visible()
        assert page.get_by_label("Events").is_checked() and page.get_by_label("City").input_value() == "Lyon"
        page.get_by_label(re.compile(r"^3 months")).check()
        page.get_by_role("button", name="Pause my newsletters").click()
        assert page.get_by_text(re.compile("Your newsletters are paused until")).first.is_visible()
        assert page.get_by_role("button", name="Receive them again now").is_visible()
        screenshot(page, "preferences-2-paused")
        context.close()

    reader.refresh_from_db()
    assert sorted(reader.groups.values_list("name", flat=True)) == ["Events", "Weekly news"]
    assert reader.data.get("city") == "Lyon"
    assert 88 <= (reader.paused_until - timezone.now()).days <= 92 and reader.status == Status.SUBSCRIBED
    kinds = sorted(PreferenceChange.objects.filter(subscriber=reader).values_list("kind", flat=True))
    assert kinds == ["fields", "pause", "topics"]

    # 3. The next Events campaign skips her (Ada, in Events too, gets it).
    received, _messages = send_campaign("Events #1", events, smtp_server)
    assert READER not in received and "ada@example.com" in received

    # 4. The pause is over (its end moved into the past): she receives the next one, through her new topic.
    Subscriber.objects.filter(pk=reader.pk).update(paused_until=timezone.now() - datetime.timedelta(minutes=1))
    received, _messages = send_campaign("Events #2", events, smtp_server)
    assert READER in received
