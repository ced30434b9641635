"""A campaign's people listings and their CSV/XLSX exports (admin/reports/exports.py): exactly the right people for
each kind, numbers from aggregated events, ``?link=`` (good and bad values), formula injection, erased people,
permissions, and a number of queries that does not grow with the rows."""

import csv
import io
import zipfile
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from wagtail_newsletter.admin.reports import exports as report_exports
from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from wagtail_newsletter.track.models import Event, EventKind

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    assert_refused,
    audience_fixture,
    editor_client_fixture,
    sender_client_fixture,
    sender_fixture,
    sending_campaign,
    subscribe,
)
from .report_fixtures import LINKS, fold, hit, sample_activity, sent_campaign

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","x")'


def deliveries(campaign):
    """{email: delivery} of the campaign."""
    return {d.subscriber.email: d for d in Delivery.objects.filter(campaign=campaign).select_related("subscriber")}


@pytest.fixture
def campaign(archive, admin_user, audience):
    """ann: 2 opens, clicks on links 0 and 1; bob: 1 open (+ a privacy proxy's), 2 clicks on link 0 and a scanner's
    HEAD on link 2; cid: privacy-proxy open only, unsubscribed and complained; dan: hard bounce; fay: refused by the
    relay (failed delivery, no event)."""
    Subscriber.objects.filter(email="ann@example.net").update(first_name=FORMULA, last_name="Smith")
    subscribe("fay@example.net")
    campaign = sent_campaign(archive, admin_user)
    people = deliveries(campaign)
    ann, bob, cid, dan = (people[f"{n}@example.net"] for n in ("ann", "bob", "cid", "dan"))
    Delivery.objects.filter(pk=people["fay@example.net"].pk).update(
        status=DeliveryStatus.FAILED, sent_at=None, smtp_code=552, error="@SUM(1+1) mailbox full"
    )
    sample_activity(campaign, ann, bob, cid, dan)
    return campaign


def download(client, campaign, kind, export_format, **query):
    url = report_exports.export_url(campaign, kind, export_format, link=query.get("link"))
    response = client.get(url)
    assert response.status_code == 200, url
    content = b"".join(response.streaming_content)
    if export_format == "csv":
        return list(csv.DictReader(io.StringIO(content.decode())))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def emails(rows):
    return sorted(row["Email"] for row in rows)


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_each_export_lists_exactly_the_right_people(admin_client, campaign, export_format):
    openers = download(admin_client, campaign, "openers", export_format)
    assert emails(openers) == ["ann@example.net", "bob@example.net"]  # cid's proxy open is not a person's
    assert {row["Email"]: int(row["Opens"]) for row in openers} == {"ann@example.net": 2, "bob@example.net": 1}

    clickers = download(admin_client, campaign, "clickers", export_format)
    assert sorted((row["Email"], row["Link"], int(row["Clicks"])) for row in clickers) == [
        ("ann@example.net", LINKS[0], 1),
        ("ann@example.net", LINKS[1], 1),
        ("bob@example.net", LINKS[0], 2),
    ]  # bob's HEAD on link 2 was a scanner
    assert emails(download(admin_client, campaign, "clickers", export_format, link=1)) == ["ann@example.net"]
    assert download(admin_client, campaign, "clickers", export_format, link=2) == []

    bounced = {row["Email"]: row for row in download(admin_client, campaign, "bounced", export_format)}
    assert sorted(bounced) == ["dan@example.net", "fay@example.net"]
    assert bounced["dan@example.net"]["Bounce"] == "hard"
    assert bounced["dan@example.net"]["Server's answer"] == "550 5.1.1 no such user"
    assert bounced["dan@example.net"]["Time"]
    assert bounced["fay@example.net"]["Bounce"] == "hard" and str(bounced["fay@example.net"]["Code"]) == "552"
    assert bounced["fay@example.net"]["Server's answer"].endswith("@SUM(1+1) mailbox full")

    assert emails(download(admin_client, campaign, "unsubscribed", export_format)) == ["cid@example.net"]
    assert emails(download(admin_client, campaign, "complained", export_format)) == ["cid@example.net"]


def test_first_open_is_the_first_human_open(admin_client, campaign):
    rows = download(admin_client, campaign, "openers", "xlsx")
    ann = next(row for row in rows if row["Email"] == "ann@example.net")
    expected = (campaign.started_at + timedelta(minutes=10)).replace(tzinfo=None, microsecond=0)
    assert ann["First open"].replace(microsecond=0) == expected


def test_formulas_are_neutralised(admin_client, campaign):
    rows = {row["Email"]: row for row in download(admin_client, campaign, "openers", "csv")}
    assert rows["ann@example.net"]["Name"] == "'" + FORMULA + " Smith"
    bounced = {row["Email"]: row for row in download(admin_client, campaign, "bounced", "csv")}
    assert bounced["fay@example.net"]["Server's answer"] == "'@SUM(1+1) mailbox full"
    # XLSX: the cell is text (Wagtail's writer never stores a formula), with the value unchanged.
    url = report_exports.export_url(campaign, "openers", "xlsx")
    content = b"".join(admin_client.get(url).streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    ann = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "ann@example.net")
    assert ann[1].value == FORMULA + " Smith" and ann[1].data_type == "s"
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("bad", ["99", "abc", "-1", "1.0", "%2F%2Fevil.example", "0x1"])
def test_a_bad_link_number_is_a_404(admin_client, campaign, bad):
    url = report_exports.export_url(campaign, "clickers") + f"?link={bad}"
    assert admin_client.get(url).status_code == 404
    assert admin_client.get(url + "&export=csv").status_code == 404


