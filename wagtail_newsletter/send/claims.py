"""Claiming deliveries under a lease, and writing their outcomes — the SQL of the send loop.

A claim is one ``UPDATE … WHERE id IN (SELECT … LIMIT n)`` stamping the rows with a random claim number and a
lease; on PostgreSQL the inner SELECT takes ``FOR UPDATE SKIP LOCKED``, so workers never wait on each other; on
SQLite the statement runs alone (one writer), which gives the same guarantee. Rows whose lease expired (their
worker died) are claimed again like queued ones.
"""

import datetime
import logging
import secrets
import weakref
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .models import Delivery, DeliveryStatus, Event, EventKind

logger = logging.getLogger(__name__)

_RECIPIENT_FIELDS = (
    "id",
    "attempts",
    "subscriber_id",
    "subscriber__email",
    "subscriber__first_name",
    "subscriber__last_name",
    "subscriber__language",
    "subscriber__data",
    "subscriber__status",
    "subscriber__deleted_at",
    "language",  # the delivery's translation, chosen by the planner ("" = the campaign's own)
    "subscriber__paused_until",  # a pause taken after planning: the worker skips them (send.worker.skip_reason)
)


def new_token():
    return secrets.randbits(62)


def _table():
    return connection.ops.quote_name(Delivery._meta.db_table)


def claim(campaign_id, limit, lease_seconds, now=None, token=None):
    """Claim up to ``limit`` deliveries of a campaign under ``token`` (a send task's own number, so its lease can be
    renewed: send.leases; random when None); return (claim number, rows as tuples of _RECIPIENT_FIELDS).

    Rows under an expired lease first, then queued ones that are due, each in one UPDATE whose inner SELECT walks
    the (campaign, status, id) index in order and stops after ``limit`` rows (one query with OR would sort the
    whole queue on every claim: 0.4 s at a million recipients).
    """
    now = now or timezone.now()
    token = token or new_token()
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    lease = now + datetime.timedelta(seconds=lease_seconds)
    update = (
        f"UPDATE {_table()} SET status = %s, claim = %s, lease_expires_at = %s, attempts = attempts + 1 "
        f"WHERE id IN (SELECT id FROM {_table()} WHERE campaign_id = %s AND status = %s AND {{condition}} "
        f"ORDER BY id LIMIT %s{lock})"
    )
    claimed = 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            for status, condition in (
                (DeliveryStatus.CLAIMED, "lease_expires_at < %s"),
                (DeliveryStatus.QUEUED, "(next_attempt_at IS NULL OR next_attempt_at <= %s)"),
            ):
                cursor.execute(
                    update.format(condition=condition),
                    [DeliveryStatus.CLAIMED, token, lease, campaign_id, status, now, limit - claimed],
                )
                claimed += cursor.rowcount
                if claimed >= limit:
                    break
    if not claimed:
        return token, []
    claimed_rows = Delivery.objects.filter(claim=token, status=DeliveryStatus.CLAIMED)
    rows = list(claimed_rows.order_by("id").values_list(*_RECIPIENT_FIELDS))
    return token, rows


def delivery_row(campaign_id, subscriber_id):
    """The delivery of a subscriber in a campaign as ``claim`` returns it, without claiming it (None if none)."""
    rows = Delivery.objects.filter(campaign_id=campaign_id, subscriber_id=subscriber_id)
    return rows.values_list(*_RECIPIENT_FIELDS).first()


class SentMarks:
    """Records accepted messages one by one, at once: the moment after which a message must never be sent again.

    One UPDATE by primary key per message. On PostgreSQL a statement prepared once per session and run through
    libpq itself: neither parsed nor planned again, and no Python cursor machinery (psycopg's cursor would not
    prepare it: Django turns psycopg's automatic preparing off); elsewhere Django's cursor. Use as a context manager
    around a batch.
    """

    NAME = b"wn_mark_sent"

    def __init__(self):
        self.sql = (
            f"UPDATE {_table()} SET status = %s, sent_at = %s, smtp_code = %s, claim = NULL, lease_expires_at = NULL "
            "WHERE id = %s"
        )
        self.cursor = self.pgconn = None
        self.plain = False

    def __enter__(self):
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            raw = connection.connection
            self.pgconn, self.encoding = raw.pgconn, raw.info.encoding
            self.plain = raw in _UNPREPARED
            # Asked, not found out by an error: inside a transaction, that would abort it.
            if not self.plain and raw not in _PREPARED:
                self._prepare()
                _PREPARED.add(raw)
        else:
            self.cursor = connection.cursor()
        return self

    def mark_sent(self, delivery_id, code, now=None):
        now = now or timezone.now()
        if self.pgconn is None:
            self.cursor.execute(self.sql, (DeliveryStatus.SENT, now, code, delivery_id))
            return
        values = [
            b"%d" % DeliveryStatus.SENT,
            now.isoformat().encode("ascii"),
            None if code is None else b"%d" % code,
            b"%d" % delivery_id,
        ]
        if self.plain:
            result = self.pgconn.exec_params(self._numbered_sql(), values)
            if result.status != _COMMAND_OK:
                _raise_from(result, self.encoding)
            return
        result = self.pgconn.exec_prepared(self.NAME, values)
        if result.status != _COMMAND_OK:
            # A pooler that moved us to a server session without the statement: prepare it there and run it once
            # more (outside a transaction only: inside one, the error has aborted it).
            if result.error_field(_SQLSTATE) != b"26000" or self.pgconn.transaction_status != _IDLE:
                _raise_from(result, self.encoding)
            self._prepare()
            result = self.pgconn.exec_prepared(self.NAME, values)
            if result.status != _COMMAND_OK and result.error_field(_SQLSTATE) == b"26000":
                # Lost again at once: a pooler that keeps no prepared statements (PgBouncer before 1.21 in
                # transaction mode). Plain statements for this connection from now on.
                _UNPREPARED.add(connection.connection)
                self.plain = True
                result = self.pgconn.exec_params(self._numbered_sql(), values)
            if result.status != _COMMAND_OK:
                _raise_from(result, self.encoding)

    def _numbered_sql(self):
        sql = self.sql.replace("%s", "$1", 1).replace("%s", "$2", 1).replace("%s", "$3", 1).replace("%s", "$4", 1)
        return sql.encode()

    def _prepare(self):
        found = self.pgconn.exec_params(b"SELECT 1 FROM pg_prepared_statements WHERE name = $1", [self.NAME])
        if found.status == _TUPLES_OK and found.ntuples:  # this session has it already: preparing again would fail
            return
        result = self.pgconn.prepare(self.NAME, self._numbered_sql())
        if result.status != _COMMAND_OK:
            _raise_from(result, self.encoding)

    def __exit__(self, *exc_info):
        if self.cursor is not None:
            self.cursor.close()


