"""Filling the outbox: what happened, read from the logs that already record it, one row per endpoint and event.

Opens and clicks come from ``Event`` (send's log, appended by track's views) and subscribers' status changes from
``StatusEvent`` (audience's history): a tick reads the rows past its cursor and writes the outbox rows of every
endpoint that wants them in one ``INSERT … SELECT`` per log. The tracking views are not touched: a hit costs what it
cost before webhooks. Campaign events are written as the campaign's status changes (send's
``campaign_status_changed`` signal), in its transaction.

Ids are given out before commit, so on PostgreSQL a row with a lower id can appear after a higher one was read: the
ranges a tick found empty are read again by the next ticks for ``WEBHOOK_GAP_SECONDS`` (a row can't be written twice:
the outbox is unique per endpoint, type and source, and the INSERT skips what is there).
"""

import datetime
import time

from django.db import connection, transaction
from django.utils import timezone

from ...audience.models import Source, Status, StatusEvent
from ...conf import newsletter_settings
from ...send.models import Delivery, Event, EventKind
from .models import EventType, WebhookCursor, WebhookEndpoint, WebhookMessage

# The columns every INSERT of the outbox fills, in this order (see _insert).
_COLUMNS = (
    "endpoint_id, event_type, source, order_key, subscriber_id, campaign_id, occurred_at, created_at, expires_at, "
    "status, attempts, response_body, error, body"
)


def retry_window():
    return datetime.timedelta(hours=newsletter_settings.WEBHOOK_RETRY_HOURS)


def db_time(value):
    """A datetime as a raw query's parameter must be for this database (SQLite: naive UTC text, as the ORM writes)."""
    return connection.ops.adapt_datetimefield_value(value)


def _q(name):
    return connection.ops.quote_name(name)


def _wanting(endpoints, event_type):
    return [endpoint.pk for endpoint in endpoints if event_type in endpoint.events]


def _in(ids):
    return "(" + ", ".join(str(int(i)) for i in ids) + ")"


def _event_select(endpoints):
    """SELECT of the outbox rows for opens and clicks in an id range (None: no endpoint wants either)."""
    cases = []
    for kind, event_type in ((EventKind.OPEN, EventType.OPENED), (EventKind.CLICK, EventType.CLICKED)):
        if ids := _wanting(endpoints, event_type):
            cases.append((int(kind), event_type.value, ids))
    if not cases:
        return None
    kind_type = " ".join(f"WHEN {kind} THEN '{event_type}'" for kind, event_type, _ids in cases)
    wanted = " OR ".join(f"(e.kind = {kind} AND ep.id IN {_in(ids)})" for kind, _type, ids in cases)
    return (
        f"SELECT ep.id, CASE e.kind {kind_type} END, e.id, d.subscriber_id, d.subscriber_id, e.campaign_id, e.at, "
        f"%s, %s, 0, 0, '', '', '' "
        f"FROM {_q(Event._meta.db_table)} e "
        f"JOIN {_q(Delivery._meta.db_table)} d ON d.id = e.delivery_id "
        f"JOIN {_q(WebhookEndpoint._meta.db_table)} ep ON ep.created_at <= e.at AND ({wanted}) "
        "WHERE e.id BETWEEN %s AND %s"
    )


def _status_select(endpoints):
    """SELECT of the outbox rows for subscribers' status changes in an id range (None: nobody wants them).

    A change to pending or subscribed is "subscribed", unless it is the double opt-in's confirmation ("confirmed")."""
    conditions = {
        EventType.SUBSCRIBED: f"s.new_status IN ('{Status.PENDING}', '{Status.SUBSCRIBED}') "
        f"AND s.source <> '{Source.CONFIRMATION}'",
        EventType.CONFIRMED: f"s.new_status = '{Status.SUBSCRIBED}' AND s.source = '{Source.CONFIRMATION}'",
        EventType.UNSUBSCRIBED: f"s.new_status = '{Status.UNSUBSCRIBED}'",
        EventType.BOUNCED: f"s.new_status = '{Status.BOUNCED}'",
        EventType.COMPLAINED: f"s.new_status = '{Status.COMPLAINED}'",
    }
    cases = [(event_type, condition, _wanting(endpoints, event_type)) for event_type, condition in conditions.items()]
    cases = [case for case in cases if case[2]]
    if not cases:
        return None
    type_of = " ".join(f"WHEN {condition} THEN '{event_type.value}'" for event_type, condition, _ids in cases)
    wanted = " OR ".join(f"(({condition}) AND ep.id IN {_in(ids)})" for _type, condition, ids in cases)
    return (
        f"SELECT ep.id, CASE {type_of} END, s.id, s.subscriber_id, s.subscriber_id, NULL, s.created_at, "
        f"%s, %s, 0, 0, '', '', '' "
        f"FROM {_q(StatusEvent._meta.db_table)} s "
        f"JOIN {_q(WebhookEndpoint._meta.db_table)} ep ON ep.created_at <= s.created_at AND ({wanted}) "
        "WHERE s.id BETWEEN %s AND %s"
    )


_ANALYZE_AFTER = 10_000  # outbox rows written by one fan-out

# Each log: (cursor name, table, the SELECT builder).
LOGS = (("event", Event._meta.db_table, _event_select), ("status_event", StatusEvent._meta.db_table, _status_select))


