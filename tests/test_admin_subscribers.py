"""The subscribers admin: listing, search, filters, export, create/edit, soft delete, permissions."""

import csv
import datetime
import io

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.models import Field, Group, Membership, Source, Status, StatusEvent, Subscriber

pytestmark = pytest.mark.django_db

LIST_URL = reverse("wagtailsnippets_wagtail_newsletter_subscriber:list")
ADD_URL = reverse("wagtailsnippets_wagtail_newsletter_subscriber:add")


def edit_url(subscriber):
    return reverse("wagtailsnippets_wagtail_newsletter_subscriber:edit", args=[subscriber.pk])


def make(email, status=Status.SUBSCRIBED, groups=(), **kwargs):
    subscriber = Subscriber.objects.create(email=email, status=status, **kwargs)
    for group in groups:
        Membership.objects.create(subscriber=subscriber, group=group)
    return subscriber


def listed_emails(response):
    return {s.email for s in response.context["object_list"]}


def test_listing_shows_subscribers_with_status_and_groups(admin_client):
    news = Group.objects.create(name="News")
    make("ada@example.org", groups=[news], first_name="Ada", last_name="Lovelace")
    response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "ada@example.org" in html and "Ada Lovelace" in html and "News" in html
    assert "wn-status--subscribed" in html


def test_search_matches_email_and_names_without_a_search_index(admin_client):
    make("ada@example.org", first_name="Ada")
    make("bob@example.org", last_name="Builder")
    assert listed_emails(admin_client.get(LIST_URL, {"q": "builder"})) == {"bob@example.org"}
    assert listed_emails(admin_client.get(LIST_URL, {"q": "ADA@"})) == {"ada@example.org"}


def test_filter_by_status(admin_client):
    make("a@example.org")
    make("b@example.org", status=Status.UNSUBSCRIBED)
    assert listed_emails(admin_client.get(LIST_URL, {"status": "unsubscribed"})) == {"b@example.org"}


def test_filter_by_group(admin_client):
    news = Group.objects.create(name="News")
    make("a@example.org", groups=[news])
    make("b@example.org")
    assert listed_emails(admin_client.get(LIST_URL, {"group": news.pk})) == {"a@example.org"}


def test_filter_by_source(admin_client):
    make("a@example.org", source=Source.IMPORT)
    make("b@example.org", source=Source.FORM)
    assert listed_emails(admin_client.get(LIST_URL, {"source": "import"})) == {"a@example.org"}


def test_filter_by_created_date_range(admin_client):
    make("old@example.org", created_at=timezone.now() - datetime.timedelta(days=40))
    make("new@example.org")
    since = (timezone.localdate() - datetime.timedelta(days=7)).isoformat()
    assert listed_emails(admin_client.get(LIST_URL, {"created_at_from": since})) == {"new@example.org"}


def test_filter_by_first_subscribed_date_range(admin_client):
    make("old@example.org", first_subscribed_at=timezone.now() - datetime.timedelta(days=400))
    make("new@example.org", first_subscribed_at=timezone.now())
    until = (timezone.localdate() - datetime.timedelta(days=30)).isoformat()
    assert listed_emails(admin_client.get(LIST_URL, {"first_subscribed_at_to": until})) == {"old@example.org"}


def test_deleted_subscribers_are_not_listed(admin_client):
    make("gone@example.org", deleted_at=timezone.now())
    assert listed_emails(admin_client.get(LIST_URL)) == set()


def _listing_queries(client, django_assert_max_num_queries, count):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST_URL)
    assert len(response.context["object_list"]) == count
    return len(captured)


def test_listing_query_count_does_not_grow_with_rows(admin_client, django_assert_max_num_queries):
    groups = [Group.objects.create(name=f"G{i}") for i in range(3)]
    for i in range(5):
        make(f"s{i}@example.org", groups=groups)
    few = _listing_queries(admin_client, django_assert_max_num_queries, 5)
    for i in range(5, 50):
        make(f"s{i}@example.org", groups=groups)
    many = _listing_queries(admin_client, django_assert_max_num_queries, 50)
    assert many == few


@pytest.fixture
def city():
    return Field.objects.create(label="City", key="city")


