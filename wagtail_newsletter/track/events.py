"""Appending Events: the one write of a tracking hit, and of unsubscribes, complaints and bounces.

A hit (open or click) is ONE ``INSERT … SELECT`` from the delivery table, so a signed token naming a delivery that
does not exist — or not in the token's campaign — inserts nothing; no ORM object, no read-modify-write of a counter.
Counters are folded from the events later (``aggregate``).
"""

import contextlib
import weakref

from django.db import DatabaseError, connection, transaction
from django.dispatch import receiver
from django.utils import timezone

from ..audience.services import subscribers_erased
from ..send.models import Delivery
from .agents import classify_agent, ip_prefix
from .countries import hit_country
from .devices import describe
from .models import Activity, Agent, Event, EventKind

_HIT_SQL = None


def _hit_sql():
    global _HIT_SQL
    if _HIT_SQL is None:
        quote = connection.ops.quote_name
        _HIT_SQL = (
            f"INSERT INTO {quote(Event._meta.db_table)} "
            "(campaign_id, delivery_id, kind, link, at, agent, ip_prefix, detail, device, client, country) "
            "SELECT campaign_id, id, %s, CAST(%s AS SMALLINT), %s, %s, CAST(%s AS VARCHAR(50)), '', "
            "%s, CAST(%s AS VARCHAR(40)), CAST(%s AS VARCHAR(2)) "
            f"FROM {quote(Delivery._meta.db_table)} WHERE id = %s AND campaign_id = %s"
        )
    return _HIT_SQL


# PostgreSQL: the hit's transaction does not wait for the WAL flush (``synchronous_commit`` off for it alone). Events
# are statistics: a server crash may lose the last fraction of a second of hits, never corrupt anything or lose any
# other write; in exchange a hit costs no disk flush (measured here: ~1.2 ms → ~0.3 ms of database time per hit).
_SYNC_OFF = "SET LOCAL synchronous_commit TO OFF"


def _one_round_trip():
    """Whether the hit can go as one simple-query string (BEGIN; SET LOCAL; INSERT; COMMIT): psycopg 3 binding
    parameters on the client (Django's default), and no transaction open around it."""
    if not connection.get_autocommit() or connection.in_atomic_block:
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3 and not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")


# The INSERT is also PREPAREd once per PostgreSQL connection (planning it cost half of the ~150 µs of a hit's database
# time); a pooler that drops prepared statements between transactions (PgBouncer in transaction mode) is noticed by
# the error, and this process goes back to the plain statement.
_STATEMENT = "wagtail_newsletter_hit_v2"  # a new name when the statement changes (old connections hold the old one)
HIT_PARAMETERS = 10
_PREPARED = weakref.WeakSet()  # the driver connections that hold the statement
_use_prepared = True


def _prepare_sql():
    sql = _hit_sql()
    for number in range(1, HIT_PARAMETERS + 1):
        sql = sql.replace("%s", f"${number}", 1)
    types = "smallint, smallint, timestamptz, smallint, varchar, smallint, varchar, varchar, bigint, bigint"
    return f"PREPARE {_STATEMENT} ({types}) AS {sql}"


def _run_in_one_round_trip(cursor, params):
    global _use_prepared
    raw = connection.connection
    if _use_prepared and raw not in _PREPARED:
        try:
            cursor.execute(_prepare_sql())
        except DatabaseError as error:
            if getattr(error.__cause__, "sqlstate", None) != "42P05":  # 42P05: prepared already
                raise
        _PREPARED.add(raw)
    insert = f"EXECUTE {_STATEMENT} ({', '.join(['%s'] * HIT_PARAMETERS)})" if _use_prepared else _hit_sql()
    try:
        cursor.execute(f"BEGIN; {_SYNC_OFF}; {insert}; COMMIT", params)
    except DatabaseError as error:
        # The explicit BEGIN may have left the session in a failed transaction block: end it first.
        with contextlib.suppress(DatabaseError):
            cursor.execute("ROLLBACK")
        if not _use_prepared or getattr(error.__cause__, "sqlstate", None) != "26000":  # 26000: no such statement
            raise
        _use_prepared = False
        _PREPARED.discard(raw)
        return _run_in_one_round_trip(cursor, params)
    cursor.nextset()  # past BEGIN and SET LOCAL to the INSERT's row count
    cursor.nextset()
    return cursor.rowcount == 1