def _insert(select, params):
    table = _q(WebhookMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({_COLUMNS}) {select} ON CONFLICT DO NOTHING", params)
        return cursor.rowcount


def _gaps(table, after, upto):
    """[first, last] id ranges in (after, upto] with no row now: rows that may still be committed."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT prev + 1, id - 1 FROM (SELECT id, LAG(id, 1, %s) OVER (ORDER BY id) AS prev FROM {_q(table)} "
            "WHERE id > %s AND id <= %s) AS ids WHERE id - prev > 1",
            [after, after, upto],
        )
        found = [[int(first), int(last)] for first, last in cursor.fetchall()]
        cursor.execute(f"SELECT MAX(id) FROM {_q(table)} WHERE id > %s AND id <= %s", [after, upto])
        highest = cursor.fetchone()[0]
    if highest is None:  # nothing at all in the range: the whole of it may still come
        return [[after + 1, upto]] if upto > after else []
    return found + ([[highest + 1, upto]] if highest < upto else [])


def _highest(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {_q(table)}")
        return cursor.fetchone()[0] or 0


def fan_out(now=None):
    """Read each log past its cursor and write the outbox rows of the endpoints that want them; return how many."""
    now = now or timezone.now()
    written = 0
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
    for name, table, build in LOGS:
        with transaction.atomic():
            cursor, created = WebhookCursor.objects.select_for_update().get_or_create(
                name=name, defaults={"last_id": _highest(table)}
            )
            if created:  # webhooks start now: earlier history is not sent
                continue
            written += _read_log(cursor, table, build(endpoints), now)
    if written >= _ANALYZE_AFTER and connection.vendor == "postgresql":
        # A burst (a campaign's clicks, an import) before autovacuum has looked: without fresh statistics the claim's
        # NOT EXISTS is planned as a scan of the whole outbox per row (measured: 58 instead of 460 messages/s).
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {_q(WebhookMessage._meta.db_table)}")
    return written


def _read_log(cursor, table, select, now):
    upto = min(_highest(table), cursor.last_id + newsletter_settings.WEBHOOK_FANOUT_CHUNK)
    clock = time.time()
    # Ranges found empty earlier are read again until they are old enough to be truly empty.
    gaps = [gap for gap in cursor.gaps if clock - gap[2] < newsletter_settings.WEBHOOK_GAP_SECONDS]
    written = 0
    if select is not None:
        expires = now + retry_window()
        for first, last, *_seen in gaps:
            written += _insert(select, [db_time(now), db_time(expires), first, last])
        if upto > cursor.last_id:
            written += _insert(select, [db_time(now), db_time(expires), cursor.last_id + 1, upto])
    if upto > cursor.last_id:
        gaps += [[first, last, clock] for first, last in _gaps(table, cursor.last_id, upto)]
        cursor.last_id = upto
    cursor.gaps = gaps[-1000:]  # a bound: a huge rolled-back import must not make the cursor row huge
    cursor.save(update_fields=["last_id", "gaps"])
    return written


def start_cursors():
    """Begin reading the logs now (when the first endpoint is registered), so that history is never sent."""
    for name, table, _build in LOGS:
        WebhookCursor.objects.get_or_create(name=name, defaults={"last_id": _highest(table)})


# --- Campaign events ---------------------------------------------------------------------------------------------


# A campaign event's ``source``: the campaign's id for its one start and one end; for a pause, the id shifted left
# by this many bits plus the pause's number (1, 2, …), so the outbox's unique (endpoint, type, source) refuses the
# same change queued twice, even by two transactions at once (the second's INSERT finds the first's row).
_PAUSE_BITS = 20


def campaign_event_source(campaign, event_type):
    """The stable source of a campaign's status change (see ``_PAUSE_BITS``). A pause is numbered after the latest
    one in the outbox, unless that one is this very pause (same ``paused_at``): then it gets the same number."""
    if event_type != EventType.CAMPAIGN_PAUSED:
        return campaign.pk
    latest = (
        WebhookMessage.objects.filter(campaign_id=campaign.pk, event_type=event_type)
        .order_by("-source")
        .values_list("source", "occurred_at")
        .first()
    )
    if latest is None:
        return (campaign.pk << _PAUSE_BITS) + 1
    source, occurred_at = latest
    return source if occurred_at == campaign.paused_at else source + 1


def record_campaign_event(campaign, event_type, now=None):
    """Outbox rows of a campaign's status change for the endpoints that want it (in the caller's transaction); a
    change already queued for an endpoint is skipped there."""
    now = now or timezone.now()
    occurred_at = (campaign.paused_at if event_type == EventType.CAMPAIGN_PAUSED else None) or now
    source = campaign_event_source(campaign, event_type)
    endpoints = [e for e in WebhookEndpoint.objects.filter(enabled=True).only("id", "events") if event_type in e.events]
    WebhookMessage.objects.bulk_create(
        [
            WebhookMessage(
                endpoint=endpoint,
                event_type=event_type,
                source=source,
                order_key=-campaign.pk,
                campaign_id=campaign.pk,
                occurred_at=occurred_at,
                created_at=now,
                expires_at=now + retry_window(),
            )
            for endpoint in endpoints
        ],
        ignore_conflicts=True,
    )
