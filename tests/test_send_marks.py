"""SentMarks: the one UPDATE per accepted message (on PostgreSQL a statement prepared through libpq)."""

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from wagtail_newsletter.send import campaigns, claims
from wagtail_newsletter.send.models import Delivery, DeliveryStatus

from .compose_editor_fixtures import make_newsletter
from .test_send_engine import make_subscribers


def claimed_deliveries(archive, count):
    campaign = campaigns.create_campaign(make_newsletter(archive))
    subscribers = make_subscribers(count)
    Delivery.objects.bulk_create(
        [
            Delivery(
                campaign=campaign,
                subscriber=subscriber,
                status=DeliveryStatus.CLAIMED,
                claim=42,
                lease_expires_at=timezone.now(),
            )
            for subscriber in subscribers
        ]
    )
    return list(Delivery.objects.filter(campaign=campaign).order_by("pk"))


@pytest.mark.django_db(transaction=True)
def test_marks_record_sent_time_and_code_and_drop_the_claim(archive):
    first, second, third = claimed_deliveries(archive, 3)
    sent_at = timezone.now()
    with claims.SentMarks() as marks:
        marks.mark_sent(first.pk, 250, now=sent_at)
        marks.mark_sent(second.pk, 251)
    rows = {d.pk: d for d in Delivery.objects.all()}
    assert rows[first.pk].status == DeliveryStatus.SENT
    assert rows[first.pk].sent_at == sent_at
    assert (rows[first.pk].smtp_code, rows[second.pk].smtp_code) == (250, 251)
    assert rows[first.pk].claim is None and rows[first.pk].lease_expires_at is None
    assert rows[second.pk].status == DeliveryStatus.SENT and rows[second.pk].sent_at is not None
    assert rows[third.pk].status == DeliveryStatus.CLAIMED and rows[third.pk].claim == 42  # untouched


@pytest.mark.django_db(transaction=True)
def test_marks_prepare_again_when_the_session_lost_the_statement(archive):
    """A new connection, or a pooler handing us another server session, has no prepared statement: the mark
    prepares it and still records the message."""
    first, second = claimed_deliveries(archive, 2)
    with claims.SentMarks() as marks:
        marks.mark_sent(first.pk, 250)
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL" if connection.vendor == "postgresql" else "SELECT 1")
        marks.mark_sent(second.pk, 250)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


@pytest.mark.django_db(transaction=True)
def test_a_failed_mark_raises_a_database_error_and_changes_nothing(archive):
    (delivery,) = claimed_deliveries(archive, 1)
    with claims.SentMarks() as marks, pytest.raises(DatabaseError):
        marks.mark_sent(delivery.pk, -1)  # smtp_code is a positive integer column (a CHECK constraint)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.CLAIMED and delivery.smtp_code is None


@pytest.mark.django_db
def test_marks_work_inside_a_transaction(archive):
    """A worker's batch may run inside a transaction (as here, the test's): preparing must not rely on an error,
    which would abort it."""
    first, second = claimed_deliveries(archive, 2)
    if connection.vendor == "postgresql":  # as on a new connection
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
        claims._PREPARED.discard(connection.connection)
    with claims.SentMarks() as marks:
        marks.mark_sent(first.pk, 250)
    if connection.vendor == "postgresql":  # forgotten, but the session has it: not prepared twice
        claims._PREPARED.discard(connection.connection)
    with claims.SentMarks() as marks:
        marks.mark_sent(second.pk, 250)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


class ForgetfulPooler:
    """libpq as seen through a pooler that keeps no prepared statements (PgBouncer < 1.21, transaction mode): every
    statement may land on another server session, so what was prepared is gone when it runs."""

    def __init__(self, pgconn):
        self.pgconn = pgconn

    def exec_prepared(self, name, values):
        self.pgconn.exec_(b"DEALLOCATE ALL")
        return self.pgconn.exec_prepared(name, values)

    def __getattr__(self, name):
        return getattr(self.pgconn, name)


@pytest.mark.django_db(transaction=True)
def test_marks_fall_back_to_plain_statements_behind_a_pooler_that_loses_them(archive):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements: PostgreSQL only")
    first, second = claimed_deliveries(archive, 2)
    with claims.SentMarks() as marks:
        marks.pgconn = ForgetfulPooler(marks.pgconn)
        marks.mark_sent(first.pk, 250)
        assert marks.plain
        marks.mark_sent(second.pk, 250)
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    with claims.SentMarks() as marks:  # the connection stays on plain statements
        assert marks.plain
    claims._UNPREPARED.discard(connection.connection)