def _insert(params):
    """Run the hit's INSERT … SELECT; True when it inserted its row."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_hit_sql(), params)
            return cursor.rowcount == 1
    if not _one_round_trip():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_SYNC_OFF)
            cursor.execute(_hit_sql(), params)
            return cursor.rowcount == 1
    with connection.cursor() as cursor:
        return _run_in_one_round_trip(cursor, params)


def record_hit(kind, delivery_id, campaign_id, link=None, request=None, now=None):
    """Append an open or click of ``delivery_id`` (which must belong to ``campaign_id``); True when written.

    The agent class, the IP prefix, the device type, the mail client and the country come from ``request`` (its
    User-Agent, method and REMOTE_ADDR — put a reverse proxy's client address there, e.g. with a middleware you
    trust). A HEAD request is recorded as ``Agent.HEAD``, so the aggregation can tell it apart.
    """
    if request is not None:
        meta = request.META
        ip = meta.get("REMOTE_ADDR", "")
        user_agent = meta.get("HTTP_USER_AGENT", "")
        agent = classify_agent(user_agent, request.method, ip)
        prefix = ip_prefix(ip)
        device, client = describe(agent, user_agent)
        # A mailbox's image proxy fetches from the provider's servers: their country is not the reader's.
        country = hit_country(ip) if agent == Agent.BROWSER else ""
    else:
        agent, prefix, device, client, country = Agent.UNKNOWN, "", 0, "", ""
    at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    return _insert((int(kind), link, at, int(agent), prefix, int(device), client, country, delivery_id, campaign_id))


def record_event(delivery, kind, detail="", at=None):
    """Append one event of ``delivery`` (unsubscribes, complaints, bounces: rare, so one ORM insert)."""
    return Event.objects.create(
        campaign_id=delivery.campaign_id,
        delivery_id=delivery.pk,
        kind=kind,
        at=at or timezone.now(),
        detail=(detail or "")[:500],
    )


def record_complaint(delivery, feedback_type="abuse", at=None):
    """A spam complaint (an ARF report or an ESP webhook) about ``delivery``; ``feedback_type`` as RFC 5965 names it."""
    return record_event(delivery, EventKind.COMPLAINT, detail=feedback_type, at=at)


def record_bounce(delivery, hard, detail, at=None):
    """A bounce of ``delivery`` reported after it was sent (a DSN or a webhook); ``detail``: the server's answer."""
    return record_event(delivery, EventKind.HARD_BOUNCE if hard else EventKind.SOFT_BOUNCE, detail=detail, at=at)


@receiver(subscribers_erased, dispatch_uid="wagtail_newsletter.track.erase_ip_prefixes")
def erase_ip_prefixes(sender, subscriber_ids, **kwargs):
    """GDPR erasure: the network prefixes of an erased subscriber's events go, and every copy of a relay's or bounce's
    answer (it may quote the address), and the country of their hits: on the events, the recipient's activity and the
    deliveries. The events and deliveries stay, so the counts do not change."""
    deliveries = Delivery.objects.filter(subscriber_id__in=subscriber_ids)
    ids = deliveries.values("pk")
    Event.objects.filter(delivery_id__in=ids).exclude(ip_prefix="", detail="", country="").update(
        ip_prefix="", detail="", country=""
    )
    Activity.objects.filter(delivery_id__in=ids).exclude(bounce_detail="", country="").update(
        bounce_detail="", country=""
    )
    deliveries.exclude(error="").update(error="")