def test_csv_export_of_filtered_listing_has_custom_field_columns(admin_client, city):
    news = Group.objects.create(name="News")
    make("a@example.org", groups=[news], data={"city": "Paris"})
    make("b@example.org", status=Status.UNSUBSCRIBED, data={"city": "Lyon"})
    response = admin_client.get(LIST_URL, {"status": "subscribed", "export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "Email", "First name", "Last name", "Language", "Status", "Groups", "Source", "First subscribed", "Created",
        "City",
    ]  # fmt: skip
    assert len(rows) == 2
    assert rows[1][0] == "a@example.org" and rows[1][4] == "Subscribed" and rows[1][5] == "News"
    assert rows[1][-1] == "Paris"


def test_xlsx_export_cells_read_back(admin_client, city):
    make("a@example.org", first_name="Ada", data={"city": "Paris"})
    make("b@example.org", status=Status.BOUNCED)
    response = admin_client.get(LIST_URL, {"status": "subscribed", "export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Email" and rows[0][-1] == "City"
    assert len(rows) == 2
    assert rows[1][0] == "a@example.org" and rows[1][1] == "Ada" and rows[1][-1] == "Paris"


def test_csv_export_neutralises_formulas(admin_client, city):
    make("a@example.org", first_name='=HYPERLINK("http://evil")', last_name="+1", data={"city": "@SUM(A1)"})
    response = admin_client.get(LIST_URL, {"export": "csv"})
    row = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1]
    assert row[1] == '\'=HYPERLINK("http://evil")'
    assert row[2] == "'+1"
    assert row[-1] == "'@SUM(A1)"


def test_xlsx_export_writes_formulas_as_text(admin_client):
    make("a@example.org", first_name="=1+1")
    response = admin_client.get(LIST_URL, {"export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    cell = sheet.cell(row=2, column=2)
    assert cell.value == "=1+1" and cell.data_type == "s"


def _form_data(**overrides):
    data = {"email": "new@example.org", "first_name": "", "last_name": "", "language": ""}
    data.update(overrides)
    return data


def test_create_subscriber_normalises_email_and_records_who_added_it(admin_client, admin_user, city):
    news = Group.objects.create(name="News")
    response = admin_client.post(
        ADD_URL, _form_data(email="  New@Example.ORG ", groups=[news.pk], custom__city="Paris")
    )
    assert response.status_code == 302
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "new@example.org"
    assert subscriber.status == Status.SUBSCRIBED and subscriber.source == Source.ADMIN
    assert subscriber.data == {"city": "Paris"}
    assert list(subscriber.groups.all()) == [news]
    event = StatusEvent.objects.get(subscriber=subscriber)
    assert event.new_status == Status.SUBSCRIBED and event.actor == admin_user


def test_create_with_invalid_email_writes_nothing(admin_client):
    response = admin_client.post(ADD_URL, _form_data(email="not-an-address"))
    assert response.status_code == 200
    assert Subscriber.all_objects.count() == 0 and StatusEvent.objects.count() == 0


def test_create_with_line_break_in_name_writes_nothing(admin_client):
    response = admin_client.post(ADD_URL, _form_data(first_name="Ada\r\nBcc: x@example.org"))
    assert response.status_code == 200
    assert Subscriber.all_objects.count() == 0


def test_create_with_an_existing_address_is_refused(admin_client):
    make("new@example.org")
    response = admin_client.post(ADD_URL, _form_data(email="NEW@example.org"))
    assert response.status_code == 200
    assert Subscriber.all_objects.count() == 1


def test_create_with_a_deleted_address_restores_that_subscriber(admin_client):
    old = make("new@example.org", status=Status.UNSUBSCRIBED, deleted_at=timezone.now(), first_name="Old")
    StatusEvent.objects.create(subscriber=old, new_status=Status.UNSUBSCRIBED, source=Source.UNSUBSCRIBE_LINK)
    response = admin_client.post(ADD_URL, _form_data(first_name="New"))
    assert response.status_code == 302
    restored = Subscriber.objects.get()
    assert restored.pk == old.pk and restored.first_name == "New"
    # Its earlier status and history come back with it.
    assert restored.status == Status.UNSUBSCRIBED
    assert restored.status_events.filter(source=Source.UNSUBSCRIBE_LINK).exists()


def test_custom_field_value_of_wrong_type_is_refused(admin_client):
    Field.objects.create(label="Age", key="age", type=Field.Type.NUMBER)
    response = admin_client.post(ADD_URL, _form_data(custom__age="old"))
    assert response.status_code == 200
    assert Subscriber.all_objects.count() == 0


def test_edit_keeps_status_and_updates_data(admin_client, city):
    subscriber = make("a@example.org", status=Status.UNSUBSCRIBED, data={"city": "Paris", "other": 1})
    response = admin_client.post(edit_url(subscriber), _form_data(email="a@example.org", custom__city="Lyon",
                                                                   status="subscribed"))  # fmt: skip
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.status == Status.UNSUBSCRIBED
    assert subscriber.data == {"city": "Lyon", "other": 1}


def test_edit_page_shows_status_history_and_consents(admin_client, admin_user):
    subscriber = make("a@example.org")
    StatusEvent.objects.create(
        subscriber=subscriber, old_status=Status.PENDING, new_status=Status.SUBSCRIBED,
        source=Source.CONFIRMATION, actor=admin_user,
    )  # fmt: skip
    subscriber.consents.create(text="I agree to the weekly news", ip_network="192.0.2.0/24")
    html = admin_client.get(edit_url(subscriber)).content.decode()
    assert "Double opt-in confirmation" in html
    assert "I agree to the weekly news" in html and "192.0.2.0/24" in html


def test_delete_view_is_a_soft_delete(admin_client, admin_user):
    subscriber = make("a@example.org")
    url = reverse("wagtailsnippets_wagtail_newsletter_subscriber:delete", args=[subscriber.pk])
    response = admin_client.post(url)
    assert response.status_code == 302
    assert not Subscriber.objects.exists()
    row = Subscriber.all_objects.get(pk=subscriber.pk)
    assert row.deleted_at is not None
    assert StatusEvent.objects.get(subscriber=row, note="deleted").actor == admin_user


@pytest.fixture
def editor_client(client, django_user_model):
    """A user who may use the admin but has no newsletter permission."""
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    return client


def test_user_without_permission_cannot_list_subscribers(editor_client):
    assert editor_client.get(LIST_URL).status_code in (302, 403)


def test_user_without_permission_does_not_see_the_newsletter_menu(editor_client):
    html = editor_client.get(reverse("wagtailadmin_home")).content.decode()
    assert LIST_URL not in html


def test_user_with_change_permission_can_edit(client, django_user_model):
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"), Permission.objects.get(codename="change_subscriber")
    )
    client.force_login(user)
    subscriber = make("a@example.org")
    assert client.get(LIST_URL).status_code == 200
    assert client.get(edit_url(subscriber)).status_code == 200
    assert client.get(ADD_URL).status_code in (302, 403)


def test_add_page_shows_one_input_per_custom_field(admin_client, city):
    html = admin_client.get(ADD_URL).content.decode()
    assert 'name="custom__city"' in html and 'name="email"' in html
    assert 'name="status"' not in html
