"""The campaign report's "Readers" (device type, mail client, country: a chart and a table each, CSV/XLSX) and
"Conversions" (per goal, per link, the people listing with CSV/XLSX), read from folded rows in a fixed number of
queries."""

import csv
import io

import openpyxl
import pytest
from bs4 import BeautifulSoup
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from wagtail.models import Page

from wagtail_newsletter.audience.models import Subscriber
from wagtail_newsletter.growth.goals import Conversion, Goal
from wagtail_newsletter.send.models import Delivery
from wagtail_newsletter.track.aggregate import aggregate

from .campaign_admin_fixtures import campaigns_url
from .test_track_readers import (
    ANDROID_CHROME,
    APPLE_MAIL_IPHONE,
    GMAIL_PROXY,
    OUTLOOK_DESKTOP,
    SCANNER,
    THUNDERBIRD,
    fresh_link_tables,  # noqa: F401 (fixture)
    hit,
    later,
)
from .track_fixtures import make_campaign, make_deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    campaign = make_campaign(web_links=3, status="sent")
    deliveries = make_deliveries(campaign, 6)
    for number, delivery in enumerate(deliveries):
        delivery.subscriber = Subscriber.objects.create(email=f"reader{number}@example.org", first_name=f"R{number}")
    Delivery.objects.bulk_update(deliveries, ["subscriber"])
    a, b, c, d, e, f = deliveries
    hit(a, APPLE_MAIL_IPHONE, "193.51.24.1")
    hit(b, APPLE_MAIL_IPHONE, "193.51.24.9")
    hit(c, OUTLOOK_DESKTOP, "81.2.69.160")
    hit(c, OUTLOOK_DESKTOP, "81.2.69.160", link=0)
    hit(d, GMAIL_PROXY, "66.249.84.1")
    hit(e, THUNDERBIRD, "10.0.0.7")  # a private address: no country
    hit(f, SCANNER, "81.2.69.160", link=1)  # a machine: nowhere
    hit(a, ANDROID_CHROME, "193.51.24.1", link=2)
    aggregate(now=later())
    goal = Goal.objects.create(name="Ticket bought", page=Page.objects.get(depth=2))
    Conversion.objects.create(delivery=a, campaign=campaign, goal=goal, link=2)
    Conversion.objects.create(delivery=c, campaign=campaign, goal=goal, link=0)
    return campaign


def section(html, key):
    soup = BeautifulSoup(html, "html.parser")
    figure = soup.select_one(f'[data-breakdown="{key}"]')
    rows = {
        row.th.get_text(strip=True): (
            int(row.select_one("[data-people]").get_text()),
            int(row.select_one("[data-opens]").get_text()),
            int(row.select_one("[data-clicks]").get_text()),
        )
        for row in figure.select("tbody tr[data-breakdown-value]")
    }
    return figure, rows


def test_the_report_shows_device_client_and_country_of_people_with_a_chart_each(admin_client, campaign):
    html = admin_client.get(campaigns_url("report", campaign.pk)).content.decode()
    figure, devices = section(html, "device")
    assert devices == {"Phone": (2, 2, 1), "Computer": (2, 2, 1), "Unknown": (1, 1, 0)}
    svg = figure.select_one("svg")
    assert svg["role"] == "img" and svg["data-bars"] == "3" and "Phone" in svg.select_one("desc").get_text()
    _, clients = section(html, "client")
    assert clients == {
        "Apple Mail": (2, 2, 0),
        "Outlook": (1, 1, 1),
        "Gmail (proxy)": (1, 1, 0),
        "Thunderbird": (1, 1, 0),
        "Chrome Mobile": (0, 0, 1),
    }
    _, countries = section(html, "country")
    assert countries == {"🇫🇷 France": (2, 2, 1), "🇬🇧 United Kingdom": (1, 1, 1), "Unknown": (2, 2, 0)}


def test_the_report_shows_conversions_per_goal_and_per_link(admin_client, campaign):
    soup = BeautifulSoup(admin_client.get(campaigns_url("report", campaign.pk)).content.decode(), "html.parser")
    conversions = soup.select_one("[data-report-conversions]")
    assert conversions.select_one("[data-conversions-total]").get_text() == "2"
    assert [row.get_text(" ", strip=True) for row in conversions.select("[data-conversions-goals] tbody tr")] == [
        "Ticket bought 2"
    ]
    links = {
        row["data-link-index"]: row.get_text(" ", strip=True)
        for row in conversions.select("[data-conversions-links] tbody tr")
    }
    assert links == {"0": "https://example.org/article-0 1", "2": "https://example.org/article-2 1"}


