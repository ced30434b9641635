"""The "Messages received" report (admin/reports/inbound_messages.py): rows of InboundMessage made with the ORM,
listed newest first with their class in words and their campaign linked; filters by class, way in, campaign, date
and recipient (bad values too); CSV and XLSX exports (filtered, formula-safe); the menu item and the permission;
queries that do not grow with the rows."""

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.admin.reports.inbound_messages import InboundMessagesMenuItem, inbound_messages_viewset
from wagtail_newsletter.deliverability.models import InboundMessage, InboundVia

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    assert_refused,
    audience_fixture,
    editor_client_fixture,
)
from .report_fixtures import sent_campaign

pytestmark = pytest.mark.django_db

URL = reverse("newsletter_inbound_messages:index")
RESULTS_URL = reverse("newsletter_inbound_messages:index_results")
FORMULA = '=HYPERLINK("http://evil.example","x")'


def message(n, cls, via=InboundVia.IMAP, days_ago=0, campaign=None, **fields):
    return InboundMessage.objects.create(
        digest=f"{n:064x}",
        received_at=timezone.now() - timedelta(days=days_ago, minutes=n),
        via=via,
        cls=cls,
        campaign=campaign,
        **fields,
    )


@pytest.fixture
def rows(archive, admin_user, audience):
    """Two campaigns; a hard bounce and a complaint about Spring, a soft bounce about Summer ten days ago, an
    auto-reply about nothing of ours, an unsubscribe by mail through the pipe, and a webhook's transient failure."""
    spring = sent_campaign(archive, admin_user, name="Spring")
    summer = sent_campaign(archive, admin_user, name="Summer")
    return {
        "spring": spring,
        "summer": summer,
        "hard": message(1, "hard", campaign=spring, kind="dsn", status="5.1.1", recipients="ann@example.net",
                        outcome="ann@example.net is now bounced", reason="550 5.1.1 user unknown"),
        "complaint": message(2, "complaint", campaign=spring, kind="arf", recipients="bob@example.net",
                             outcome="bob@example.net complained"),
        "soft": message(3, "soft", campaign=summer, days_ago=10, status="5.2.2", recipients="cid@example.net",
                        reason=FORMULA),
        "none": message(4, "none", kind="autoreply", recipients=""),
        "unsubscribe": message(5, "unsubscribe", via=InboundVia.PIPE, campaign=summer, recipients="dan@example.net"),
        "transient": message(6, "transient", via=InboundVia.WEBHOOK, campaign=spring, status="4.4.7",
                             recipients="=cmd|' /C calc'!A0@example.net"),
    }  # fmt: skip


def listed(client, **query):
    """The row ids shown (in order) for ``query``."""
    response = client.get(RESULTS_URL, query)
    assert response.status_code == 200
    return list(response.context["object_list"].values_list("pk", flat=True))


def ids(rows, *names):
    return [rows[name].pk for name in names]


def download(client, export_format, **query):
    response = client.get(URL, {**query, "export": export_format})
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if export_format == "csv":
        return list(csv.DictReader(io.StringIO(content.decode())))
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    table = list(sheet.iter_rows(values_only=True))
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


# The listing


def test_the_listing_shows_every_message_newest_first_in_words(admin_client, rows):
    response = admin_client.get(URL)
    page = response.content.decode()
    assert response.status_code == 200 and "Messages received" in page
    assert listed(admin_client) == ids(rows, "hard", "complaint", "none", "unsubscribe", "transient", "soft")
    shown = ("Hard bounce", "Complaint", "Not a bounce", "Unsubscribe by mail", "Temporary failure", "Soft bounce",
             "IMAP mailbox", "Pipe from the mail server", "ann@example.net is now bounced")  # fmt: skip
    assert [words for words in shown if words not in page] == []
    report = reverse("newsletter_campaigns:report", args=[rows["spring"].pk])
    assert f'href="{report}" data-inbound-campaign>Spring<' in page


