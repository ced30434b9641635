"""End to end in a real browser: a campaign goes out through a real ``qcluster`` to a real SMTP server; a reader
opens the received HTML in Chromium (which loads the open pixel from the live site) and clicks two of its links;
the editor's report page then shows 1 unique open and 2 clicks, and its chart and click map render.

The reader's browser presents an ordinary desktop Chrome user agent: headless Chromium's own says "HeadlessChrome",
which the tracking rules count as a machine (link scanners run headless browsers). Screenshots land in
``test-artifacts/report-*.png``.
"""

import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings

from wagtail_newsletter.audience.models import Group
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus

from .live_site import ARTIFACTS, BROWSER_TEST, log_in
from .send_cluster import cluster_log, start_qcluster, stop_qcluster

pytestmark = BROWSER_TEST

DESKTOP = {"width": 1440, "height": 1000}
READER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{name}.png"), full_page=True)


@pytest.fixture
def sent_campaign(start_live_site, smtp_server, queue_for_real, tmp_path):
    """The Welcome issue sent to the "Weekly news" group by a real qcluster; yields what the browser needs."""
    base_url = start_live_site(q_sync=False)
    cluster = start_qcluster(smtp_server.port, tmp_path / "qcluster.log", newsletter={"BASE_URL": base_url})
    try:
        get_user_model().objects.create_superuser("editor", "editor@example.org", "editor-pw")
        campaign = campaigns.create_campaign(NewsletterPage.objects.get(title="Welcome issue"), name="Report test")
        campaigns.set_audience(campaign, False, [Group.objects.get(name="Weekly news").pk])
        with override_settings(WAGTAIL_NEWSLETTER={**settings.WAGTAIL_NEWSLETTER, "BASE_URL": base_url}):
            campaigns.send_now(campaign)
        deadline = time.monotonic() + 60
        while Campaign.objects.get(pk=campaign.pk).status != CampaignStatus.SENT:
            if time.monotonic() > deadline:
                pytest.fail(f"the campaign was not sent; qcluster said:\n{cluster_log(cluster)}")
            time.sleep(0.2)
        # The group's subscribed members: Ada (English) and Camille (French); the browser reads Ada's.
        received = smtp_server.wait_for(2, timeout=10)
        (item,) = [m for m in received if m["to"] == ["ada@example.com"]]
        links = {label: url for _index, _original, url, label in Campaign.objects.get(pk=campaign.pk).compiled["links"]}
        yield {"base_url": base_url, "campaign_id": campaign.pk, "message": item["message"], "links": links}
    finally:
        stop_qcluster(cluster)


def html_part(message):
    for part in message.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no HTML part")


def test_a_reader_opens_and_clicks_and_the_report_shows_it(sent_campaign, browser):
    from playwright.sync_api import expect

    base_url = sent_campaign["base_url"]
    html = html_part(sent_campaign["message"])
    assert f"{base_url}/newsletter/o/" in html, "the mail carries no open pixel"
    time.sleep(2.5)  # a reader opens a mail seconds after it arrives, not within the gateways' pre-fetch window

    # The reader: the mail's HTML loads the pixel; two links are clicked, a few seconds apart.
    reader = browser.new_context(viewport=DESKTOP, user_agent=READER_AGENT).new_page()
    reader.set_default_timeout(15_000)
    with reader.expect_response(lambda response: "/newsletter/o/" in response.url) as pixel:
        reader.set_content(html, wait_until="load")
    assert pixel.value.status == 200 and pixel.value.headers["content-type"] == "image/gif"
    shot(reader, "1-mail")
    clicked = []
    for name in ("Visit the site", "Wagtail"):  # the button opens a new tab (target="_blank"), the text link not
        if clicked:
            time.sleep(2.5)  # a person, not a scanner clicking every link at once
            reader.set_content(html, wait_until="load")
        # The redirect's own response: Chromium reports it on the request it redirected (the target may not load).
        with reader.context.expect_event("requestfinished", lambda request: "/newsletter/c/" in request.url) as click:
            reader.get_by_role("link", name=name, exact=True).first.click(no_wait_after=True)
        redirect = click.value.response()
        assert redirect.status == 302
        clicked.append(redirect.headers["location"])
    # Each redirect goes to that link's URL in the campaign's link table (with its UTM tags).
    assert clicked == [sent_campaign["links"]["Visit the site"], sent_campaign["links"]["Wagtail"]]
    assert clicked[1].startswith("https://wagtail.org/")

    # The editor: the report page, once the events have settled (TRACKING_SETTLE_SECONDS).
    time.sleep(6)
    editor = browser.new_context(viewport=DESKTOP).new_page()
    editor.set_default_timeout(15_000)
    log_in(editor, base_url, "editor", "editor-pw")
    editor.goto(f"{base_url}/admin/newsletter/campaigns/{sent_campaign['campaign_id']}/report/")
    expect(editor.locator("[data-stat=unique_opens] [data-stat-value]")).to_have_text("1")
    expect(editor.locator("[data-stat=clicks] [data-stat-value]")).to_have_text("2")
    expect(editor.locator("#report-timeline svg")).to_be_visible()
    # The click map loads lazily, when it comes into view (the readers, conversions and languages sections are above
    # it): scroll to it as a person does. Waiting on a lazy frame that never loads never times out in Playwright.
    editor.locator("#click-map").scroll_into_view_if_needed()
    click_map = editor.frame_locator("#click-map")
    expect(click_map.locator("[data-link-share]").first).to_be_visible()
    shot(editor, "2-report")
    editor.locator("#report-timeline").screenshot(path=str(ARTIFACTS / "report-3-timeline.png"))
    editor.locator("#click-map").scroll_into_view_if_needed()
    editor.locator("#click-map").screenshot(path=str(ARTIFACTS / "report-4-click-map.png"))