def test_the_readers_download_as_csv_and_xlsx(admin_client, campaign):
    url = reverse("newsletter_audience:readers", args=[campaign.pk])
    response = admin_client.get(url + "?export=csv")
    assert response["Content-Disposition"] == f'attachment; filename="campaign-{campaign.pk}-readers.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Breakdown", "Value", "Code", "People", "Share of readers", "Opens", "Clicks"]
    assert ["Device type", "Phone", "2", "2", "0.4", "2", "1"] in rows
    assert ["Country", "🇫🇷 France", "FR", "2", "0.4", "2", "1"] in rows
    assert len(rows) == 1 + 3 + 5 + 3
    response = admin_client.get(url + "?export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert cells[0][0] == "Breakdown" and ["Mail client or browser", "Outlook", "Outlook", 1, 0.2, 1, 1] in cells


def test_the_people_who_converted_are_listed_and_downloadable(admin_client, campaign):
    url = reverse("newsletter_audience:converted", args=[campaign.pk])
    page = admin_client.get(url).content.decode()
    assert "reader0@example.org" in page and "reader2@example.org" in page and "reader1@example.org" not in page
    rows = list(csv.reader(io.StringIO(b"".join(admin_client.get(url + "?export=csv").streaming_content).decode())))
    assert rows[0] == ["Email", "Name", "Goal", "Link", "Time"]
    assert [row[:4] for row in rows[1:]] == [
        ["reader0@example.org", "R0", "Ticket bought", "https://example.org/article-2"],
        ["reader2@example.org", "R2", "Ticket bought", "https://example.org/article-0"],
    ]


def test_readers_and_conversions_need_the_campaign_permission(client, django_user_model, campaign):
    user = django_user_model.objects.create_user("nobody", password="pw")
    client.force_login(user)
    for name in ("readers", "converted"):
        response = client.get(reverse(f"newsletter_audience:{name}", args=[campaign.pk]))
        assert response.status_code in (302, 403), name


def test_the_sections_cost_the_same_queries_whatever_the_number_of_readers(admin_client, campaign):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(campaigns_url("report", campaign.pk)).status_code == 200
        return len(queries)

    before = count()
    more = make_deliveries(campaign, 20)
    for number, delivery in enumerate(more):
        hit(
            delivery, [APPLE_MAIL_IPHONE, OUTLOOK_DESKTOP, THUNDERBIRD][number % 3], f"81.2.{number}.1", link=number % 3
        )
    aggregate(now=later())
    assert count() == before


def test_goals_are_a_snippet_with_their_conversion_counts(admin_client, campaign):
    listing = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_goal:list"))
    soup = BeautifulSoup(listing.content.decode(), "html.parser")
    row = next(tr for tr in soup.select("tbody tr") if "Ticket bought" in tr.get_text())
    assert [cell.get_text(strip=True) for cell in row.select("td")][-2] == "2"  # conversions, before "Created"
    page = Page.objects.get(depth=2)
    add = reverse("wagtailsnippets_wagtail_newsletter_goal:add")
    response = admin_client.post(add, {"name": "Form sent", "page": page.pk, "trigger": Goal.FORM, "active": "on"})
    assert response.status_code == 302
    assert Goal.objects.get(name="Form sent").trigger == Goal.FORM
    # The same page and trigger twice: refused with an error, nothing added.
    response = admin_client.post(add, {"name": "Again", "page": page.pk, "trigger": Goal.FORM, "active": "on"})
    assert response.status_code == 200 and not Goal.objects.filter(name="Again").exists()


def test_the_reports_listing_counts_each_campaign_s_conversions(admin_client, campaign):
    other = make_campaign(name="No conversions", status="sent")
    index = reverse("newsletter_reports:index")

    def listed(ordering):
        export = admin_client.get(index + f"?export=csv&ordering={ordering}")
        rows = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
        return [(row["Campaign"], row["Conversions"]) for row in rows]

    assert listed("-conversions") == [(campaign.name, "2"), (other.name, "0")]
    assert listed("conversions") == [(other.name, "0"), (campaign.name, "2")]  # sorted in the database
