"""What a campaign's conversions show in its report: per goal, per link, and the people who converted — each one
query (grouped in the database), whatever the number of conversions."""

from dataclasses import dataclass, field

from django.db.models import CharField, Count, F, Q, Value
from django.db.models.functions import Concat, Trim

from .goals import Conversion


@dataclass
class ConversionSummary:
    total: int = 0
    goals: list = field(default_factory=list)  # [(goal id, name, count)], most first
    links: dict = field(default_factory=dict)  # {link index: count}
    by_goal_and_link: dict = field(default_factory=dict)  # {(goal id, link index): count}


def campaign_conversions(campaign):
    """``ConversionSummary`` of ``campaign`` (one query)."""
    summary = ConversionSummary()
    names, per_goal = {}, {}
    rows = (
        Conversion.objects.filter(campaign=campaign)
        .values("goal_id", "goal__name", "link")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        goal, link, count = row["goal_id"], row["link"], row["count"]
        names[goal] = row["goal__name"]
        per_goal[goal] = per_goal.get(goal, 0) + count
        summary.links[link] = summary.links.get(link, 0) + count
        summary.by_goal_and_link[goal, link] = count
        summary.total += count
    summary.goals = sorted(((goal, names[goal], count) for goal, count in per_goal.items()), key=lambda g: -g[2])
    return summary


def converted_people(campaign):
    """One row per conversion of ``campaign`` with the person (erased subscribers left out), goal, link and time."""
    person = "delivery__subscriber"
    known = Q(**{f"{person}__isnull": False, f"{person}__erase_after__isnull": True})
    return (
        Conversion.objects.filter(known, campaign=campaign)
        .values(
            "at",
            "link",
            goal_name=F("goal__name"),
            email=F(f"{person}__email"),
            name=Trim(Concat(f"{person}__first_name", Value(" "), f"{person}__last_name", output_field=CharField())),
        )
        .order_by("at", "pk")
    )
