"""Raw tracking events kept for ``EVENT_RETENTION_DAYS`` (None: as long as their campaign), then deleted by a daily
schedule. Only events already folded into the statistics go: a campaign's figures, timeline, link table and each
recipient's activity (first open and click, counts) stay as they were; subscriber histories lose the single hits.
"""

import time
from datetime import timedelta

from django.utils import timezone

from ..conf import newsletter_settings
from .models import AggregationState, Event

BATCH = 10000


def prune_events(now=None, budget_seconds=50):
    """Delete folded events older than the retention period, in batches, for up to ``budget_seconds``; return how
    many went (the next run goes on where this one stopped)."""
    days = newsletter_settings.EVENT_RETENTION_DAYS
    if days is None:
        return 0
    folded_up_to = AggregationState.objects.filter(pk=1).values_list("last_event_id", flat=True).first() or 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Event.objects.filter(id__lte=folded_up_to, at__lt=cutoff).order_by("id")
    deleted, deadline = 0, time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        ids = list(old.values_list("id", flat=True)[:BATCH])
        if not ids:
            break
        Event.objects.filter(id__in=ids).delete()  # nothing points at events: one DELETE, no rows loaded
        deleted += len(ids)
    return deleted
