"""End to end in a real browser: an editor builds the segment "opened one of the last 3 campaigns AND city is Lyon AND
NOT in group Press" with the condition builder, watches the live count follow each condition, saves it, and sends the
demo newsletter to it through the send wizard; a real ``qcluster`` delivers to a real SMTP server, and exactly the
people of the segment receive it. Screenshots land in ``test-artifacts/segment-*.png``."""

import datetime
import time

import pytest
from django.utils import timezone

from wagtail_newsletter.audience.models import Field, Group, Membership, Status, Subscriber
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.send.models import Campaign, Delivery, DeliveryStatus
from wagtail_newsletter.track.models import Activity

from .live_site import ARTIFACTS, BROWSER_TEST, log_in
from .send_cluster import cluster_log, start_qcluster, stop_qcluster

pytestmark = BROWSER_TEST
DESKTOP = {"width": 1440, "height": 1000}

# name: (city, in Press, what they did: {campaign number (0 newest): "open" | "machine" | "sent"})
PEOPLE = {
    "lea": ("Lyon", False, {0: "open"}),
    "max": ("Lyon", False, {2: "open", 1: "sent"}),
    "press": ("Lyon", True, {0: "open"}),
    "quiet": ("Lyon", False, {0: "sent", 1: "sent"}),
    "proxy": ("Lyon", False, {0: "machine"}),  # only Apple's privacy proxy "opened": not a person
    "old": ("Lyon", False, {3: "open"}),  # opened the fourth campaign back only
    "paul": ("Paris", False, {0: "open"}),
}
EXPECTED = ["lea@example.net", "max@example.net"]


@pytest.fixture
def world(start_live_site, smtp_server, tmp_path):
    """The live example site, a qcluster, and the history the segment looks at (made before the browser starts:
    Playwright's loop forbids the ORM in its thread)."""
    base_url = start_live_site(q_sync=False)
    cluster = start_qcluster(smtp_server.port, tmp_path / "qcluster.log", newsletter={"BASE_URL": base_url})
    Field.objects.get_or_create(key="city", defaults={"label": "City"})  # the demo has it
    press = Group.objects.create(name="Press")
    now = timezone.now()
    campaigns = [
        Campaign.objects.create(name=f"Issue {n}", status="sent", started_at=now - datetime.timedelta(hours=n + 1))
        for n in range(4)
    ]
    for name, (city, in_press, history) in PEOPLE.items():
        person = Subscriber.objects.create(email=f"{name}@example.net", status=Status.SUBSCRIBED, data={"city": city})
        if in_press:
            Membership.objects.create(subscriber=person, group=press)
        for number, what in history.items():
            campaign = campaigns[number]
            delivery = Delivery.objects.create(
                campaign=campaign, subscriber=person, status=DeliveryStatus.SENT, sent_at=campaign.started_at
            )
            opened = campaign.started_at + datetime.timedelta(minutes=5) if what == "open" else None
            Activity.objects.create(
                delivery=delivery, campaign=campaign, first_open_at=opened, opens=int(bool(opened)),
                machine_opens=int(what == "machine"),
            )  # fmt: skip
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    yield {
        "base_url": base_url,
        "cluster": cluster,
        "newsletter_id": newsletter.pk,
        "everyone": Subscriber.objects.count(),
        "in_lyon": Subscriber.objects.filter(data__city="Lyon").count(),  # PEOPLE's and the demo's (Camille)
    }
    stop_qcluster(cluster)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"segment-{name}.png"), full_page=True)


def test_editor_builds_a_segment_and_sends_to_it(world, browser, smtp_server):
    from playwright.sync_api import expect

    base_url = world["base_url"]
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, base_url)
    page.goto(f"{base_url}/admin/snippets/wagtail_newsletter/segment/add/")
    page.get_by_role("textbox", name="Name").fill("Lyon readers, not press")
    count = page.locator("[data-segment-count-value]")
    expect(count).to_have_attribute("data-segment-count-value", str(world["everyone"]))  # no condition yet
    conditions = page.locator(".wn-segment-condition")

    # 1. City is Lyon.
    assert not errors, errors
    page.get_by_role("button", name="Add a condition").click()
    first = conditions.nth(0)
    first.get_by_label("Field").select_option(label="City")
    first.get_by_label("Operator").select_option(label="is")
    first.get_by_label("Value").fill("Lyon")
    expect(count).to_have_attribute("data-segment-count-value", str(world["in_lyon"]))

    # 2. Opened one of the last 3 campaigns (people only).
    page.get_by_role("button", name="Add a condition").click()
    second = conditions.nth(1)
    second.get_by_label("Kind of condition").select_option(label="What they did")
    second.get_by_label("What they did").select_option(label="opened")
    second.get_by_label("Which campaigns").select_option(label="one of the last N campaigns")
    second.get_by_label("Number").fill("3")
    expect(count).to_have_attribute("data-segment-count-value", "3")  # lea, max, press

    # 3. NOT in group Press.
    page.get_by_role("button", name="Add a condition").click()
    third = conditions.nth(2)
    third.get_by_label("Kind of condition").select_option(label="Group membership")
    third = conditions.nth(2)
    third.get_by_label("Groups").select_option(label="Press")
    page.locator(".wn-segment-item").nth(2).get_by_label("Not").check()
    expect(count).to_have_attribute("data-segment-count-value", "2")
    expect(page.locator("[data-segment-sample]")).to_contain_text("lea@example.net")
    shot(page, "1-builder")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("Lyon readers, not press").first).to_be_visible()
    shot(page, "2-saved")

    # Send the demo newsletter to the segment.
    page.goto(f"{base_url}/admin/pages/{world['newsletter_id']}/edit/")
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("link", name="Send…").click()
    page.get_by_label("Subscribers in chosen groups or segments").check()
    recipients = page.locator("[data-recipient-count-value]")
    expect(recipients).to_have_text("0")
    page.get_by_role("group", name="Segments", exact=True).get_by_label("Lyon readers, not press").check()
    expect(recipients).to_have_text("2")
    page.get_by_label("Campaign name").fill("To Lyon readers")
    shot(page, "3-wizard")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Checklist")).to_be_visible()
    accept = page.get_by_label("I have read the warnings above and want to send anyway.")
    if accept.count():
        accept.check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    expect(page.locator("[data-send-summary]")).to_contain_text("Lyon readers, not press")
    expect(page.locator("[data-summary=count]")).to_have_text("2 subscribers")
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("[data-campaign-status]").first).to_have_text("Sent", timeout=60_000)

    messages = smtp_server.wait_for(len(EXPECTED), timeout=60)
    time.sleep(1)  # nothing more may come
    received = sorted(rcpt for item in messages for rcpt in item["to"])
    assert not errors, errors
    assert received == EXPECTED, cluster_log(world["cluster"])
