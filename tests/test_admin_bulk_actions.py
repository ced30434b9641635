"""Bulk actions on subscribers: confirmation step, effect, history with the manager as actor."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience import services
from wagtail_newsletter.models import Group, Membership, Status, StatusEvent, Subscriber, Suppression

pytestmark = pytest.mark.django_db


def action_url(action, subscribers):
    ids = "&".join(f"id={s.pk}" for s in subscribers)
    return reverse("wagtail_bulk_action", args=("wagtail_newsletter", "subscriber", action)) + "?" + ids


@pytest.fixture
def two():
    return [
        Subscriber.objects.create(email="a@example.org", status=Status.SUBSCRIBED),
        Subscriber.objects.create(email="b@example.org", status=Status.SUBSCRIBED),
    ]


@pytest.fixture
def news():
    return Group.objects.create(name="News")


def test_confirmation_page_lists_subscribers_and_changes_nothing(admin_client, two):
    response = admin_client.get(action_url("unsubscribe", two))
    assert response.status_code == 200
    assert "a@example.org" in response.content.decode()
    assert not StatusEvent.objects.exists()
    assert Subscriber.objects.filter(status=Status.SUBSCRIBED).count() == 2


def test_add_to_group(admin_client, two, news):
    response = admin_client.post(action_url("add_to_group", two), {"group": news.pk})
    assert response.status_code == 302
    assert set(news.subscribers.values_list("email", flat=True)) == {"a@example.org", "b@example.org"}


def test_add_to_group_without_choosing_one_writes_nothing(admin_client, two):
    response = admin_client.post(action_url("add_to_group", two), {})
    assert response.status_code == 200
    assert not Membership.objects.exists()


def test_remove_from_group(admin_client, two, news):
    for subscriber in two:
        Membership.objects.create(subscriber=subscriber, group=news)
    admin_client.post(action_url("remove_from_group", two[:1]), {"group": news.pk})
    assert list(news.subscribers.values_list("email", flat=True)) == ["b@example.org"]


def test_unsubscribe_records_the_manager(admin_client, admin_user, two):
    admin_client.post(action_url("unsubscribe", two))
    assert Subscriber.objects.filter(status=Status.UNSUBSCRIBED).count() == 2
    events = StatusEvent.objects.filter(new_status=Status.UNSUBSCRIBED)
    assert events.count() == 2 and {e.actor for e in events} == {admin_user}


def test_resubscribe_keeps_first_subscription_date(admin_client, admin_user, two):
    first = timezone.now() - datetime.timedelta(days=300)
    Subscriber.objects.filter(pk=two[0].pk).update(status=Status.UNSUBSCRIBED, first_subscribed_at=first)
    admin_client.post(action_url("resubscribe", two[:1]))
    subscriber = Subscriber.objects.get(pk=two[0].pk)
    assert subscriber.status == Status.SUBSCRIBED and subscriber.first_subscribed_at == first
    assert StatusEvent.objects.get(subscriber=subscriber, new_status=Status.SUBSCRIBED).actor == admin_user


def test_bulk_delete_is_soft(admin_client, admin_user, two):
    response = admin_client.post(action_url("delete", two))
    assert response.status_code == 302
    assert not Subscriber.objects.exists()
    assert Subscriber.all_objects.filter(deleted_at__isnull=False).count() == 2
    assert StatusEvent.objects.filter(note="deleted", actor=admin_user).count() == 2


def test_forget_page_explains_the_erasure_delay(admin_client, two):
    html = admin_client.get(action_url("forget", two)).content.decode()
    assert "30 days" in html


def test_forget_then_erasure_after_30_days_leaves_only_a_suppression(admin_client, two):
    admin_client.post(action_url("forget", two[:1]))
    row = Subscriber.all_objects.get(pk=two[0].pk)
    assert row.deleted_at is not None
    assert row.erase_after.date() == (timezone.now() + datetime.timedelta(days=30)).date()
    assert services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=29)) == 0
    assert services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=31)) == 1
    assert not Subscriber.all_objects.filter(email="a@example.org").exists()
    assert Suppression.contains("a@example.org")
    assert Subscriber.objects.filter(email="b@example.org").exists()


@pytest.fixture
def change_only_client(client, django_user_model):
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(
        Permission.objects.get(codename="access_admin"), Permission.objects.get(codename="change_subscriber")
    )
    client.force_login(user)
    return client


def test_delete_needs_delete_permission(change_only_client, two):
    change_only_client.post(action_url("delete", two))
    assert Subscriber.objects.count() == 2


def test_forget_needs_delete_permission(change_only_client, two):
    change_only_client.post(action_url("forget", two))
    assert not Subscriber.all_objects.filter(erase_after__isnull=False).exists()


def test_unsubscribe_allowed_with_change_permission(change_only_client, two):
    change_only_client.post(action_url("unsubscribe", two))
    assert Subscriber.objects.filter(status=Status.UNSUBSCRIBED).count() == 2


def test_unsubscribe_refused_without_permission(client, django_user_model, two):
    user = django_user_model.objects.create_user("nobody", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    client.post(action_url("unsubscribe", two))
    assert Subscriber.objects.filter(status=Status.SUBSCRIBED).count() == 2
    assert not StatusEvent.objects.exists()


def test_listing_offers_our_bulk_actions(admin_client, two):
    html = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_subscriber:list")).content.decode()
    for action in ("add_to_group", "remove_from_group", "unsubscribe", "resubscribe", "delete", "forget"):
        assert f"/subscriber/{action}/" in html


def test_add_to_group_confirmation_asks_for_the_group(admin_client, two, news):
    html = admin_client.get(action_url("add_to_group", two)).content.decode()
    assert 'name="group"' in html and "News" in html


def test_select_all_in_listing_only_reaches_the_filtered_subscribers(admin_client, two):
    Subscriber.objects.filter(pk=two[1].pk).update(status=Status.PENDING)
    url = reverse("wagtail_bulk_action", args=("wagtail_newsletter", "subscriber", "unsubscribe"))
    admin_client.post(url + "?status=subscribed&id=all")
    assert Subscriber.objects.get(pk=two[0].pk).status == Status.UNSUBSCRIBED
    assert Subscriber.objects.get(pk=two[1].pk).status == Status.PENDING


def test_select_all_in_listing_honours_the_search(admin_client, two):
    url = reverse("wagtail_bulk_action", args=("wagtail_newsletter", "subscriber", "delete"))
    admin_client.post(url + "?q=b%40example&id=all")
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["a@example.org"]
