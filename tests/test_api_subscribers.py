"""The Python API's subscriber functions (wagtail_newsletter.api): subscribe, upsert many, unsubscribe, forget —
statuses respected, bad input refused with a clear error and nothing written."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wagtail_newsletter import api
from wagtail_newsletter.audience.models import (
    Consent,
    Field,
    Group,
    Membership,
    Source,
    Status,
    StatusEvent,
    Subscriber,
    Suppression,
    email_digest,
)
from wagtail_newsletter.audience.optin import confirm_subscription
from wagtail_newsletter.audience.services import erase_forgotten

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly():
    return Group.objects.create(name="Weekly news")


@pytest.fixture
def city():
    return Field.objects.create(label="City", key="city")


def snapshot():
    """Everything a refused call must leave as it was."""
    return (
        sorted(Subscriber.all_objects.values_list("email", "status", "first_name", "last_name", "language", "data")),
        Membership.objects.count(),
        StatusEvent.objects.count(),
        Consent.objects.count(),
    )


def make(email, status, **fields):
    return Subscriber.objects.create(email=email, status=status, **fields)


# --- subscribe ---------------------------------------------------------------------------------------------------


def test_subscribe_with_double_opt_in_mails_a_confirmation_and_joins_on_confirm(
    weekly, city, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = api.subscribe(
            "Ada@Example.com", groups=["Weekly news"], fields={"first_name": "Ada", "city": "Lyon"}, language="fr"
        )
    assert (result.email, result.outcome, result.status) == ("ada@example.com", "pending", Status.PENDING)
    ada = Subscriber.objects.get(pk=result.subscriber_id)
    assert ada.source == Source.API and not ada.memberships.exists()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ada@example.com"]
    consent = Consent.objects.get(subscriber=ada)
    assert consent.form is None and consent.source == Source.API

    confirm_subscription(consent.pk)
    ada.refresh_from_db()
    assert ada.status == Status.SUBSCRIBED
    assert list(ada.groups.values_list("name", flat=True)) == ["Weekly news"]
    assert ada.data == {"city": "Lyon"} and ada.language == "fr"  # "groups" is not stored as a custom field


def test_subscribe_without_double_opt_in_subscribes_at_once(weekly):
    result = api.subscribe("bob@example.com", groups=[weekly.pk], fields={"last_name": "Stone"}, double_opt_in=False)
    assert (result.outcome, result.status) == ("created", Status.SUBSCRIBED)
    bob = Subscriber.objects.get(email="bob@example.com")
    assert bob.source == Source.API and bob.last_name == "Stone" and bob.first_subscribed_at is not None
    assert list(bob.groups.all()) == [weekly]
    assert bob.status_events.get().source == Source.API
    assert not mail.outbox

    again = api.subscribe("bob@example.com", fields={"first_name": "Bob"}, double_opt_in=False)
    assert again.outcome == "updated" and Subscriber.objects.get(pk=bob.pk).first_name == "Bob"


def test_subscribe_without_double_opt_in_subscribes_a_pending_address():
    pending = make("pat@example.com", Status.PENDING)
    assert api.subscribe("pat@example.com", double_opt_in=False).status == Status.SUBSCRIBED
    pending.refresh_from_db()
    assert pending.status == Status.SUBSCRIBED


@pytest.mark.parametrize("status", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED])
def test_subscribe_without_double_opt_in_never_resubscribes(status, weekly):
    make("gone@example.com", status, first_name="Old")
    before = snapshot()
    result = api.subscribe("gone@example.com", groups=[weekly], fields={"first_name": "New"}, double_opt_in=False)
    assert (result.outcome, result.status) == ("skipped", status)
    assert "double opt-in" in result.reason
    assert snapshot() == before


def test_subscribe_never_writes_a_forgotten_address():
    make("erased@example.com", Status.SUBSCRIBED)
    api.forget("erased@example.com")
    erase_forgotten(now=Subscriber.all_objects.get().erase_after)
    assert Suppression.contains("erased@example.com")
    result = api.subscribe("erased@example.com", double_opt_in=False)
    assert result.outcome == "skipped" and "suppressed" in result.reason
    assert not Subscriber.all_objects.exists()


@pytest.mark.parametrize(
    "call, error, field",
    [
        (lambda: api.subscribe("not an address"), api.InvalidEmail, "email"),
        (lambda: api.subscribe("ada@example.com\r\nBcc: x@example.com"), api.InvalidEmail, "email"),
        (lambda: api.subscribe("ada@example.com", fields={"first_name": "Ada\r\nBcc: x@evil.test"}), api.InvalidInput,
         "first_name"),
        (lambda: api.subscribe("ada@example.com", fields={"shoe_size": 42}), api.InvalidInput, "shoe_size"),
        (lambda: api.subscribe("ada@example.com", groups=["No such group"]), api.NotFound, "groups"),
        (lambda: api.subscribe("ada@example.com", groups=[999999]), api.NotFound, "groups"),
        (lambda: api.subscribe("ada@example.com", language="fr\r\nBcc: x@evil.test"), api.InvalidInput, "language"),
        (lambda: api.subscribe("ada@example.com", language="klingon-empire"), api.InvalidInput, "language"),
        (lambda: api.subscribe("ada@example.com", source="spam"), api.InvalidInput, "source"),
        (lambda: api.subscribe("ada@example.com", form=424242), api.NotFound, "form"),
    ],
    ids=["email", "email-injection", "name-injection", "unknown-field", "unknown-group", "unknown-group-id",
         "language-injection", "language", "source", "form"],
)  # fmt: skip
@pytest.mark.parametrize("double_opt_in", [True, False], ids=["doi", "direct"])
def test_subscribe_refuses_bad_input_and_changes_nothing(call, error, field, double_opt_in, weekly, monkeypatch):
    make("ada@example.com", Status.SUBSCRIBED, first_name="Ada")
    before = snapshot()
    with pytest.raises(error) as raised:
        call()
    assert raised.value.field == field and str(raised.value)
    assert isinstance(raised.value, api.NewsletterError) and raised.value.code
    assert snapshot() == before and not mail.outbox


def test_custom_field_values_are_checked(city):
    Field.objects.create(label="Age", key="age", type=Field.Type.NUMBER)
    with pytest.raises(api.InvalidInput, match="Age must be a number") as raised:
        api.subscribe("ada@example.com", fields={"age": "old"}, double_opt_in=False)
    assert raised.value.field == "age" and not Subscriber.all_objects.exists()


# --- upsert_subscribers -------------------------------------------------------------------------------------------


def test_upsert_creates_updates_and_respects_statuses(weekly, city):
    make("known@example.com", Status.SUBSCRIBED, first_name="Known", data={"city": "Paris"})
    make("left@example.com", Status.UNSUBSCRIBED)
    make("bounced@example.com", Status.BOUNCED)
    make("complained@example.com", Status.COMPLAINED)
    make("pending@example.com", Status.PENDING)
    Suppression.objects.create(email_sha256=email_digest("forgotten@example.com"))
    rows = [
        {"email": "new@example.com", "first_name": "New", "city": "Lyon"},
        {"email": "KNOWN@example.com", "last_name": "Person"},
        {"email": "left@example.com", "first_name": "Left"},
        {"email": "bounced@example.com"},
        {"email": "complained@example.com"},
        {"email": "pending@example.com"},
        {"email": "forgotten@example.com"},
        {"email": "broken"},
        {"email": "evil@example.com", "first_name": "Eve\r\nBcc: all@example.com"},
        {"email": "new@example.com", "last_name": "Twice"},
    ]
    result = api.upsert_subscribers(rows, groups=["Weekly news"])
    assert (result.created, result.updated, result.skipped, result.merged) == (1, 5, 3, 1)
    assert result.kept_status == {Status.UNSUBSCRIBED: 1, Status.BOUNCED: 1, Status.COMPLAINED: 1}
    assert sorted(skip.row for skip in result.skipped_rows) == [7, 8, 9]
    reasons = {skip.row: skip.reason for skip in result.skipped_rows}
    assert "Suppressed" in reasons[7] and "line breaks" in reasons[9]
    statuses = dict(Subscriber.all_objects.values_list("email", "status"))
    assert statuses == {
        "new@example.com": Status.SUBSCRIBED,
        "known@example.com": Status.SUBSCRIBED,
        "left@example.com": Status.UNSUBSCRIBED,
        "bounced@example.com": Status.BOUNCED,
        "complained@example.com": Status.COMPLAINED,
        "pending@example.com": Status.SUBSCRIBED,  # the caller vouches for consent
    }
    new = Subscriber.objects.get(email="new@example.com")
    assert (new.first_name, new.last_name, new.data, new.source) == ("New", "Twice", {"city": "Lyon"}, Source.API)
    known = Subscriber.objects.get(email="known@example.com")
    assert (known.first_name, known.last_name, known.data) == ("Known", "Person", {"city": "Paris"})
    assert Membership.objects.filter(group=weekly).count() == 6
    assert not mail.outbox


def test_upsert_with_double_opt_in_mails_only_new_addresses(django_capture_on_commit_callbacks):
    make("known@example.com", Status.SUBSCRIBED)
    make("left@example.com", Status.UNSUBSCRIBED)
    with django_capture_on_commit_callbacks(execute=True):
        result = api.upsert_subscribers(
            [{"email": "a@example.com"}, {"email": "b@example.com"}, {"email": "known@example.com"},
             {"email": "left@example.com"}],
            double_opt_in=True,
        )  # fmt: skip
    assert (result.created, result.updated, result.confirmations) == (2, 2, 2)
    assert sorted(message.to[0] for message in mail.outbox) == ["a@example.com", "b@example.com"]
    new = Subscriber.objects.filter(email__in=["a@example.com", "b@example.com"])
    assert {s.status for s in new} == {Status.PENDING} and {s.first_subscribed_at for s in new} == {None}
    assert Subscriber.objects.get(email="left@example.com").status == Status.UNSUBSCRIBED
    confirm_subscription(Consent.objects.get(subscriber__email="a@example.com").pk)
    assert Subscriber.objects.get(email="a@example.com").status == Status.SUBSCRIBED


def test_upsert_dry_run_counts_and_writes_nothing():
    result = api.upsert_subscribers([{"email": "a@example.com"}, {"email": "b@example.com"}], dry_run=True)
    assert (result.created, result.dry_run) == (2, True)
    assert not Subscriber.all_objects.exists()


@pytest.mark.parametrize(
    "rows, groups, error",
    [
        ([{"email": "a@example.com", "shoe_size": 4}], (), api.InvalidInput),
        ([{"first_name": "No address"}], (), api.InvalidInput),
        (["a@example.com"], (), api.InvalidInput),
        ([{"email": "a@example.com"}], ["Nope"], api.NotFound),
    ],
    ids=["unknown-key", "no-email", "not-a-mapping", "unknown-group"],
)
def test_upsert_refuses_bad_input_and_changes_nothing(rows, groups, error):
    make("keep@example.com", Status.SUBSCRIBED)
    before = snapshot()
    with pytest.raises(error):
        api.upsert_subscribers([{"email": "fine@example.com"}, *rows], groups=groups)
    assert snapshot() == before


def test_upsert_many_is_set_based(django_assert_max_num_queries, weekly):
    """Statements write many rows each: on PostgreSQL 6,000 rows cost a few queries more than 600 (chunks of 2,000
    and 5,000 addresses); SQLite's bulk INSERTs are cut by its limit on query parameters, still many rows each."""

    def queries(count, prefix):
        rows = [{"email": f"{prefix}{i}@example.com", "first_name": f"R{i}"} for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            result = api.upsert_subscribers(rows, groups=[weekly])
        assert result.created == count
        return len(captured)

    small, large = queries(600, "small"), queries(6000, "large")
    assert large * 20 < 6000, (small, large)
    if connection.vendor == "postgresql":
        assert large <= small + 30, (small, large)
    assert Membership.objects.filter(group=weekly).count() == 6600


# --- unsubscribe, forget ------------------------------------------------------------------------------------------


def test_unsubscribe_records_the_reason():
    ada = make("ada@example.com", Status.SUBSCRIBED)
    assert api.unsubscribe("ADA@example.com", reason="asked by phone") is True
    ada.refresh_from_db()
    assert ada.status == Status.UNSUBSCRIBED
    event = ada.status_events.get()
    assert (event.source, event.note) == (Source.API, "asked by phone")
    assert api.unsubscribe("ada@example.com") is False  # already


def test_unsubscribe_keeps_a_bounce():
    make("b@example.com", Status.BOUNCED)
    assert api.unsubscribe("b@example.com") is False
    assert Subscriber.objects.get().status == Status.BOUNCED


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: api.unsubscribe("nobody@example.com"), api.NotFound),
        (lambda: api.unsubscribe("nonsense"), api.InvalidEmail),
        (lambda: api.unsubscribe("ada@example.com", reason="a\r\nb"), api.InvalidInput),
        (lambda: api.forget("nobody@example.com"), api.NotFound),
        (lambda: api.forget("@@"), api.InvalidEmail),
    ],
    ids=["unsubscribe-unknown", "unsubscribe-invalid", "unsubscribe-reason-injection", "forget-unknown",
         "forget-invalid"],
)  # fmt: skip
def test_unsubscribe_and_forget_refuse_bad_input(call, error):
    make("ada@example.com", Status.SUBSCRIBED)
    before = snapshot()
    with pytest.raises(error):
        call()
    assert snapshot() == before


def test_forget_hides_then_erases_and_suppresses():
    ada = make("ada@example.com", Status.SUBSCRIBED)
    assert api.forget("ada@example.com") is True
    assert not Subscriber.objects.exists()
    assert api.forget("ada@example.com") is False  # being forgotten already
    erase_forgotten(now=Subscriber.all_objects.get(pk=ada.pk).erase_after)
    assert not Subscriber.all_objects.exists() and Suppression.contains("ada@example.com")
    result = api.upsert_subscribers([{"email": "ada@example.com"}])
    assert (result.created, result.skipped) == (0, 1)
