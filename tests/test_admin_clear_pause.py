"""Editors end a subscriber's pause in the admin: a button on the paused subscriber's edit view, a confirmation
page, the POST that ends it — recorded in the subscriber's newsletter history with the editor's name."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from wagtail_newsletter.admin.audience.subscriber_history import history_url
from wagtail_newsletter.audience import preferences
from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.audience.preference_log import PreferenceChange, PreferenceChangeKind

from .campaign_admin_fixtures import assert_refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def paused():
    person = Subscriber.objects.create(email="rest@example.net", status=Status.SUBSCRIBED)
    preferences.pause(person, 3)
    return person


def url(name, subscriber):
    return reverse(f"wagtailsnippets_wagtail_newsletter_subscriber:{name}", args=[subscriber.pk])


def test_an_editor_ends_the_pause_and_the_history_says_who(admin_client, admin_user, paused):
    edit = admin_client.get(url("edit", paused)).content.decode()
    assert url("clear_pause", paused) in edit  # the header's "End the pause"
    confirm = admin_client.get(url("clear_pause", paused))
    assert confirm.status_code == 200 and "data-paused-until" in confirm.content.decode()
    paused.refresh_from_db()
    assert preferences.is_paused(paused)  # a GET changes nothing

    response = admin_client.post(url("clear_pause", paused))

    assert response.status_code == 302 and response.url == url("edit", paused)
    paused.refresh_from_db()
    assert paused.paused_until is None and paused.status == Status.SUBSCRIBED
    change = PreferenceChange.objects.get(subscriber=paused, kind=PreferenceChangeKind.RESUME)
    assert change.data["by"] == admin_user.get_username() and change.data["user_id"] == admin_user.pk
    history = admin_client.get(history_url(paused)).content.decode()
    assert f"ended by {admin_user.get_username()}" in history
    assert url("clear_pause", paused) not in admin_client.get(url("edit", paused)).content.decode()


def test_a_subscriber_who_is_not_paused_is_left_alone(admin_client):
    person = Subscriber.objects.create(email="busy@example.net", status=Status.SUBSCRIBED)
    assert url("clear_pause", person) not in admin_client.get(url("edit", person)).content.decode()
    response = admin_client.post(url("clear_pause", person), follow=True)
    assert "is not paused" in response.content.decode()
    assert not PreferenceChange.objects.exists()


def test_only_users_who_may_change_subscribers_end_a_pause(client, django_user_model, paused):
    viewer = django_user_model.objects.create_user("viewer", "viewer@example.org", "pw")
    viewer.user_permissions.add(
        Permission.objects.get(codename="access_admin"),
        Permission.objects.get(codename="view_subscriber"),
    )
    client.force_login(viewer)

    assert_refused(client, "post", url("clear_pause", paused))
    assert_refused(client, "get", url("clear_pause", paused))

    paused.refresh_from_db()
    assert preferences.is_paused(paused) and not PreferenceChange.objects.filter(kind="resume").exists()
