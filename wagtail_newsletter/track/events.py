"""Appending Events: the one write of a tracking hit, and of unsubscribes, complaints and bounces.

A hit (open or click) is ONE ``INSERT … SELECT`` from the delivery table, so a signed token naming a delivery that
does not exist — or not in the token's campaign — inserts nothing; no ORM object, no read-modify-write of a counter.
Counters are folded from the events later (``aggregate``).
"""

from django.db import connection, transaction
from django.dispatch import receiver
from django.utils import timezone

from ..audience.services import subscribers_erased
from ..send.models import Delivery
from .agents import classify_agent, ip_prefix
from .models import Agent, Event, EventKind

_HIT_SQL = None


def _hit_sql():
    global _HIT_SQL
    if _HIT_SQL is None:
        quote = connection.ops.quote_name
        _HIT_SQL = (
            f"INSERT INTO {quote(Event._meta.db_table)} "
            "(campaign_id, delivery_id, kind, link, at, agent, ip_prefix, detail) "
            "SELECT campaign_id, id, %s, CAST(%s AS SMALLINT), %s, %s, CAST(%s AS VARCHAR(50)), '' "
            f"FROM {quote(Delivery._meta.db_table)} WHERE id = %s AND campaign_id = %s"
        )
    return _HIT_SQL


def _synchronous_commit_off(cursor):
    """PostgreSQL: this transaction's commit does not wait for the WAL flush. Events are statistics: a server crash
    may lose the last fraction of a second of hits, never corrupt anything; in exchange a hit costs no disk flush."""
    cursor.execute("SET LOCAL synchronous_commit TO OFF")


def record_hit(kind, delivery_id, campaign_id, link=None, request=None, now=None):
    """Append an open or click of ``delivery_id`` (which must belong to ``campaign_id``); True when written.

    The agent class and the IP prefix come from ``request`` (its User-Agent, method and REMOTE_ADDR — put a
    reverse proxy's client address there, e.g. with a middleware you trust). A HEAD request is recorded as
    ``Agent.HEAD``, so the aggregation can tell it apart.
    """
    if request is not None:
        meta = request.META
        ip = meta.get("REMOTE_ADDR", "")
        agent = classify_agent(meta.get("HTTP_USER_AGENT", ""), request.method, ip)
        prefix = ip_prefix(ip)
    else:
        agent, prefix = Agent.UNKNOWN, ""
    at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    params = (int(kind), link, at, int(agent), prefix, delivery_id, campaign_id)
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_hit_sql(), params)
            return cursor.rowcount == 1
    with transaction.atomic(), connection.cursor() as cursor:
        _synchronous_commit_off(cursor)
        cursor.execute(_hit_sql(), params)
        return cursor.rowcount == 1


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
    """GDPR erasure: the network prefixes of an erased subscriber's hits go with them (the counts stay)."""
    deliveries = Delivery.objects.filter(subscriber_id__in=subscriber_ids).values("pk")
    Event.objects.filter(delivery_id__in=deliveries).exclude(ip_prefix="").update(ip_prefix="")
