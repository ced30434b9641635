"""Importing rows into the audience: created/updated/rejected, merges, sticky statuses, restores."""

import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook

from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.import_readers import MAX_LINE_CHARS, ImportFileError, open_table
from wagtail_newsletter.audience.importing import guess_mapping, import_subscribers
from wagtail_newsletter.models import Field, Group, Membership, Source, Status, StatusEvent, Subscriber

pytestmark = pytest.mark.django_db


def run(data, mapping=None, groups=(), **kwargs):
    table = open_table(io.BytesIO(data.encode() if isinstance(data, str) else data))
    return import_subscribers(table, mapping or guess_mapping(table.headers), groups, **kwargs)


@pytest.fixture
def small_chunks(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "IMPORT_CHUNK_SIZE": 2}


@pytest.fixture
def city():
    return Field.objects.create(key="city", label="City", type=Field.Type.TEXT)


@pytest.fixture
def age():
    return Field.objects.create(key="age", label="Age", type=Field.Type.NUMBER)


def make_subscriber(email, **kwargs):
    return Subscriber.objects.create(email=email, **kwargs)


def test_new_rows_become_subscribed_imported_members_with_history():
    group = Group.objects.create(name="Clients")
    result = run("email,first_name\nA@Example.org,Ann\n", groups=[group])
    assert (result.created, result.updated, result.rejected) == (1, 0, 0)
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.first_name) == ("a@example.org", "Ann")
    assert (subscriber.status, subscriber.source) == (Status.SUBSCRIBED, Source.IMPORT)
    assert subscriber.first_subscribed_at is not None
    assert list(subscriber.groups.all()) == [group]
    event = StatusEvent.objects.get(subscriber=subscriber)
    assert (event.old_status, event.new_status, event.source) == ("", Status.SUBSCRIBED, Source.IMPORT)


def test_french_headers_are_mapped():
    run("Courriel;Prénom;Nom;Langue\na@example.org;Zoé;Martin;fr\n")
    subscriber = Subscriber.objects.get()
    assert (subscriber.first_name, subscriber.last_name, subscriber.language) == ("Zoé", "Martin", "fr")


def test_duplicates_in_the_file_merge_later_non_empty_values_win(city):
    result = run("email,first_name,last_name,city\na@example.org,Ann,Lee,\nA@example.org,,Smith,Paris\n")
    assert (result.created, result.updated, result.merged) == (1, 0, 1)
    subscriber = Subscriber.objects.get()
    assert (subscriber.first_name, subscriber.last_name, subscriber.data) == ("Ann", "Smith", {"city": "Paris"})


def test_duplicates_across_chunks_are_merges_not_updates(small_chunks):
    result = run("email,first_name\na@example.org,A\nb@example.org,B\nc@example.org,C\na@example.org,Z\n")
    assert (result.created, result.updated, result.merged) == (3, 0, 1)
    assert Subscriber.objects.get(email="a@example.org").first_name == "Z"
    assert StatusEvent.objects.count() == 3


@pytest.mark.parametrize("status", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED, Status.PENDING])
def test_reimport_never_changes_status(status):
    make_subscriber("a@example.org", status=status, first_name="Old")
    result = run("email,first_name\na@example.org,New\n")
    assert (result.created, result.updated) == (0, 1)
    subscriber = Subscriber.objects.get()
    assert (subscriber.status, subscriber.first_name) == (status, "New")
    assert not StatusEvent.objects.exists()


def test_reimport_keeps_values_the_file_leaves_empty_and_merges_custom_fields(city, age):
    make_subscriber("a@example.org", first_name="Ann", data={"age": 30, "other": "kept"})
    run("email,first_name,city\na@example.org,,Lyon\n")
    subscriber = Subscriber.objects.get()
    assert subscriber.first_name == "Ann"
    assert subscriber.data == {"age": 30, "other": "kept", "city": "Lyon"}


def test_reimport_restores_a_deleted_subscriber_with_its_history():
    subscriber = make_subscriber("a@example.org", status=Status.UNSUBSCRIBED)
    services.delete_subscribers([subscriber.pk])
    before = StatusEvent.objects.filter(subscriber=subscriber).count()
    result = run("email\na@example.org\n")
    assert (result.created, result.updated, result.restored) == (0, 1, 1)
    restored = Subscriber.objects.get()
    assert restored.pk == subscriber.pk
    assert restored.status == Status.UNSUBSCRIBED
    assert StatusEvent.objects.filter(subscriber=subscriber).count() == before + 1


def test_forgotten_address_is_rejected_and_not_written():
    subscriber = make_subscriber("gone@example.org")
    services.forget_subscribers([subscriber.pk])
    services.erase_forgotten(now=subscriber.created_at.replace(year=subscriber.created_at.year + 1))
    result = run("email\nGone@example.org\n")
    assert (result.created, result.rejected) == (0, 1)
    assert result.rejects == [(2, "gone@example.org", "Suppressed address: forgotten (GDPR erasure).")]
    assert not Subscriber.all_objects.exists()


