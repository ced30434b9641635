"""Groups (counts per status, link to their subscribers, export), custom fields and subscription forms."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils.form_data import rich_text

from wagtail_newsletter.models import (
    Consent,
    Field,
    Group,
    Membership,
    Status,
    Subscriber,
    SubscriptionForm,
)

pytestmark = pytest.mark.django_db

GROUPS_URL = reverse("wagtailsnippets_wagtail_newsletter_group:list")
FORMS_URL = reverse("wagtailsnippets_wagtail_newsletter_subscriptionform:list")
FORM_ADD_URL = reverse("wagtailsnippets_wagtail_newsletter_subscriptionform:add")


def member(group, email, status, **kwargs):
    subscriber = Subscriber.objects.create(email=email, status=status, **kwargs)
    Membership.objects.create(subscriber=subscriber, group=group)
    return subscriber


@pytest.fixture
def news():
    group = Group.objects.create(name="News")
    member(group, "s1@example.org", Status.SUBSCRIBED)
    member(group, "s2@example.org", Status.SUBSCRIBED)
    member(group, "p@example.org", Status.PENDING)
    member(group, "u@example.org", Status.UNSUBSCRIBED)
    member(group, "b@example.org", Status.BOUNCED)
    member(group, "c@example.org", Status.COMPLAINED)
    member(group, "gone@example.org", Status.SUBSCRIBED, deleted_at=timezone.now())
    return group


def test_group_counts_per_status_exclude_deleted_subscribers(admin_client, news):
    Group.objects.create(name="Empty")
    response = admin_client.get(GROUPS_URL)
    group = next(g for g in response.context["object_list"] if g.name == "News")
    assert (group.subscribed_count, group.pending_count, group.unsubscribed_count) == (2, 1, 1)
    assert (group.bounced_count, group.complained_count, group.total_count) == (1, 1, 6)


def test_group_counts_take_one_query_whatever_the_number_of_groups(admin_client, news):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        admin_client.get(GROUPS_URL)
    for i in range(20):
        member(Group.objects.create(name=f"G{i}"), f"x{i}@example.org", Status.SUBSCRIBED)
    with CaptureQueriesContext(connection) as many:
        admin_client.get(GROUPS_URL)
    assert len(many) == len(few)


def test_group_links_to_its_filtered_subscribers(admin_client, news):
    html = admin_client.get(GROUPS_URL).content.decode()
    link = reverse("wagtailsnippets_wagtail_newsletter_subscriber:list") + f"?group={news.pk}"
    assert link in html


def test_group_export_has_counts(admin_client, news):
    response = admin_client.get(GROUPS_URL, {"export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "Name" and rows[0][-1] == "Total"
    assert rows[1][0] == "News" and rows[1][-1] == "6"


def test_custom_field_created_through_the_admin(admin_client):
    url = reverse("wagtailsnippets_wagtail_newsletter_field:add")
    response = admin_client.post(
        url, {"label": "City", "key": "city", "type": "text", "choices": "", "default": "", "sort_order": 0}
    )
    assert response.status_code == 302
    assert Field.objects.get().key == "city"


def test_custom_field_with_a_reserved_key_is_refused(admin_client):
    url = reverse("wagtailsnippets_wagtail_newsletter_field:add")
    admin_client.post(url, {"label": "E", "key": "email", "type": "text", "sort_order": 0})
    assert not Field.objects.exists()


def _form_post(**overrides):
    data = {
        "name": "Footer",
        "title": "Our news",
        "introduction": rich_text("<p>introduction</p>"),
        "consent_text": "I agree",
        "button_label": "Subscribe",
        "label_style": "above",
        "primary_colour": "#112233",
        "background_colour": "#ffffff",
        "text_colour": "#000000",
        "notify_email": "",
        "success_text": rich_text("<p>success_text</p>"),
        "email_subject": "Please confirm",
        "email_from": "",
        "email_body": rich_text("<p>email_body</p>"),
        "email_button_label": "Confirm",
        "confirmed_text": rich_text("<p>confirmed_text</p>"),
        "form_fields-TOTAL_FORMS": "1",
        "form_fields-INITIAL_FORMS": "0",
        "form_fields-MIN_NUM_FORMS": "0",
        "form_fields-MAX_NUM_FORMS": "1000",
        "form_fields-0-builtin": "first_name",
        "form_fields-0-custom_field": "",
        "form_fields-0-required": "on",
        "form_fields-0-ORDER": "1",
        "form_fields-0-DELETE": "",
        "form_fields-0-id": "",
        "form_fields-1-builtin": "",
        "form_fields-1-custom_field": "",
        "form_fields-1-required": "",
        "form_fields-1-ORDER": "2",
        "form_fields-1-DELETE": "",
        "form_fields-1-id": "",
    }
    data.update(overrides)
    return data


def test_subscription_form_created_with_inline_fields(admin_client):
    city = Field.objects.create(label="City", key="city")
    news = Group.objects.create(name="News")
    response = admin_client.post(
        FORM_ADD_URL,
        _form_post(**{"groups": [news.pk], "form_fields-TOTAL_FORMS": "2", "form_fields-1-custom_field": city.pk}),
    )
    assert response.status_code == 302, response.context["form"].errors
    form = SubscriptionForm.objects.get()
    assert [f.key for f in form.form_fields.all()] == ["first_name", "city"]
    assert form.form_fields.first().required
    assert list(form.groups.all()) == [news]


def test_subscription_form_with_bad_colour_writes_nothing(admin_client):
    response = admin_client.post(FORM_ADD_URL, _form_post(primary_colour="red"))
    assert response.status_code == 200
    assert not SubscriptionForm.objects.exists()


def test_subscription_form_edited_through_the_admin(admin_client):
    admin_client.post(FORM_ADD_URL, _form_post())
    form = SubscriptionForm.objects.get()
    field = form.form_fields.get()
    url = reverse("wagtailsnippets_wagtail_newsletter_subscriptionform:edit", args=[form.pk])
    assert admin_client.get(url).status_code == 200
    data = _form_post(
        name="Renamed",
        **{
            "form_fields-TOTAL_FORMS": "1",
            "form_fields-INITIAL_FORMS": "1",
            "form_fields-0-id": str(field.pk),
            "form_fields-0-builtin": "last_name",
        },
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302
    form.refresh_from_db()
    assert form.name == "Renamed"
    assert [f.key for f in form.form_fields.all()] == ["last_name"]


def test_subscription_form_listing_shows_counters(admin_client):
    form = SubscriptionForm.objects.create(name="Footer", views=10)
    Consent.objects.create(form=form, text="t", confirmed_at=timezone.now())
    Consent.objects.create(form=form, text="t")
    Consent.objects.create(form=form, text="t")
    Consent.objects.create(form=form, text="t", confirmed_at=timezone.now())
    response = admin_client.get(FORMS_URL)
    row = response.context["object_list"][0]
    assert (row.views, row.submissions, row.confirmations) == (10, 4, 2)
    assert "50%" in response.content.decode()


def test_menu_items_hidden_without_permission(client, django_user_model):
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="change_group", content_type__app_label="wagtail_newsletter"),
    )
    client.force_login(user)
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert GROUPS_URL in html
    assert reverse("wagtailsnippets_wagtail_newsletter_subscriber:list") not in html
    assert client.get(FORMS_URL).status_code in (302, 403)
