"""The segments admin: the snippet with its condition builder, the live count endpoint, the subscribers listing filtered
by a segment with its CSV/XLSX export, and permissions."""

import csv
import io
import json

import openpyxl
import pytest
from django.contrib.auth.models import Group as UserGroup
from django.contrib.auth.models import Permission
from django.urls import reverse

from wagtail_newsletter.growth.segments import Segment
from wagtail_newsletter.models import Field, Group, Membership, Subscriber

pytestmark = pytest.mark.django_db

ADD_URL = reverse("wagtailsnippets_wagtail_newsletter_segment:add")
COUNT_URL = reverse("wagtailsnippets_wagtail_newsletter_segment:count")
LIST_URL = reverse("wagtailsnippets_wagtail_newsletter_segment:list")
SUBSCRIBERS_URL = reverse("wagtailsnippets_wagtail_newsletter_subscriber:list")


@pytest.fixture
def people():
    Field.objects.create(key="city", label="City")
    vip = Group.objects.create(name="VIP")
    made = {}
    rows = [("ann", "Lyon", "subscribed"), ("bob", "Lyon", "unsubscribed"), ("cat", "Nice", "subscribed"),
            ("dan", "Lyon", "subscribed")]  # fmt: skip
    for name, city, status in rows:
        made[name] = Subscriber.objects.create(
            email=f"{name}@example.org", first_name=name.title(), status=status, data={"city": city}
        )
    Membership.objects.create(subscriber=made["dan"], group=vip)
    return made, vip


def lyon_not_vip(vip):
    return {"and": [{"field": "data.city", "op": "is", "value": "Lyon"}, {"not": {"groups": "any", "ids": [vip.pk]}}]}


def count(client, conditions):
    return client.post(COUNT_URL, json.dumps({"conditions": conditions}), content_type="application/json")


def test_live_count_and_sample(admin_client, people):
    made, vip = people
    response = count(admin_client, lyon_not_vip(vip))
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    assert {row["email"] for row in data["sample"]} == {"ann@example.org", "bob@example.org"}
    assert {row["status"] for row in data["sample"]} == {"Subscribed", "Unsubscribed"}
    assert count(admin_client, {}).json()["count"] == 4


def test_live_count_of_invalid_conditions_says_what_is_wrong(admin_client, people):
    response = count(admin_client, {"and": [{"field": "data.shoe", "op": "is", "value": "9"}]})
    assert response.status_code == 400
    assert response.json()["errors"] == ["and[0].field: unknown field “data.shoe”."]
    garbage = admin_client.post(COUNT_URL, "not json", content_type="application/json")
    assert garbage.status_code == 400
    assert admin_client.get(COUNT_URL).status_code == 405


def test_live_count_needs_a_subscriber_permission(client, django_user_model, people):
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    refused = count(client, {})
    assert refused.status_code in (302, 403) and b"count" not in refused.content  # Wagtail's "permission denied"
    viewers = UserGroup.objects.create(name="Viewers")
    viewers.permissions.add(Permission.objects.get(codename="view_subscriber"))
    user.groups.add(viewers)
    assert count(client, {}).json()["count"] == 4


def test_segment_is_saved_from_the_form(admin_client, people):
    made, vip = people
    conditions = lyon_not_vip(vip)
    response = admin_client.post(ADD_URL, {"name": "Lyon", "description": "", "conditions": json.dumps(conditions)})
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert segment.conditions == conditions
    assert set(segment.subscribers().values_list("email", flat=True)) == {"ann@example.org", "bob@example.org"}


def test_invalid_segment_form_shows_the_error_and_saves_nothing(admin_client, people):
    bad = {"and": [{"field": "email", "op": "near", "value": "x"}]}
    response = admin_client.post(ADD_URL, {"name": "Bad", "description": "", "conditions": json.dumps(bad)})
    assert response.status_code == 200
    assert "and[0].op: unknown operator" in response.content.decode()
    sql = admin_client.post(ADD_URL, {"name": "SQL", "description": "", "conditions": '"1=1; DROP TABLE x"'})
    assert "a condition must be an object" in sql.content.decode()
    assert not Segment.objects.exists()


def test_edit_form_draws_the_builder_with_its_catalogue(admin_client, people):
    made, vip = people
    segment = Segment.objects.create(name="Lyon", conditions=lyon_not_vip(vip))
    html = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_segment:edit", args=[segment.pk])).content
    html = html.decode()
    assert "data-segment-builder" in html and "segment_builder.js" in html
    assert f'data-count-url="{COUNT_URL}"' in html
    assert '"data.city"' in html and '"VIP"' in html


def test_listing_links_to_subscribers_and_exports(admin_client, people):
    made, vip = people
    segment = Segment.objects.create(name="Lyon", conditions=lyon_not_vip(vip))
    html = admin_client.get(LIST_URL).content.decode()
    assert f"?segment={segment.pk}&amp;export=csv" in html


def test_subscribers_listing_filters_and_exports_a_segment(admin_client, people):
    made, vip = people
    segment = Segment.objects.create(name="Lyon", conditions=lyon_not_vip(vip))
    response = admin_client.get(SUBSCRIBERS_URL, {"segment": segment.pk})
    assert {s.email for s in response.context["object_list"]} == {"ann@example.org", "bob@example.org"}
    exported = admin_client.get(SUBSCRIBERS_URL, {"segment": segment.pk, "export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert rows[0][0] == "Email"
    assert sorted(row[0] for row in rows[1:]) == ["ann@example.org", "bob@example.org"]
    xlsx = admin_client.get(SUBSCRIBERS_URL, {"segment": segment.pk, "export": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sorted(row[0].value for row in sheet.iter_rows(min_row=2)) == ["ann@example.org", "bob@example.org"]