def test_subscriber_pending_erasure_is_rejected_and_stays_deleted():
    subscriber = make_subscriber("a@example.org")
    services.forget_subscribers([subscriber.pk])
    result = run("email,first_name\na@example.org,Back\n")
    assert (result.created, result.updated, result.rejected) == (0, 0, 1)
    assert "erased" in result.rejects[0][2]
    subscriber = Subscriber.all_objects.get()
    assert subscriber.deleted_at is not None and subscriber.first_name == ""


def test_bad_rows_are_rejected_with_reasons_and_not_written(age):
    data = (
        "email,first_name,age\n"
        "not-an-address,A,1\n"
        'b@example.org,"line\nbreak",2\n'
        f"c@example.org,{'x' * 101},3\n"
        "d@example.org,D,forty\n"
        "e@example.org,E,5\n"
    )
    result = run(data)
    assert (result.created, result.rejected) == (1, 4)
    reasons = {line: reason for line, _email, reason in result.rejects}
    assert set(reasons) == {2, 3, 5, 6}
    assert "valid email" in reasons[2]
    assert "control characters" in reasons[3]
    assert "at most 100" in reasons[5]
    assert "must be a number" in reasons[6]
    assert list(Subscriber.objects.values_list("email", "data")) == [("e@example.org", {"age": 5})]


def test_xlsx_formulas_and_wrong_types_are_rejected(age):
    Field.objects.create(key="born", label="Born", type=Field.Type.DATE)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Email", "First name", "Age", "Born"])
    sheet.append(["a@example.org", "=1+1", 3, None])
    sheet.append(["b@example.org", "B", "old", None])
    sheet.append(["c@example.org", "C", 42, datetime.date(1990, 5, 17)])
    out = io.BytesIO()
    workbook.save(out)
    result = run(out.getvalue())
    assert (result.created, result.rejected) == (1, 2)
    assert "formula" in result.rejects[0][2]
    assert "must be a number" in result.rejects[1][2]
    assert Subscriber.objects.get().data == {"age": 42, "born": "1990-05-17"}


@pytest.mark.parametrize(
    "tail",
    [b'z@example.org,"never closed\n', b"z@example.org," + b"x" * (MAX_LINE_CHARS + 1) + b"\n"],
    ids=["malformed-quote", "huge-line"],
)
def test_broken_file_end_writes_nothing_at_all(small_chunks, tail):
    data = b"email,name\n" + b"".join(b"u%d@example.org,U\n" % i for i in range(10)) + tail
    with pytest.raises(ImportFileError):
        run(data)
    assert not Subscriber.all_objects.exists()


def test_missing_email_column_is_a_clear_error_and_writes_nothing():
    with pytest.raises(ImportFileError, match="email"):
        run("name,city\nAnn,Paris\n")
    assert not Subscriber.all_objects.exists()


def test_dry_run_counts_but_writes_nothing(small_chunks):
    group = Group.objects.create(name="G")
    make_subscriber("old@example.org")
    result = run("email\nold@example.org\nnew@example.org\nbad\nnew2@example.org\n", groups=[group], dry_run=True)
    assert (result.created, result.updated, result.rejected) == (2, 1, 1)
    assert Subscriber.objects.count() == 1
    assert not Membership.objects.exists() and not StatusEvent.objects.exists()


def test_no_query_per_row(settings):
    # PostgreSQL: a fixed number of statements per chunk. SQLite: Django splits bulk inserts into
    # batches of 999 parameters, so a few more statements, still nothing per row.
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "IMPORT_CHUNK_SIZE": 1000}
    group = Group.objects.create(name="G")
    counts = []
    for rows in (10, 300):
        data = "email\n" + "".join(f"r{rows}-{i}@example.org\n" for i in range(rows))
        with CaptureQueriesContext(connection) as captured:
            run(data, groups=[group])
        counts.append(len(captured))
    if connection.vendor == "postgresql":
        assert counts[0] == counts[1]
    assert counts[1] <= counts[0] + 300 // 50
    assert Membership.objects.count() == 310


def test_backslashes_quotes_and_unicode_survive_the_bulk_path(city):
    run('email,first_name,last_name,city\na@example.org,"O\'Hara \\ Co",Zoë 🙂,"C:\\path ""quoted"" \\n"\n')
    subscriber = Subscriber.objects.get()
    assert (subscriber.first_name, subscriber.last_name) == ("O'Hara \\ Co", "Zoë 🙂")
    assert subscriber.data == {"city": 'C:\\path "quoted" \\n'}
