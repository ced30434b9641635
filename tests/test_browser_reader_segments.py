"""In a real browser: the condition builder offers the device types, the mail clients and countries seen in the
tracking data and the goals; an editor builds "opened or clicked on a phone AND from France AND NOT reached the goal
Ticket", watches the live count follow, and saves it with the expected JSON. Screenshot:
``test-artifacts/segment-readers.png``."""

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone
from wagtail.models import Page

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.growth.goals import Conversion, Goal
from wagtail_newsletter.growth.segments import Segment
from wagtail_newsletter.send.models import Agent, Campaign, Delivery, DeliveryStatus, DeviceType, Event, EventKind
from wagtail_newsletter.track.aggregate import aggregate

from .live_site import ARTIFACTS, BROWSER_TEST, log_in

pytestmark = BROWSER_TEST
PHONE, COMPUTER = DeviceType.PHONE, DeviceType.COMPUTER
# name: (device, client, country) of their open, or "machine" for a privacy proxy's; converted on the goal Ticket
PEOPLE = {
    "ana": ((PHONE, "Apple Mail", "FR"), False),
    "ben": ((PHONE, "Gmail", "FR"), True),
    "cle": ((COMPUTER, "Outlook", "FR"), False),
    "dev": ((PHONE, "Gmail", "DE"), False),
    "eve": ("machine", False),
}


@pytest.fixture
def world(start_live_site):
    base_url = start_live_site()
    now = timezone.now()
    campaign = Campaign.objects.create(name="Spring", status="sent", started_at=now - datetime.timedelta(days=1))
    ticket = Goal.objects.create(name="Ticket", page=Page.objects.get(depth=1))
    for name, (read, converted) in PEOPLE.items():
        person = Subscriber.objects.create(email=f"{name}@example.net", status=Status.SUBSCRIBED)
        delivery = Delivery.objects.create(
            campaign=campaign, subscriber=person, status=DeliveryStatus.SENT, sent_at=campaign.started_at
        )
        at = campaign.started_at + datetime.timedelta(hours=1)
        if read == "machine":
            Event.objects.create(campaign=campaign, delivery=delivery, kind=EventKind.OPEN, at=at,
                                 agent=Agent.PRIVACY_PROXY, device=PHONE, country="FR")  # fmt: skip
        else:
            device, client, country = read
            Event.objects.create(campaign=campaign, delivery=delivery, kind=EventKind.OPEN, at=at, device=device,
                                 client=client, country=country)  # fmt: skip
        if converted:
            Conversion.objects.create(delivery=delivery, campaign=campaign, goal=ticket, link=0)
    aggregate(now=now + datetime.timedelta(days=1))
    return {"base_url": base_url, "ticket": ticket.pk, "everyone": Subscriber.objects.count()}


def test_editor_builds_a_device_country_and_goal_segment(world, browser):
    from playwright.sync_api import expect

    base_url = world["base_url"]
    page = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, base_url)
    page.goto(f"{base_url}/admin/snippets/wagtail_newsletter/segment/add/")
    page.get_by_role("textbox", name="Name").fill("French phone readers without a ticket")
    count = page.locator("[data-segment-count-value]")
    expect(count).to_have_attribute("data-segment-count-value", str(world["everyone"]))
    conditions = page.locator(".wn-segment-condition")

    page.get_by_role("button", name="Add a condition").click()
    first = conditions.nth(0)
    first.get_by_label("Kind of condition").select_option(label="What they did")
    first.get_by_label("What they did").select_option(label="opened or clicked on a device type")
    expect(page.locator("[data-segment-count]")).to_contain_text("devices")  # an empty list is refused, and said
    first.get_by_label("Device types").select_option(["phone"])
    expect(count).to_have_attribute("data-segment-count-value", "3")  # ana, ben, dev: not eve's privacy proxy

    page.get_by_role("button", name="Add a condition").click()
    second = conditions.nth(1)
    second.get_by_label("Kind of condition").select_option(label="What they did")
    second.get_by_label("What they did").select_option(label="opened or clicked from a country")
    countries = second.get_by_label("Countries")
    expect(countries.locator("option")).to_have_text(["🇫🇷 France", "🇩🇪 Germany"])  # those seen, most readers first
    countries.select_option(["FR"])
    expect(count).to_have_attribute("data-segment-count-value", "2")  # ana, ben

    page.get_by_role("button", name="Add a condition").click()
    third = conditions.nth(2)
    third.get_by_label("Kind of condition").select_option(label="What they did")
    third.get_by_label("What they did").select_option(label="opened or clicked with a mail client")
    clients = third.get_by_label("Mail clients")
    expect(clients.locator("option")).to_have_text(["Gmail", "Apple Mail", "Outlook"])
    clients.select_option(["Apple Mail", "Gmail"])
    expect(count).to_have_attribute("data-segment-count-value", "2")
    third.get_by_label("What they did").select_option(label="reached a goal")
    third = conditions.nth(2)
    third.get_by_label("Goal").select_option(label="Ticket")
    page.locator(".wn-segment-item").nth(2).get_by_label("Not").check()
    expect(count).to_have_attribute("data-segment-count-value", "1")
    expect(page.locator("[data-segment-sample]")).to_contain_text("ana@example.net")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "segment-readers.png"), full_page=True)
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_text("French phone readers without a ticket").first).to_be_visible()
    assert not errors, errors

    # Playwright's loop forbids the ORM in this thread: read what was saved from another one.
    with ThreadPoolExecutor(1) as pool:
        conditions, emails = pool.submit(_saved, "French phone readers without a ticket").result()
    assert conditions == {"and": [
        {"behaviour": "device", "scope": {}, "devices": ["phone"]},
        {"behaviour": "country", "scope": {}, "countries": ["FR"]},
        {"not": {"behaviour": "converted", "scope": {}, "goal": world["ticket"]}},
    ]}  # fmt: skip
    assert emails == ["ana@example.net"]


def _saved(name):
    from django.db import connection

    try:
        saved = Segment.objects.get(name=name)
        return saved.conditions, [s.email for s in saved.subscribers()]
    finally:
        connection.close()
