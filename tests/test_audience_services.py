import datetime

import pytest
from django.utils import timezone

from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.optin import ConfirmResult, confirm_subscription, minimise_ip, submit_subscription
from wagtail_newsletter.models import (
    Consent,
    Group,
    Membership,
    Source,
    Status,
    StatusEvent,
    Subscriber,
    SubscriptionForm,
    Suppression,
)

pytestmark = pytest.mark.django_db


def make(email="ada@example.org", status=Status.SUBSCRIBED, **kwargs):
    return Subscriber.objects.create(email=email, status=status, **kwargs)


def test_change_status_records_one_event_per_changed_subscriber(django_user_model):
    user = django_user_model.objects.create(username="editor")
    a, b = make("a@example.org"), make("b@example.org", status=Status.UNSUBSCRIBED)
    assert services.unsubscribe([a.pk, b.pk], actor=user) == 1
    events = list(StatusEvent.objects.all())
    assert [(e.subscriber_id, e.old_status, e.new_status, e.source, e.actor_id) for e in events] == [
        (a.pk, Status.SUBSCRIBED, Status.UNSUBSCRIBED, Source.ADMIN, user.pk)
    ]
    a.refresh_from_db()
    assert a.status == Status.UNSUBSCRIBED


def test_resubscribing_keeps_first_subscription_date():
    first = timezone.now() - datetime.timedelta(days=400)
    sub = make(status=Status.UNSUBSCRIBED, first_subscribed_at=first)
    services.resubscribe([sub.pk])
    sub.refresh_from_db()
    assert sub.status == Status.SUBSCRIBED
    assert sub.first_subscribed_at == first


def test_first_subscription_sets_first_subscribed_at_to_the_time_of_the_change():
    sub = make(status=Status.PENDING)
    before = timezone.now()
    services.change_status([sub.pk], Status.SUBSCRIBED, Source.CONFIRMATION)
    sub.refresh_from_db()
    assert before <= sub.first_subscribed_at == sub.status_changed_at <= timezone.now()
    assert StatusEvent.objects.get(subscriber=sub, new_status=Status.SUBSCRIBED).created_at == sub.first_subscribed_at


def test_change_status_accepts_a_queryset_and_works_in_chunks(monkeypatch):
    monkeypatch.setattr(services, "CHUNK", 3)
    Subscriber.objects.bulk_create([Subscriber(email=f"s{i}@example.org", status=Status.SUBSCRIBED) for i in range(10)])
    assert services.unsubscribe(Subscriber.objects.all()) == 10
    assert Subscriber.objects.filter(status=Status.UNSUBSCRIBED).count() == 10
    assert StatusEvent.objects.count() == 10


def test_group_membership_add_is_idempotent_and_remove_works():
    group = Group.objects.create(name="News")
    a, b = make("a@example.org"), make("b@example.org")
    assert services.add_to_group([a.pk, b.pk], group) == 2
    assert services.add_to_group([a.pk, b.pk], group) == 0
    assert services.remove_from_group([a.pk], group) == 1
    assert list(group.subscribers.all()) == [b]


def test_delete_hides_subscriber_but_keeps_row_and_history():
    sub = make()
    assert services.delete_subscribers([sub.pk]) == 1
    assert not Subscriber.objects.filter(pk=sub.pk).exists()
    assert Subscriber.all_objects.filter(pk=sub.pk, deleted_at__isnull=False).exists()
    assert StatusEvent.objects.filter(subscriber=sub, note="deleted").exists()


def test_restore_brings_a_deleted_subscriber_back():
    sub = make()
    services.delete_subscribers([sub.pk])
    sub = Subscriber.all_objects.get(pk=sub.pk)
    assert services.restore_subscriber(sub)
    assert Subscriber.objects.filter(pk=sub.pk).exists()


def test_forget_erases_after_grace_period_and_leaves_a_suppression():
    form = SubscriptionForm.objects.create(name="F")
    sub = make(first_name="Ada")
    Consent.objects.create(subscriber=sub, form=form, text="I agree", ip_network="203.0.113.0/24", data={"x": 1})
    services.change_status([sub.pk], Status.UNSUBSCRIBED, Source.ADMIN)
    group = Group.objects.create(name="G")
    services.add_to_group([sub.pk], group)

    assert services.forget_subscribers([sub.pk]) == 1
    sub = Subscriber.all_objects.get(pk=sub.pk)
    assert sub.deleted_at is not None
    assert sub.erase_after - sub.deleted_at == datetime.timedelta(days=30)
    assert services.erase_forgotten() == 0  # not before the grace period

    assert services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=31)) == 1
    assert not Subscriber.all_objects.filter(email="ada@example.org").exists()
    assert Suppression.contains("ADA@example.org")
    consent = Consent.objects.get()
    assert (consent.subscriber_id, consent.ip_network, consent.data, consent.text) == (None, "", {}, "I agree")
    assert StatusEvent.objects.count() >= 2
    assert not StatusEvent.objects.filter(subscriber__isnull=False).exists()
    assert not Membership.objects.exists()


