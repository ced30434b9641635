"""What subscribers did on their preference pages, counted for the reports: a few aggregate queries, whatever the
number of changes.

"Paused instead of unsubscribing" counts the people who paused and did not unsubscribe afterwards (within the same
selection of changes); unsubscribe reasons are counted per reason, "no reason given" included.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef
from django.utils.translation import gettext, ngettext

from ..audience.preference_log import PreferenceChange, PreferenceChangeKind, UnsubscribeReason


@dataclass
class PreferenceSummary:
    changes: dict = field(default_factory=dict)  # kind -> number of changes
    paused_people: int = 0  # people who paused and have not unsubscribed since
    unsubscribed: int = 0
    reasons: list = field(default_factory=list)  # (reason label, count), most given first
    reason_texts: list = field(default_factory=list)  # the latest words people wrote, newest first

    @property
    def total(self):
        return sum(self.changes.values())


def preference_changes(campaign_id=None, since=None, until=None):
    """The PreferenceChange rows of a campaign's mails (``campaign_id``) and/or a period."""
    changes = PreferenceChange.objects.all()
    if campaign_id is not None:
        changes = changes.filter(campaign_id=campaign_id)
    if since is not None:
        changes = changes.filter(created_at__gte=since)
    if until is not None:
        changes = changes.filter(created_at__lt=until)
    return changes


def summarise(changes, texts=5):
    """A PreferenceSummary of the ``changes`` queryset (four queries)."""
    changes = changes.order_by()
    counts = dict(changes.values_list("kind").annotate(count=Count("id")).values_list("kind", "count"))
    left_later = changes.filter(
        kind=PreferenceChangeKind.UNSUBSCRIBE,
        subscriber_id=OuterRef("subscriber_id"),
        created_at__gte=OuterRef("created_at"),
    )
    paused = (
        changes.filter(kind=PreferenceChangeKind.PAUSE, subscriber_id__isnull=False)
        .exclude(Exists(left_later))
        .values("subscriber_id")
        .distinct()
        .count()
    )
    labels = dict(UnsubscribeReason.choices)
    reasons = [
        (labels.get(reason) or gettext("No reason given"), count)
        for reason, count in changes.filter(kind=PreferenceChangeKind.UNSUBSCRIBE)
        .values_list("reason")
        .annotate(count=Count("id"))
        .order_by("-count", "reason")
        .values_list("reason", "count")
    ]
    words = list(
        changes.filter(kind=PreferenceChangeKind.UNSUBSCRIBE)
        .exclude(reason_text="")
        .order_by("-created_at", "-id")
        .values_list("reason_text", flat=True)[:texts]
    )
    return PreferenceSummary(
        changes=counts,
        paused_people=paused,
        unsubscribed=counts.get(PreferenceChangeKind.UNSUBSCRIBE, 0),
        reasons=reasons,
        reason_texts=words,
    )


def describe(change):
    """What changed, in words: "+ Events, − Sport", "en → fr", "City: Lyon → Paris", "3 months", the reason."""
    data = change.data or {}
    if change.kind == PreferenceChangeKind.TOPICS:
        return ", ".join(
            [*(f"+ {name}" for name in data.get("added", [])), *(f"− {name}" for name in data.get("removed", []))]
        )
    if change.kind == PreferenceChangeKind.LANGUAGE:
        return f"{data.get('from') or '–'} → {data.get('to') or '–'}"
    if change.kind == PreferenceChangeKind.FIELDS:
        return "; ".join(
            f"{key}: {old if old is not None else '–'} → {new if new is not None else '–'}"
            for key, (old, new) in data.get("fields", {}).items()
        )
    if change.kind == PreferenceChangeKind.PAUSE:
        months = data.get("months", 0)
        return ngettext("%(count)d month", "%(count)d months", months) % {"count": months}
    if change.kind == PreferenceChangeKind.RESUME and data.get("by"):  # ended by an editor (audience.pause_clearing)
        return gettext("ended by %(user)s") % {"user": data["by"]}
    if change.kind == PreferenceChangeKind.UNSUBSCRIBE:
        reason = change.get_reason_display() if change.reason else ""
        return " — ".join(part for part in (str(reason), change.reason_text) if part)
    return ""
