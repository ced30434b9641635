"""Figures of an automation for the admin: per step, how many people wait at it, have passed it and have left while
at it, and the campaigns (reports) of its "send" steps — three queries whatever the number of people."""

from django.db.models import Count

from .models import Enrolment, EnrolmentStatus, StepCampaign


def step_figures(automation):
    """[{"step", "number", "waiting", "passed", "left", "campaigns": [(round, campaign)]}] in step order, and a dict
    of totals ({"active", "done", "left"})."""
    steps = list(automation.steps.select_related("page", "group", "segment").order_by("sort_order", "pk"))
    counts = {}
    rows = (
        Enrolment.objects.filter(automation=automation, status__in=(EnrolmentStatus.ACTIVE, EnrolmentStatus.LEFT))
        .values_list("position", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for position, status, n in rows:
        counts[(position, status)] = n
    campaigns = {}
    for link in StepCampaign.objects.filter(step__automation=automation).select_related("campaign").order_by("round"):
        campaigns.setdefault(link.step_id, []).append((link.round, link.campaign))
    figures = [
        {
            "step": step,
            "number": position + 1,
            "waiting": counts.get((position, EnrolmentStatus.ACTIVE), 0),
            "passed": step.passed_count,
            "left": counts.get((position, EnrolmentStatus.LEFT), 0),
            "campaigns": campaigns.get(step.pk, []),
        }
        for position, step in enumerate(steps)
    ]
    totals = dict.fromkeys(("active", "done", "left"), 0)
    names = {EnrolmentStatus.ACTIVE: "active", EnrolmentStatus.DONE: "done", EnrolmentStatus.LEFT: "left"}
    for status, n in (
        Enrolment.objects.filter(automation=automation).values_list("status").annotate(n=Count("pk")).order_by()
    ):
        totals[names[status]] = n
    return figures, totals