def test_unknown_campaign_is_a_404(admin_client, campaign):
    url = report_exports.export_url(campaign, "openers").replace(f"/{campaign.pk}/", "/999999/")
    assert admin_client.get(url).status_code == 404


def test_listing_page_shows_the_people_and_the_download_buttons(admin_client, campaign):
    page = admin_client.get(report_exports.export_url(campaign, "clickers", link=0)).content.decode()
    assert "ann@example.net" in page and "bob@example.net" in page and LINKS[0] in page
    assert "export=csv" in page and "export=xlsx" in page and "link=0" in page
    results = admin_client.get(report_exports.export_url(campaign, "openers").replace("/openers/", "/openers/results/"))
    assert results.status_code == 200 and "ann@example.net" in results.content.decode()


def test_erased_and_forgotten_people_are_left_out(admin_client, campaign):
    people = deliveries(campaign)
    Delivery.objects.filter(pk=people["ann@example.net"].pk).update(subscriber=None)  # erased
    Subscriber.objects.filter(email="bob@example.net").update(erase_after=timezone.now())  # being erased
    for kind in ("openers", "clickers"):
        assert download(admin_client, campaign, kind, "csv") == []
    assert emails(download(admin_client, campaign, "bounced", "csv")) == ["dan@example.net", "fay@example.net"]


def test_people_listings_need_permission_to_view_campaigns(editor_client, newsletter_editor, campaign):
    for kind in ("openers", "clickers", "bounced", "unsubscribed", "complained"):
        assert_refused(editor_client, "get", report_exports.export_url(campaign, kind, "csv"))
        assert_refused(editor_client, "get", report_exports.export_url(campaign, kind))
    newsletter_editor.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    editor_client.force_login(type(newsletter_editor).objects.get(pk=newsletter_editor.pk))
    assert editor_client.get(report_exports.export_url(campaign, "openers", "csv")).status_code == 200


def export_queries(client, campaign, kind, export_format):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(report_exports.export_url(campaign, kind, export_format))
        b"".join(response.streaming_content)
    return len(queries)


def test_queries_do_not_grow_with_rows(admin_client, archive, admin_user, audience):
    """Three people or forty: the same number of queries for every export and listing."""
    campaign = sent_campaign(archive, admin_user)
    counts = []
    for size in (3, 40):
        Event.objects.all().delete()
        for n in range(size):
            subscribe(f"p{size}-{n}@example.net")
        Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
        from wagtail_newsletter.send.planner import plan_deliveries

        plan_deliveries(campaign)
        Delivery.objects.filter(campaign=campaign).update(status=DeliveryStatus.SENT, sent_at=campaign.started_at)
        for delivery in Delivery.objects.filter(campaign=campaign):
            for kind, link in ((EventKind.OPEN, None), (EventKind.CLICK, 0), (EventKind.CLICK, 1)):
                hit(campaign, delivery, kind, 30, link=link)
            hit(campaign, delivery, EventKind.SOFT_BOUNCE, 31, detail="452 try later")
            hit(campaign, delivery, EventKind.UNSUBSCRIBE, 32)
            hit(campaign, delivery, EventKind.COMPLAINT, 33)
        fold()
        counts.append(
            [
                export_queries(admin_client, campaign, kind, fmt)
                for kind in report_exports.KINDS
                for fmt in ("csv", "xlsx")
            ]
        )
    assert len(download(admin_client, campaign, "openers", "csv")) == Delivery.objects.filter(campaign=campaign).count()
    assert counts[0] == counts[1]


def test_export_links_and_follow_up_links(campaign, sender, editor_without_page_rights):
    labels = [label for label, _url in report_exports.export_links(campaign)]
    assert labels == ["Openers", "Clickers", "Bounced", "Unsubscribed", "Complained"]
    csv_links = report_exports.export_links(campaign, "csv")
    assert all(url.endswith("?export=csv") for _label, url in csv_links)
    assert report_exports.link_clickers_url(campaign, 1, "xlsx").endswith("/clickers/?link=1&export=xlsx")

    follow_ups = report_exports.follow_up_links(campaign, sender)
    assert [label for label, _url in follow_ups] == [
        "Resend to non-openers",
        "Resend to non-clickers",
        "Send to subscribers added since",
    ]
    assert follow_ups[0][1] == f"/admin/newsletter/campaigns/{campaign.pk}/follow-up/non_openers/"
    assert report_exports.follow_up_links(campaign, editor_without_page_rights) == []  # may not send

    draft = Campaign.objects.create(name="Draft", page=campaign.page, revision=campaign.revision)
    assert report_exports.export_links(draft) == [] and report_exports.follow_up_links(draft, sender) == []
    Campaign.objects.filter(pk=campaign.pk).update(track_opens=False, tracking_enabled=False)
    campaign.refresh_from_db()
    assert [label for label, _url in report_exports.follow_up_links(campaign)] == ["Send to subscribers added since"]


def test_unsubscribed_people_still_appear_in_what_they_did(admin_client, campaign):
    """The exports are about the campaign: a person unsubscribed since is still an opener of it."""
    Subscriber.objects.filter(email="ann@example.net").update(status=Status.UNSUBSCRIBED)
    assert "ann@example.net" in emails(download(admin_client, campaign, "openers", "csv"))


def test_listings_fold_the_latest_events_first(admin_client, archive, admin_user, audience):
    campaign = sent_campaign(archive, admin_user)
    hit(campaign, deliveries(campaign)["dan@example.net"], EventKind.OPEN, 10)  # not aggregated yet
    assert emails(download(admin_client, campaign, "openers", "csv")) == ["dan@example.net"]
