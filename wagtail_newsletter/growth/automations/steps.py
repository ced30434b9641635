"""What each kind of step does to a batch of enrolments (ids claimed by the tick, inside its transaction), set-based:
a few statements per batch, never one per person. Each returns nothing; the tick moves the batch on afterwards
unless the step moved them itself (branches, stops)."""

import datetime

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from ...audience import services
from ...audience.models import Subscriber
from ...send.ongoing import add_recipients
from ...track.models import Activity
from .models import Condition, Enrolment, EnrolmentStatus, StepKind, WaitUnit
from .step_campaigns import campaign_for


def next_weekday_hour(after, weekday, hour):
    """The first moment strictly after ``after`` that is ``weekday`` (0 Monday, None any day) at ``hour`` o'clock
    in the site's time zone (zoneinfo: right across daylight-saving changes)."""
    zone = timezone.get_default_timezone()
    local = after.astimezone(zone)
    for offset in range(0, 8):
        day = local.date() + datetime.timedelta(days=offset)
        if weekday is not None and day.weekday() != weekday:
            continue
        moment = datetime.datetime.combine(day, datetime.time(hour or 0), tzinfo=zone)
        if moment > after:
            return moment
    raise AssertionError("a weekday comes within a week")


def _batch(ids):
    """The enrolments ``ids``. On PostgreSQL the ids travel as one array parameter: thousands of placeholders would
    cost more to build and parse than the statement costs to run, and the planner then joins by index."""
    if connection.vendor == "postgresql":
        return Enrolment.objects.filter(pk__in=RawSQL("SELECT unnest(%s::bigint[])", (list(ids),)))
    return Enrolment.objects.filter(pk__in=ids)


def run_wait(step, ids, now):
    delta = datetime.timedelta(**{"hours" if step.wait_unit == WaitUnit.HOURS else "days": step.wait_amount})
    # From when they reached the step, not from when the tick got to them: a late tick doesn't stretch the series.
    _batch(ids).update(due_at=F("due_at") + delta, position=F("position") + 1)


def run_wait_until(step, ids, now):
    _batch(ids).update(due_at=next_weekday_hour(now, step.weekday, step.hour), position=F("position") + 1)


def run_send(step, ids, now):
    rounds = _batch(ids).order_by().values_list("round", flat=True).distinct()
    for round_number in list(rounds):
        campaign_id = campaign_for(step, round_number)
        people = _batch(ids).filter(round=round_number)
        add_recipients(campaign_id, Subscriber.objects.filter(pk__in=people.values("subscriber_id")))
        people.update(last_campaign_id=campaign_id, position=F("position") + 1)


def run_group(step, ids, now):
    if step.group is not None:
        people = list(_batch(ids).values_list("subscriber_id", flat=True))
        if step.kind == StepKind.ADD_TO_GROUP:
            services.add_to_group(people, step.group)
        else:
            services.remove_from_group(people, step.group)
    _batch(ids).update(position=F("position") + 1)


def condition_q(step):
    """The enrolments meeting the branch's condition, as a Q (EXISTS subqueries: one statement)."""
    if step.condition in (Condition.OPENED_PREVIOUS, Condition.NOT_OPENED_PREVIOUS):
        opened = Activity.objects.filter(
            campaign_id=OuterRef("last_campaign_id"),
            delivery__subscriber_id=OuterRef("subscriber_id"),
            first_open_at__isnull=False,
        )
        met = Q(Exists(opened))
        return met if step.condition == Condition.OPENED_PREVIOUS else ~met
    if step.segment is None:
        return Q(pk__in=[])
    members = Q(subscriber_id__in=Subquery(step.segment.subscribers().values("pk")))
    return members if step.condition == Condition.IN_SEGMENT else ~members


def run_branch(step, ids, now):
    batch = _batch(ids)
    met = list(batch.filter(condition_q(step)).values_list("pk", flat=True))
    _batch(met).update(position=F("position") + 1)
    others = batch.exclude(pk__in=met)
    if step.otherwise_go_to:
        others.update(position=step.otherwise_go_to - 1)
    else:
        others.update(status=EnrolmentStatus.DONE, finished_at=now)


def run_stop(step, ids, now):
    _batch(ids).update(status=EnrolmentStatus.DONE, finished_at=now, position=F("position") + 1)


RUNNERS = {
    StepKind.WAIT: run_wait,
    StepKind.WAIT_UNTIL: run_wait_until,
    StepKind.SEND: run_send,
    StepKind.ADD_TO_GROUP: run_group,
    StepKind.REMOVE_FROM_GROUP: run_group,
    StepKind.BRANCH: run_branch,
    StepKind.STOP: run_stop,
}