def test_the_listing_is_empty_but_fine_without_messages(admin_client, db):
    response = admin_client.get(URL)
    assert response.status_code == 200 and list(response.context["object_list"]) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"cls": "hard"}, ["hard"]),
        ({"cls": "unsubscribe"}, ["unsubscribe"]),
        ({"via": "pipe"}, ["unsubscribe"]),
        ({"via": "webhook"}, ["transient"]),
        ({"via": "imap", "cls": "complaint"}, ["complaint"]),
        ({"recipient": "CID@"}, ["soft"]),
    ],
)
def test_filters_by_class_way_in_and_recipient(admin_client, rows, query, expected):
    assert listed(admin_client, **query) == ids(rows, *expected)


def test_filter_by_campaign(admin_client, rows):
    assert listed(admin_client, campaign=rows["spring"].pk) == ids(rows, "hard", "complaint", "transient")
    assert listed(admin_client, campaign=rows["summer"].pk) == ids(rows, "unsubscribe", "soft")


def test_filter_by_date(admin_client, rows):
    today = timezone.localdate()
    recent = {"received_at_from": (today - timedelta(days=2)).isoformat()}
    assert rows["soft"].pk not in listed(admin_client, **recent) and len(listed(admin_client, **recent)) == 5
    old = {"received_at_to": (today - timedelta(days=5)).isoformat()}
    assert listed(admin_client, **old) == ids(rows, "soft")


@pytest.mark.parametrize(
    "query",
    [{"cls": "bogus"}, {"via": "carrier-pigeon"}, {"campaign": "999999"}, {"campaign": "x"},
     {"received_at_from": "not a date"}],
)  # fmt: skip
def test_bad_filter_values_are_refused_without_an_error_page(admin_client, rows, query):
    response = admin_client.get(URL, query)
    assert response.status_code == 200
    assert response.context["filters"].errors


def test_queries_do_not_grow_with_the_rows(admin_client, rows, django_assert_max_num_queries):
    with django_assert_max_num_queries(30) as few:
        admin_client.get(URL)
    for n in range(40):
        message(100 + n, "hard", campaign=rows["spring"] if n % 2 else rows["summer"], recipients=f"p{n}@example.net")
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(URL)


# Exports


@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_exports_have_every_column_and_follow_the_filters(admin_client, rows, export_format):
    table = download(admin_client, export_format, campaign=rows["spring"].pk)
    assert [row["Recipients"] for row in table][:2] == ["ann@example.net", "bob@example.net"]
    assert len(table) == 3
    hard = table[0]
    assert set(hard) == {"Received", "Received through", "Class", "Format", "Status code", "Recipients", "Campaign",
                         "Outcome", "Reason"}  # fmt: skip
    assert (hard["Class"], hard["Format"], hard["Status code"], hard["Campaign"]) == ("Hard bounce", "dsn", "5.1.1",
                                                                                      "Spring")  # fmt: skip
    assert hard["Received through"] == "IMAP mailbox" and hard["Reason"] == "550 5.1.1 user unknown"


def test_csv_cells_never_become_formulas(admin_client, rows):
    table = {row["Class"]: row for row in download(admin_client, "csv")}
    assert table["Soft bounce"]["Reason"] == "'" + FORMULA
    assert table["Temporary failure"]["Recipients"].startswith("'=cmd")
    assert table["Not a bounce"]["Campaign"] == ""


def test_xlsx_keeps_formula_like_text_as_text(admin_client, rows):
    table = {row["Class"]: row for row in download(admin_client, "xlsx")}
    assert table["Soft bounce"]["Reason"] in (FORMULA, "'" + FORMULA)  # stored as a string, never evaluated


# Who may see it


def test_people_who_may_not_view_campaigns_are_refused(editor_client, newsletter_editor, rows, rf):
    assert_refused(editor_client, "get", URL)
    assert_refused(editor_client, "get", URL + "?export=csv")
    request = rf.get("/")
    request.user = newsletter_editor
    menu_item = inbound_messages_viewset.get_menu_item()
    assert isinstance(menu_item, InboundMessagesMenuItem) and not menu_item.is_shown(request)
    newsletter_editor.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    request.user = type(newsletter_editor).objects.get(pk=newsletter_editor.pk)  # fresh permission cache
    assert menu_item.is_shown(request)
    assert editor_client.get(URL).status_code == 200


def test_the_newsletter_menu_lists_it(admin_client, rows):
    page = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Messages received" in page and URL in page
