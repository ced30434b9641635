"""Importing with two writer connections (PostgreSQL, outside a transaction): same results as one writer."""

import io
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.import_readers import open_table
from wagtail_newsletter.audience.importing import guess_mapping, import_subscribers
from wagtail_newsletter.audience.models import email_digest
from wagtail_newsletter.models import Group, Membership, Status, StatusEvent, Subscriber, Suppression

# Real commits: the second writer has its own connection and cannot see a test's open transaction.
pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 2 if connection.vendor == "postgresql" else 1


def run(data, groups=(), **kwargs):
    table = open_table(io.BytesIO(data.encode()))
    return import_subscribers(table, guess_mapping(table.headers), groups, **kwargs)


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "IMPORT_CHUNK_SIZE": 2}


def test_duplicates_spanning_chunks_of_both_writers_merge_and_the_later_row_wins():
    group = Group.objects.create(name="G")
    rows = [
        ("a", "A1"), ("b", "B1"),  # chunk 0 (importing thread)
        ("c", "C1"), ("a", "A2"),  # chunk 1 (helper), shares "a" with the chunk before it
        ("d", "D1"), ("c", "C2"),  # chunk 2 (importing thread), shares "c" with the chunk before it
        ("e", "E1"), ("b", "B2"),  # chunk 3 (helper)
        ("a", "A3"), ("f", "F1"),  # chunk 4
    ]  # fmt: skip
    data = "email,first_name\n" + "".join(f"{email}@example.org,{name}\n" for email, name in rows)
    result = run(data, groups=[group])
    assert result.writers == WRITERS
    assert (result.created, result.updated, result.merged, result.rejected) == (6, 0, 4, 0)
    names = dict(Subscriber.objects.values_list("email", "first_name"))
    assert names == {
        "a@example.org": "A3", "b@example.org": "B2", "c@example.org": "C2",
        "d@example.org": "D1", "e@example.org": "E1", "f@example.org": "F1",
    }  # fmt: skip
    assert StatusEvent.objects.count() == 6
    assert Membership.objects.filter(group=group).count() == 6


def test_existing_restored_suppressed_and_erasing_rows_are_counted_exactly_with_two_writers():
    Subscriber.objects.create(email="old@example.org", status=Status.UNSUBSCRIBED, first_name="Old")
    deleted = Subscriber.objects.create(email="deleted@example.org")
    services.delete_subscribers([deleted.pk])
    erasing = Subscriber.objects.create(email="erasing@example.org")
    services.forget_subscribers([erasing.pk])
    Suppression.objects.create(email_sha256=email_digest("suppressed@example.org"))
    emails = ["new1", "old", "new2", "deleted", "suppressed", "new3", "erasing", "new4"]
    result = run("email,first_name\nnot-an-address,Bad\n" + "".join(f"{e}@example.org,New\n" for e in emails))
    assert result.writers == WRITERS
    assert (result.created, result.updated, result.restored, result.rejected) == (4, 2, 1, 3)
    assert [line for line, _email, _reason in result.rejects] == [2, 7, 9]
    assert Subscriber.objects.get(email="old@example.org").status == Status.UNSUBSCRIBED
    assert Subscriber.objects.get(email="deleted@example.org").first_name == "New"
    assert Subscriber.all_objects.get(email="erasing@example.org").deleted_at is not None
    assert not Subscriber.all_objects.filter(email="suppressed@example.org").exists()
    assert StatusEvent.objects.filter(note="restored by import").count() == 1


def test_import_inside_a_transaction_uses_one_connection_and_rolls_back_with_it():
    with transaction.atomic():
        result = run("email\na@example.org\nb@example.org\nc@example.org\n")
        transaction.set_rollback(True)
    assert (result.writers, result.created) == (1, 3)
    assert not Subscriber.all_objects.exists()


def test_dry_run_uses_one_connection():
    result = run("email\na@example.org\nb@example.org\nc@example.org\n", dry_run=True)
    assert (result.writers, result.created) == (1, 3)
    assert not Subscriber.all_objects.exists()


def test_a_failing_chunk_raises_and_leaves_no_writer_thread_behind():
    threads = threading.active_count()
    with pytest.raises(IntegrityError):
        run("email\na@example.org\nb@example.org\nc@example.org\nd@example.org\n", groups=[999_999])
    assert threading.active_count() == threads
    assert not Membership.objects.exists()