_COMMAND_OK, _TUPLES_OK = 1, 2  # psycopg.pq.ExecStatus
_SQLSTATE = ord("C")  # psycopg.pq.DiagnosticField.SQLSTATE
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE
_PREPARED = weakref.WeakSet()  # the psycopg connections whose session has the statement
_UNPREPARED = weakref.WeakSet()  # those behind a pooler that loses it


def _raise_from(result, encoding):
    """The psycopg error of a failed libpq result, raised as Django's database error of that kind."""
    import psycopg  # only on PostgreSQL: the driver is optional

    error = psycopg.errors.error_from_result(result, encoding=encoding)
    with connection.wrap_database_errors:
        raise error


def mark_skipped(ids, reason):
    if ids:
        Delivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.SKIPPED, error=reason[:500], claim=None, lease_expires_at=None
        )


def release(ids, count_attempt=False):
    """Put claimed rows back in the queue; an attempt that never reached the relay doesn't count."""
    if ids:
        updates = {"status": DeliveryStatus.QUEUED, "claim": None, "lease_expires_at": None}
        if not count_attempt:
            updates["attempts"] = F("attempts") - 1
        Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.CLAIMED).update(**updates)


class Bounce(NamedTuple):
    """A delivery given up on: ``hard`` for a permanent (5xx) refusal, else 4xx retries exhausted."""

    delivery_id: int
    campaign_id: int
    hard: bool
    detail: str


# What a refusal does to the subscriber (bounced at once, soft bounces counted, the campaign paused when receivers block
# the sender) is decided on the deliverability floor, which reads the receiver's answer as it reads returned mail; it
# hands the send loop its handler (``AppConfig.ready``). Without one, each refusal is only its bounce event.
_refusal_handler = None


def set_refusal_handler(handler):
    """``handler(bounces)``: record the refusals of a batch (their events and effects) inside its transaction."""
    global _refusal_handler
    _refusal_handler = handler


def record_outcomes(outcomes, bounces=()):
    """Write retries and failures of a batch in one UPDATE (``outcomes`` are Delivery objects with the fields set),
    and the bounces of the failures, in the same transaction."""
    if not outcomes and not bounces:
        return
    with transaction.atomic():
        if outcomes:
            Delivery.objects.bulk_update(
                outcomes,
                ["status", "next_attempt_at", "smtp_code", "error", "claim", "lease_expires_at"],
                batch_size=len(outcomes),
            )
        if bounces:
            _record_bounces(bounces)


def _record_bounces(bounces):
    if _refusal_handler is not None:
        try:
            with transaction.atomic():
                _refusal_handler(bounces)
            return
        except Exception:  # noqa: BLE001 (the outcomes must be written whatever the effects do: else a resend)
            logger.exception("refusal effects failed; recording the bounce events only")
    now = timezone.now()
    Event.objects.bulk_create(
        [
            Event(
                campaign_id=bounce.campaign_id,
                delivery_id=bounce.delivery_id,
                kind=EventKind.HARD_BOUNCE if bounce.hard else EventKind.SOFT_BOUNCE,
                at=now,
                detail=bounce.detail[:500],
            )
            for bounce in bounces
        ],
        batch_size=1000,
    )


def pending_exists(campaign_id):
    return Delivery.objects.filter(
        campaign_id=campaign_id, status__in=(DeliveryStatus.QUEUED, DeliveryStatus.CLAIMED)
    ).exists()


def next_due(campaign_id):
    """When the earliest queued delivery becomes due (None: nothing queued for later)."""
    return (
        Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.QUEUED, next_attempt_at__isnull=False)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
