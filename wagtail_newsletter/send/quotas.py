"""The hourly quota (``HOURLY_QUOTA`` messages per clock hour), shared by every worker on every host.

Each clock hour has one ``QuotaWindow`` row. A worker reserves what it is about to send before it sends it and gives
back what it did not send; the row is locked while it is read and written, so concurrent workers (threads,
processes, hosts) never grant more than the quota in total::

    now = timezone.now()
    granted, retry_at = quotas.reserve(len(batch), now)
    ...  # send ``granted`` messages; hold the rest until ``retry_at``
    quotas.release(not_sent, quotas.window_start(now))

Test sends never go through here.
"""

import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from ..conf import newsletter_settings
from .models import QuotaWindow

HOUR = datetime.timedelta(hours=1)


def window_start(now=None):
    """The start of the clock hour (UTC) that ``now`` falls in."""
    now = now or timezone.now()
    return now.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def _lock(starts_at):
    # An UPDATE takes the row's write lock on PostgreSQL and the database's on SQLite (even where transactions
    # don't begin IMMEDIATE), so the read that follows sees the latest committed value and no one else's
    # grant can slip in before ours is written. Returns the number of rows locked (0: no window yet).
    return QuotaWindow.objects.filter(starts_at=starts_at).update(used=F("used"))


def reserve(count, now=None):
    """Reserve up to ``count`` messages of this hour's quota.

    Returns ``(granted, retry_at)``: ``granted`` messages may be sent now; when fewer than ``count`` were granted
    the quota is used up and ``retry_at`` is the start of the next hour (otherwise None). Unlimited quota:
    ``(count, None)`` without touching the database.
    """
    limit = newsletter_settings.HOURLY_QUOTA
    if limit is None or count <= 0:
        return max(count, 0), None
    starts_at = window_start(now)
    with transaction.atomic():
        if not _lock(starts_at):
            # First reservation of the hour: create the row; a concurrent creator's row wins, harmlessly.
            QuotaWindow.objects.bulk_create([QuotaWindow(starts_at=starts_at)], ignore_conflicts=True)
            _lock(starts_at)
        used = QuotaWindow.objects.filter(starts_at=starts_at).values_list("used", flat=True).get()
        granted = max(0, min(count, limit - used))
        if granted:
            QuotaWindow.objects.filter(starts_at=starts_at).update(used=F("used") + granted)
    return granted, (None if granted == count else starts_at + HOUR)


def release(count, starts_at):
    """Give back ``count`` reserved but unsent messages (skipped, failed, retried later) of the window that
    starts at ``starts_at``; never below zero. A window of an hour that has passed may be released too."""
    if count <= 0 or starts_at is None or newsletter_settings.HOURLY_QUOTA is None:
        return
    QuotaWindow.objects.filter(starts_at=starts_at).update(used=Greatest(F("used") - count, 0))


def used_this_hour(now=None):
    """Messages sent or reserved in the current clock hour (for display)."""
    used = QuotaWindow.objects.filter(starts_at=window_start(now)).values_list("used", flat=True).first()
    return used or 0


def status(now=None):
    """This hour's quota for display: ``None`` when unlimited, else a dict of limit, used, remaining, resets_at."""
    limit = newsletter_settings.HOURLY_QUOTA
    if limit is None:
        return None
    used = used_this_hour(now)
    return {
        "limit": limit,
        "used": used,
        "remaining": max(0, limit - used),
        "resets_at": window_start(now) + HOUR,
    }


def prune(older_than_days=7, now=None):
    """Delete windows older than ``older_than_days`` days; returns how many were deleted."""
    cutoff = window_start(now) - datetime.timedelta(days=older_than_days)
    deleted, _by_model = QuotaWindow.objects.filter(starts_at__lt=cutoff).delete()
    return deleted
