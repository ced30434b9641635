"""The preference centre in the admin: public groups and subscriber-editable fields in their forms, the "Preference
centre" report (figures, rows, filters, CSV/XLSX exports) and its figures in the campaign report."""

import csv
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience import preferences
from wagtail_newsletter.audience.models import Field, Group, Status, Subscriber
from wagtail_newsletter.audience.preference_log import PreferenceChange
from wagtail_newsletter.send.models import Campaign

from .campaign_admin_fixtures import (
    assert_refused,
    campaigns_url,
    editor_client_fixture,  # noqa: F401
)

pytestmark = pytest.mark.django_db

URL = reverse("newsletter_preference_changes:index")
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def changes(db):
    """Campaign Spring: 3 paused (one of them then left), 3 left with reasons; Summer: 1 topic change."""
    spring = Campaign.objects.create(name="Spring", subject="Spring", status="sent", started_at=timezone.now())
    summer = Campaign.objects.create(name="Summer", subject="Summer", status="sent", started_at=timezone.now())
    sport = Group.objects.create(name="Sport", public=True)
    people = [Subscriber.objects.create(email=f"p{n}@example.net", status=Status.SUBSCRIBED) for n in range(7)]
    for person in people[:3]:
        preferences.pause(person, 3, spring.pk)
    for person, reason, text in [(people[2], "too_many", ""), (people[3], "spam", FORMULA), (people[4], "", "")]:
        preferences.record_unsubscribe(person, reason, text, spring.pk)
    preferences.set_topics(people[5], [sport.pk], summer.pk)
    return {"spring": spring, "summer": summer, "people": people}


def download(client, export_format, **query):
    response = client.get(URL, {**query, "export": export_format})
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if export_format == "csv":
        return list(csv.DictReader(io.StringIO(content.decode())))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    table = list(sheet.iter_rows(values_only=True))
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def test_groups_can_be_made_public_and_fields_editable_by_subscribers(admin_client):
    response = admin_client.post(
        reverse("wagtailsnippets_wagtail_newsletter_group:add"),
        {"name": "Concerts", "description": "Dates of our concerts.", "public": "on"},
    )
    assert response.status_code == 302
    assert Group.objects.get(name="Concerts").public
    response = admin_client.post(
        reverse("wagtailsnippets_wagtail_newsletter_field:add"),
        {"label": "City", "key": "city", "type": "text", "choices": "", "default": "", "sort_order": "0",
         "editable_by_subscriber": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Field.objects.get(key="city").editable_by_subscriber
    assert (
        "Editable by the subscriber"
        in admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_field:list")).content.decode()
    )


def test_the_report_shows_the_figures_and_every_change(admin_client, changes):
    response = admin_client.get(URL)
    page = response.content.decode()
    assert response.status_code == 200 and "Preference centre" in page
    assert "2 paused instead of unsubscribing" in page  # the third one left afterwards
    assert "3 unsubscribed from the preference page" in page
    for shown in ("I get too many emails", "The emails look like spam", "No reason given", "3 months", "+ Sport"):
        assert shown in page
    assert page.count("p0@example.net") == 1


def test_the_report_follows_its_filters(admin_client, changes):
    page = admin_client.get(URL, {"campaign_id": changes["summer"].pk}).content.decode()
    assert "p5@example.net" in page and "p0@example.net" not in page
    assert "0 paused instead of unsubscribing" in page
    page = admin_client.get(URL, {"kind": "unsubscribe", "reason": "spam"}).content.decode()
    assert "p3@example.net" in page and "p2@example.net" not in page and "1 unsubscribed" in page


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_exports_have_every_column(admin_client, changes, export_format):
    table = download(admin_client, export_format, kind="pause")
    assert len(table) == 3
    assert set(table[0]) == {"Subscriber", "Change", "What changed", "Reason", "Reason in their words", "Campaign",
                             "When"}  # fmt: skip
    assert {row["Subscriber"] for row in table} == {"p0@example.net", "p1@example.net", "p2@example.net"}
    assert {row["What changed"] for row in table} == {"3 months"}
    assert {str(row["Campaign"]) for row in table} == {str(changes["spring"].pk)}


def test_csv_cells_typed_by_subscribers_never_become_formulas(admin_client, changes):
    row = download(admin_client, "csv", reason="spam")[0]
    assert row["Reason in their words"] == "'" + FORMULA


def test_the_campaign_report_counts_what_its_readers_did(admin_client, changes):
    page = admin_client.get(campaigns_url("report", changes["spring"].pk)).content.decode()
    assert "data-report-preferences" in page
    assert "2 paused instead of unsubscribing" in page and "The emails look like spam" in page
    assert f"?campaign_id={changes['spring'].pk}" in page
    PreferenceChange.objects.filter(campaign_id=changes["summer"].pk).delete()
    assert (
        "data-report-preferences"
        not in admin_client.get(campaigns_url("report", changes["summer"].pk)).content.decode()
    )


def test_people_who_may_not_see_subscribers_are_refused(editor_client, changes):
    assert_refused(editor_client, "get", URL)
    assert_refused(editor_client, "get", URL + "?export=csv")


def test_the_subscribers_history_shows_their_preference_changes(admin_client, changes):
    from wagtail_newsletter.admin.audience.subscriber_history import history_url

    page = admin_client.get(history_url(changes["people"][2])).content.decode()
    assert "Preference page: Paused" in page and "3 months" in page
    assert "Preference page: Unsubscribed" in page and "I get too many emails" in page
    assert "Spring" in page  # the campaign whose mail the link came from


def test_the_subscribers_page_says_until_when_they_paused(admin_client, changes):
    edit = reverse("wagtailsnippets_wagtail_newsletter_subscriber:edit", args=[changes["people"][0].pk])
    assert "Paused by the subscriber until" in admin_client.get(edit).content.decode()
    Subscriber.objects.filter(pk=changes["people"][0].pk).update(paused_until=timezone.now())  # over
    assert "Paused by the subscriber until" not in admin_client.get(edit).content.decode()