def test_erasure_task_is_scheduled_after_migrate():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="wagtail_newsletter.audience.services.erase_forgotten")
    assert schedule.schedule_type == Schedule.MINUTES and schedule.repeats == -1


@pytest.mark.parametrize(
    "ip, network",
    [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:abcd:12::1", "2001:db8:abcd::/48"), ("junk", ""), ("", "")],
)
def test_ip_addresses_are_minimised(ip, network):
    assert minimise_ip(ip) == network


def test_submission_does_not_overwrite_an_existing_subscribers_data_until_confirmed():
    form = SubscriptionForm.objects.create(name="F")
    group = Group.objects.create(name="G")
    form.groups.add(group)
    form.save()  # ParentalManyToManyField: written on save
    sub = make(first_name="Ada", status=Status.UNSUBSCRIBED)
    consent = submit_subscription(form, "ada@example.org", {"first_name": "Mallory"}, ip="198.51.100.9")
    sub.refresh_from_db()
    assert (sub.first_name, sub.status) == ("Ada", Status.UNSUBSCRIBED)
    assert consent.ip_network == "198.51.100.0/24" and consent.text == str(form.consent_text)

    assert confirm_subscription(consent.pk) == ConfirmResult.CONFIRMED
    sub.refresh_from_db()
    assert (sub.first_name, sub.status) == ("Mallory", Status.SUBSCRIBED)
    assert list(sub.groups.all()) == [group]
    assert confirm_subscription(consent.pk) == ConfirmResult.ALREADY_CONFIRMED


def test_confirmation_of_an_erased_subscriber_is_gone():
    form = SubscriptionForm.objects.create(name="F")
    consent = submit_subscription(form, "ada@example.org", {})
    services.forget_subscribers([consent.subscriber_id])
    services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=31))
    assert confirm_subscription(consent.pk) == ConfirmResult.GONE


def test_confirming_lifts_a_suppression_and_restores_a_forgotten_subscriber():
    form = SubscriptionForm.objects.create(name="F")
    sub = make()
    services.forget_subscribers([sub.pk])
    Suppression.objects.create(email_sha256=__import__("hashlib").sha256(b"ada@example.org").hexdigest())
    consent = submit_subscription(form, "ada@example.org", {})
    assert confirm_subscription(consent.pk) == ConfirmResult.CONFIRMED
    sub = Subscriber.objects.get(pk=sub.pk)
    assert sub.erase_after is None and sub.status == Status.SUBSCRIBED
    assert not Suppression.contains("ada@example.org")


def test_unconfirmed_signups_are_purged_after_retention_period():
    form = SubscriptionForm.objects.create(name="F")
    stale = submit_subscription(form, "stale@example.org", {"first_name": "S"}, ip="203.0.113.5")
    fresh = submit_subscription(form, "fresh@example.org", {})
    confirmed = submit_subscription(form, "ok@example.org", {})
    confirm_subscription(confirmed.pk)
    long_ago = timezone.now() - datetime.timedelta(days=31)
    Subscriber.all_objects.filter(email__in=["stale@example.org", "ok@example.org"]).update(status_changed_at=long_ago)
    Consent.objects.filter(pk__in=[stale.pk, confirmed.pk]).update(created_at=long_ago)

    assert services.purge_unconfirmed() == 1
    assert set(Subscriber.all_objects.values_list("email", flat=True)) == {"fresh@example.org", "ok@example.org"}
    stale.refresh_from_db()
    assert (stale.subscriber_id, stale.ip_network, stale.data) == (None, "", {})
    assert fresh.subscriber_id is not None
    assert not Suppression.objects.exists()


def test_unconfirmed_subscriber_who_was_once_subscribed_is_not_purged():
    sub = make(status=Status.PENDING, first_subscribed_at=timezone.now() - datetime.timedelta(days=900))
    Subscriber.all_objects.filter(pk=sub.pk).update(status_changed_at=timezone.now() - datetime.timedelta(days=90))
    assert services.purge_unconfirmed() == 0


def test_pending_subscriber_who_signed_up_again_recently_is_not_purged():
    form = SubscriptionForm.objects.create(name="F")
    first = submit_subscription(form, "again@example.org", {})
    long_ago = timezone.now() - datetime.timedelta(days=40)
    Consent.objects.filter(pk=first.pk).update(created_at=long_ago)
    Subscriber.all_objects.update(status_changed_at=long_ago)
    submit_subscription(form, "again@example.org", {})
    assert services.purge_unconfirmed() == 0
