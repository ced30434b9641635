"""The tick (a django-q2 schedule, every minute, and a task asked for when people enter): moves every due enrolment
of the active automations through its steps, batch by batch.

Exactly once per step and person: a batch is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite
has one writer), and the step's work — the deliveries of a "send" step, group changes — is written in the same
transaction as the move to the next step. A tick killed at any instant rolls its batch back whole: the next tick does
it again, and nothing was done twice. Mails are deliveries of the step's campaign, sent by the campaign engine
(exactly once too).
"""

import logging

from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils.translation import gettext as _

from ...audience.models import Status, Subscriber
from ...conf import newsletter_settings
from ...send.campaigns import CampaignError
from ...send.credits import CreditsError
from . import clock, triggers
from .models import Automation, AutomationStep, Enrolment, EnrolmentStatus
from .steps import RUNNERS

logger = logging.getLogger(__name__)


def leavers_q(now):
    """Enrolments whose person may not be mailed any more: unsubscribed, bounced, complained, deleted or paused."""
    gone = Subscriber.all_objects.filter(pk=OuterRef("subscriber_id")).filter(
        ~Q(status=Status.SUBSCRIBED) | Q(deleted_at__isnull=False) | Q(paused_until__gt=now)
    )
    return Q(Exists(gone))


def _left_reason(now):
    """Why they left, from the subscriber's row: their status, "paused" or "deleted"."""
    person = Subscriber.all_objects.filter(pk=OuterRef("subscriber_id"))
    return Subquery(
        person.annotate(
            reason=Case(
                When(deleted_at__isnull=False, then=Value("deleted")),
                When(status=Status.SUBSCRIBED, then=Value("paused")),
                default=F("status"),
            )
        ).values("reason")[:1]
    )


def sweep_leavers(now=None, automation_ids=None):
    """Everyone in progress whose person may no longer be mailed leaves (one UPDATE); returns how many."""
    now = now or clock.now()
    active = Enrolment.objects.filter(status=EnrolmentStatus.ACTIVE)
    if automation_ids is not None:
        active = active.filter(automation_id__in=automation_ids)
    return active.filter(leavers_q(now)).update(
        status=EnrolmentStatus.LEFT, finished_at=now, left_reason=_left_reason(now)
    )


def _claim(automation_id, position, now, limit):
    due = (
        Enrolment.objects.filter(
            automation_id=automation_id, status=EnrolmentStatus.ACTIVE, position=position, due_at__lte=now
        )
        .exclude(leavers_q(now))
        .order_by("due_at", "id")
    )
    return list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])


def run_step(step, position, now, limit):
    """Run ``step`` for up to ``limit`` due enrolments at ``position``; returns how many it took."""
    with transaction.atomic():
        ids = _claim(step.automation_id, position, now, limit)
        if not ids:
            return 0
        # Leavers were let go at the start of the tick; one who leaves this very second is caught by the send
        # (add_recipients and the worker mail subscribed people only) and by the next tick's sweep.
        RUNNERS[step.kind](step, ids, now)
        AutomationStep.objects.filter(pk=step.pk).update(passed_count=F("passed_count") + len(ids))
    return len(ids)


def finish_past_the_end(automation_id, step_count, now):
    """People past the last step have finished."""
    return Enrolment.objects.filter(
        automation_id=automation_id, status=EnrolmentStatus.ACTIVE, position__gte=step_count
    ).update(status=EnrolmentStatus.DONE, finished_at=now)


def advance(automation, now, limit=None):
    """Run every due step of ``automation`` until nothing is due (a person may pass several steps in one tick:
    a send then a wait); returns the number of enrolments moved."""
    limit = limit or newsletter_settings.AUTOMATION_BATCH_SIZE
    steps = list(automation.steps.select_related("page", "group", "segment").order_by("sort_order", "pk"))
    moved = 0
    for _round in range(4 * len(steps) + 1):  # bounded: a branch back to an earlier step can't spin
        progressed = 0
        for position, step in enumerate(steps):
            while True:
                taken = run_step(step, position, now, limit)
                progressed += taken
                if taken < limit:
                    break
        moved += progressed
        finish_past_the_end(automation.pk, len(steps), now)
        if not progressed:
            break
    return moved


def tick(now=None, automation_ids=None, limit=None):
    """Poll the triggers that have no signal (anniversaries, segments, clicks), let leavers go, and move everyone
    due on. ``now``: the injectable clock (tests travel in time). Returns a dict of figures."""
    now = now or clock.now()
    automations = Automation.objects.filter(active=True).select_related("segment", "date_field")
    if automation_ids is not None:
        automations = automations.filter(pk__in=automation_ids)
    figures = {"entered": 0, "left": 0, "moved": 0}
    for automation in automations:
        try:
            figures["entered"] += triggers.poll(automation, now)
        except Exception:  # noqa: BLE001 (one automation's trigger must not stop the others' steps)
            logger.exception("Automation %s: polling its trigger failed", automation.pk)
    figures["left"] = sweep_leavers(now, [automation.pk for automation in automations])
    for automation in automations:
        try:
            figures["moved"] += advance(automation, now, limit)
        except (CampaignError, CreditsError) as error:
            note = _("Steps are waiting: %(reason)s") % {"reason": error}
            Automation.objects.filter(pk=automation.pk).update(status_note=note)
            logger.warning("Automation %s: %s", automation.pk, error)
            continue
        if automation.status_note:
            Automation.objects.filter(pk=automation.pk).update(status_note="")
    return figures


def tick_task(automation_id=None):
    """django-q2 task/schedule: one tick (of one automation when people just entered it)."""
    return tick(automation_ids=None if automation_id is None else [automation_id])
