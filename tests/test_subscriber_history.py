"""A subscriber's newsletter history (admin/audience/subscriber_history.py): every kind of entry, newest first, machine
activity labelled, link URLs shown, paginated with a number of queries that does not grow with the history, linked
from the edit view, refused without permission."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from wagtail_newsletter.admin.audience.subscriber_history import history_url
from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.models import Source, Status, Subscriber
from wagtail_newsletter.send.models import Delivery, DeliveryStatus
from wagtail_newsletter.track.models import Agent, Event, EventKind

from .campaign_admin_fixtures import audience_fixture  # noqa: F401 (fixtures)
from .test_report_exports import LINKS, deliveries, hit, sent_campaign

pytestmark = pytest.mark.django_db


def rows(client, subscriber, page=None):
    """[(what, campaign, details, machine)] of the history table, top to bottom."""
    url = history_url(subscriber) + (f"?p={page}" if page else "")
    response = client.get(url)
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    table = [
        [cell.get_text(" ", strip=True) for cell in row.find_all("td")] + [row.find("td", attrs={"data-machine": True})]
        for row in soup.select("table tbody tr")
    ]
    return [(what, campaign, detail, machine is not None) for _date, what, campaign, detail, machine in table]


@pytest.fixture
def ann(archive, admin_user, audience):
    """ann got "Spring" (opened by Apple's proxy, then by her, clicked link 1, a scanner clicked every link at once,
    a soft bounce, a complaint, an unsubscribe) and "Summer" (refused by the relay)."""
    spring = sent_campaign(archive, admin_user, name="Spring")
    delivery = deliveries(spring)["ann@example.net"]
    hit(spring, delivery, EventKind.OPEN, 1, agent=Agent.PRIVACY_PROXY)
    hit(spring, delivery, EventKind.OPEN, 10)
    hit(spring, delivery, EventKind.CLICK, 11, link=1)
    for link in range(3):
        hit(spring, delivery, EventKind.CLICK, 20, link=link, agent=Agent.BROWSER)
    hit(spring, delivery, EventKind.SOFT_BOUNCE, 30, detail="452 4.2.2 mailbox full")
    hit(spring, delivery, EventKind.COMPLAINT, 40, detail="abuse")
    hit(spring, delivery, EventKind.UNSUBSCRIBE, 50)
    subscriber = Subscriber.objects.get(email="ann@example.net")
    services.record_status_events(
        [(subscriber.pk, Status.SUBSCRIBED, Status.UNSUBSCRIBED)], Source.UNSUBSCRIBE_LINK, note="one click"
    )
    summer = sent_campaign(archive, admin_user, name="Summer")
    Delivery.objects.filter(campaign=summer, subscriber=subscriber).update(
        status=DeliveryStatus.FAILED, sent_at=None, smtp_code=550, error="5.1.1 no such user"
    )
    return subscriber


def test_history_shows_every_kind_of_entry_newest_first(admin_client, ann):
    entries = rows(admin_client, ann)
    whats = [what for what, _campaign, _detail, _machine in entries]
    # The status change (now) is the newest; a failed delivery is dated by its campaign's start.
    assert whats[0] == "Status: Subscribed → Unsubscribed"
    assert entries[0][2] == "Unsubscribe link: one click"
    spring = [entry for entry in entries if entry[1] == "Spring"]
    assert [what for what, _c, _d, _m in spring] == [
        "Unsubscribe",
        "Complaint",
        "Soft bounce",
        "Click machine: many links at once",
        "Click machine: many links at once",
        "Click machine: many links at once",
        "Click",
        "Open",
        "Open machine: privacy proxy",
        "Campaign: Sent",
    ]
    machine = [m for _w, _c, _d, m in spring]
    assert machine == [False, False, False, True, True, True, False, False, True, False]
    details = [d for _w, _c, d, _m in spring]
    assert details[2] == "452 4.2.2 mailbox full" and details[1] == "abuse"
    assert details[6] == LINKS[1]  # the link clicked, by URL
    assert sorted(details[3:6]) == sorted(LINKS)
    summer = [entry for entry in entries if entry[1] == "Summer"]
    assert summer == [("Campaign: Failed", "Summer", "550 5.1.1 no such user", False)]


def test_history_is_paginated_with_bounded_queries(admin_client, ann, archive, admin_user):
    spring_delivery = Delivery.objects.filter(subscriber=ann).order_by("id").first()
    campaign = spring_delivery.campaign

    def queries_for(page):
        with CaptureQueriesContext(connection) as queries:
            rows(admin_client, ann, page)
        return len(queries)

    small = queries_for(None)
    for n in range(120):
        hit(campaign, spring_delivery, EventKind.OPEN if n % 2 else EventKind.CLICK, 60 + n, link=n % 3)
    assert queries_for(None) <= small and queries_for(2) <= small and queries_for(3) <= small
    total = 12 + 120
    assert [len(rows(admin_client, ann, page)) for page in (1, 2, 3)] == [50, 50, total - 100]


def test_history_link_on_the_edit_view_and_permissions(admin_client, ann, editor_without_page_rights):
    edit = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_subscriber:edit", args=[ann.pk]))
    assert history_url(ann) in edit.content.decode()
    viewer = Client()
    viewer.force_login(editor_without_page_rights)
    response = viewer.get(history_url(ann))
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")
    assert admin_client.get(history_url(ann).replace(f"/{ann.pk}/", "/999999/")).status_code == 404


def test_empty_history(admin_client, audience):
    subscriber = Subscriber.objects.get(email="dan@example.net")
    page = admin_client.get(history_url(subscriber)).content.decode()
    assert "Nothing has happened to this subscriber yet." in page


def test_an_early_open_is_labelled_machine(admin_client, archive, admin_user, audience):
    """Timing rule: an open one second after sending (a gateway's pre-fetch), whatever the user agent."""
    campaign = sent_campaign(archive, admin_user)
    delivery = deliveries(campaign)["bob@example.net"]
    at = delivery.sent_at + timedelta(seconds=1)
    Event.objects.create(campaign=campaign, delivery=delivery, kind=EventKind.OPEN, at=at)
    entries = rows(admin_client, delivery.subscriber)
    assert entries[0][0] == "Open machine: right after sending" and entries[0][3]
