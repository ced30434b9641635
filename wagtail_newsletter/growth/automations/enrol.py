"""Letting people into an automation: one ``INSERT … SELECT`` whatever their number.

A person enters at most once per occurrence of the trigger (unique (automation, subscriber, occurrence)), only
while subscribed, not paused and not already going through the same automation. ``start_automation`` is the public
way in for code and the API.
"""

from django.db import connection, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from ...audience.models import Status, Subscriber
from ...taskqueue import enqueue_on_commit
from . import clock
from .models import Automation, Enrolment, EnrolmentStatus

TICK_TASK = "wagtail_newsletter.growth.automations.tick.tick_task"


class AutomationError(Exception):
    """Something an automation can't do; the message is for people."""


def _quoted(model):
    return connection.ops.quote_name(model._meta.db_table)


def enrol_rows(automation_id, rows, now=None, round_number=None, due_at=None):
    """Enrol the people of ``rows`` — a values() queryset with the columns ``sid`` (subscriber id) and ``occ`` (the
    occurrence key, text) — in automation ``automation_id``, due at ``due_at`` (default: now). ``round_number``: the
    round of their step campaigns (None: one more than their earlier enrolments in it). Returns how many entered."""
    now = now or clock.now()
    select_sql, params = rows.order_by().query.sql_with_params()
    enrolments, subscribers = _quoted(Enrolment), _quoted(Subscriber)
    sql = (
        f"INSERT INTO {enrolments} (automation_id, subscriber_id, occurrence, round, status, position, due_at, "
        "entered_at, left_reason) "
        "SELECT %s, c.sid, c.occ, "
        f"COALESCE(%s, (SELECT COUNT(*) FROM {enrolments} p WHERE p.automation_id = %s AND p.subscriber_id = c.sid) "
        "+ 1), %s, 0, %s, %s, '' "
        f"FROM ({select_sql}) c JOIN {subscribers} s ON s.id = c.sid "
        "WHERE s.status = %s AND s.deleted_at IS NULL AND (s.paused_until IS NULL OR s.paused_until <= %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {enrolments} a WHERE a.automation_id = %s AND a.subscriber_id = c.sid "
        "AND a.status = %s) "
        "ON CONFLICT (automation_id, subscriber_id, occurrence) DO NOTHING"
    )
    stamp = connection.ops.adapt_datetimefield_value  # as the ORM writes them (SQLite compares text)
    values = [automation_id, round_number, automation_id, EnrolmentStatus.ACTIVE, stamp(due_at or now), stamp(now)]
    values += [*params, Status.SUBSCRIBED, stamp(now), automation_id, EnrolmentStatus.ACTIVE]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.rowcount


def subscriber_rows(subscribers, occurrence):
    """``subscribers`` (a Subscriber queryset) as rows for ``enrol_rows``, all with the same ``occurrence``."""
    return subscribers.values(sid=F("pk"), occ=Cast(Value(str(occurrence)[:64]), output_field=CharField()))


def enrol(automation, subscribers, occurrence, now=None, round_number=None, due_at=None, run_soon=True):
    """Enrol ``subscribers`` (a queryset) for one ``occurrence``; the first step runs at the next tick, which is
    asked for when the transaction commits (``run_soon``)."""
    entered = enrol_rows(automation.pk, subscriber_rows(subscribers, occurrence), now, round_number, due_at)
    if entered and run_soon:
        enqueue_on_commit(TICK_TASK, automation.pk)
    return entered


def _as_queryset(subscribers):
    if hasattr(subscribers, "values_list"):
        return subscribers
    ids = [getattr(item, "pk", item) for item in subscribers]
    if any(not isinstance(pk, int) or isinstance(pk, bool) for pk in ids):
        raise AutomationError(_("Give subscribers, their ids or a queryset of subscribers."))
    return Subscriber.objects.filter(pk__in=ids)


def start_automation(automation, subscribers, occurrence="api", now=None):
    """Start ``automation`` (an Automation or its id) for ``subscribers`` (Subscriber objects, ids or a queryset),
    from code or the API. ``occurrence`` names this start: people already started with the same key are left
    alone, so a retried call changes nothing; pass a new key (an order number, a date…) to let them go through
    again. Only subscribed, unpaused people who are not in the middle of it enter. Returns how many entered.

    Raises ``AutomationError`` for an automation that does not exist or is not active (nothing changes)."""
    pk = getattr(automation, "pk", automation)
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise AutomationError(_("Give an automation or its id."))
    occurrence = str(occurrence)
    if not occurrence or len(occurrence) > 64:
        raise AutomationError(_("The occurrence key must have 1 to 64 characters."))
    queryset = _as_queryset(subscribers)
    with transaction.atomic():
        found = Automation.objects.filter(pk=pk).values_list("active", flat=True).first()
        if found is None:
            raise AutomationError(_("There is no automation with id %(id)s.") % {"id": pk})
        if not found:
            raise AutomationError(_("This automation is not active."))
        return enrol(Automation(pk=pk), queryset, f"api:{occurrence}", now=now)
