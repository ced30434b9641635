"""Figures of an automation for the admin: per step, how many people wait at it, have passed it and have left while
at it, and the campaigns (reports) of its "send" steps — three queries whatever the number of people.

A wait step moves people on at once, with a due time in the future (so a tick does each step exactly once): the
figures attribute them back to the wait step while their time is not over — "waiting" there, not at the next step,
and not yet "passed" — as an editor reads them. Someone who left before the wait was over left at the wait step.
"""

from django.db.models import Count, F, Q

from . import clock
from .models import Enrolment, EnrolmentStatus, StepCampaign, StepKind

WAIT_KINDS = (StepKind.WAIT, StepKind.WAIT_UNTIL)


def step_figures(automation, now=None):
    """[{"step", "number", "waiting", "passed", "left", "campaigns": [(round, campaign)]}] in step order, and a dict
    of totals ({"active", "done", "left"}). ``now``: the automations' clock by default."""
    now = now or clock.now()
    steps = list(automation.steps.select_related("page", "group", "segment").order_by("sort_order", "pk"))
    # Per position: people in progress (of whom still in a wait's time) and who left (of whom during a wait's time).
    rows = (
        Enrolment.objects.filter(automation=automation, status__in=(EnrolmentStatus.ACTIVE, EnrolmentStatus.LEFT))
        .values_list("position", "status")
        .annotate(
            n=Count("pk"),
            in_wait=Count(
                "pk",
                filter=Q(status=EnrolmentStatus.ACTIVE, due_at__gt=now)
                | Q(status=EnrolmentStatus.LEFT, due_at__gt=F("finished_at")),
            ),
        )
        .order_by()
    )
    counts = {}
    for position, status, n, in_wait in rows:
        counts[(position, status)] = (n, in_wait)
    campaigns = {}
    for link in StepCampaign.objects.filter(step__automation=automation).select_related("campaign").order_by("round"):
        campaigns.setdefault(link.step_id, []).append((link.round, link.campaign))
    figures = [
        {
            "step": step,
            "number": position + 1,
            "waiting": 0,
            "passed": step.passed_count,
            "left": 0,
            "campaigns": campaigns.get(step.pk, []),
        }
        for position, step in enumerate(steps)
    ]
    for position in range(len(steps) + 1):
        for status, figure in ((EnrolmentStatus.ACTIVE, "waiting"), (EnrolmentStatus.LEFT, "left")):
            n, in_wait = counts.get((position, status), (0, 0))
            after_wait = position > 0 and steps[position - 1].kind in WAIT_KINDS
            if not after_wait:
                in_wait = 0
            if in_wait:
                wait_step = figures[position - 1]
                wait_step[figure] += in_wait
                wait_step["passed"] = max(0, wait_step["passed"] - in_wait)
            if position < len(steps):
                figures[position][figure] += n - in_wait
    totals = dict.fromkeys(("active", "done", "left"), 0)
    names = {EnrolmentStatus.ACTIVE: "active", EnrolmentStatus.DONE: "done", EnrolmentStatus.LEFT: "left"}
    for status, n in (
        Enrolment.objects.filter(automation=automation).values_list("status").annotate(n=Count("pk")).order_by()
    ):
        totals[names[status]] = n
    return figures, totals
