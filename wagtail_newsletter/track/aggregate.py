"""Fold tracking events into the statistics, incrementally and exactly once.

``aggregate`` takes the events after ``AggregationState.last_event_id`` that are older than TRACKING_SETTLE_SECONDS
(so that a scanner's burst of clicks is seen whole), chunk by chunk in id order. Each chunk is classified (machine
rules in ``rules``), folded into Activity / LinkActivity / CampaignStats / LinkStats / TimelineBucket and the
watermark moved past it in ONE transaction: a crash folds nothing twice and loses nothing. The state row is locked
while a chunk is folded, so runs never overlap (on PostgreSQL another caller skips instead of waiting).

A chunk costs a fixed number of queries whatever its size: the events (with their delivery's send time), the
clicks around them, the campaigns' link tables, the Activity/LinkActivity/CampaignStats rows they touch, and one
upsert per table.
"""

import time
from collections import defaultdict
from datetime import UTC, timedelta

from django.db import connection, transaction
from django.db.models import Subquery
from django.utils import timezone

from ..conf import newsletter_settings
from . import bursts, delivery_counts, rules
from .bulk_sql import fetch, upsert
from .models import (
    Activity,
    AggregationState,
    AudienceBreakdown,
    Breakdown,
    CampaignStats,
    Event,
    EventKind,
    LinkActivity,
    LinkStats,
    TimelineBucket,
)

OPEN, CLICK, UNSUBSCRIBE = EventKind.OPEN, EventKind.CLICK, EventKind.UNSUBSCRIBE
HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT = EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE, EventKind.COMPLAINT

# An Activity row while a chunk is folded: a list in this column order.
ACTIVITY_COLUMNS = (
    "delivery_id",
    "campaign_id",
    "first_open_at",
    "opens",
    "machine_opens",
    "first_click_at",
    "clicks",
    "machine_clicks",
    "unsubscribed_at",
    "bounced_at",
    "hard_bounce",
    "bounce_detail",
    "complained_at",
    "device",
    "client",
    "country",
)
(_, _, FIRST_OPEN, OPENS, MACHINE_OPENS, FIRST_CLICK, CLICKS, MACHINE_CLICKS, UNSUBSCRIBED, BOUNCED, HARD, DETAIL,
 COMPLAINED, READ_DEVICE, READ_CLIENT, READ_COUNTRY) = range(len(ACTIVITY_COLUMNS))  # fmt: skip
LINK_ACTIVITY_COLUMNS = ("delivery_id", "link", "campaign_id", "first_click_at", "clicks")
# Counters that are sums of events, and counters of recipients (derived from each Activity's before/after flags).
TOTALS = ("opens", "machine_opens", "clicks", "machine_clicks")
RECIPIENT_COUNTS = (
    "unique_opens",
    "machine_openers",
    "unique_clicks",
    "unsubscribes",
    "hard_bounces",
    "soft_bounces",
    "complaints",
)
STATS_COLUMNS = ("campaign_id", *TOTALS, *RECIPIENT_COUNTS, "updated_at")
LINK_STATS_COLUMNS = ("campaign_id", "link", "clicks", "unique_clicks", "machine_clicks")
BUCKET_COUNTS = ("opens", "clicks", "machine_opens", "machine_clicks")
EVENT_COLUMNS = (
    "id",
    "campaign_id",
    "delivery_id",
    "kind",
    "link",
    "at",
    "agent",
    "detail",
    "delivery__status",
    "delivery__sent_at",
    "device",
    "client",
    "country",
)
ID, CAMPAIGN, DELIVERY, KIND, LINK, AT, AGENT, ANSWER, STATUS, SENT_AT, DEVICE, CLIENT, COUNTRY = range(
    len(EVENT_COLUMNS)
)
# (breakdown, the event's column, the Activity's column): what a person read with, and where.
READER = (
    (Breakdown.DEVICE, DEVICE, READ_DEVICE),
    (Breakdown.CLIENT, CLIENT, READ_CLIENT),
    (Breakdown.COUNTRY, COUNTRY, READ_COUNTRY),
)
BREAKDOWN_COLUMNS = ("campaign_id", "dimension", "value", "people", "opens", "clicks")
NO_FLAGS = (0,) * len(RECIPIENT_COUNTS)
FIRST_CHUNK_IN_BUDGET = 1000  # a run with a time budget starts small, then sizes its chunks by the rate it measured
SCHEDULED_BUDGET_SECONDS = 50  # the every-minute schedule stops before the next run is due


def aggregate(max_events=None, budget_seconds=None, now=None):
    """Fold settled events into the statistics; returns how many events were folded (skipped ones included).

    ``max_events`` / ``budget_seconds`` bound the run (the current chunk is always finished); ``now`` is the clock
    (events settle TRACKING_SETTLE_SECONDS before it); the statistics are stamped with the settle cutoff, or the real
    time if that is earlier ("Figures as of" in the report). Returns 0 at once when another run holds the lock
    (PostgreSQL; on SQLite the writer lock makes it wait for that run's current chunk)."""
    started = time.monotonic()
    settings = newsletter_settings
    chunk_size = settings.AGGREGATE_CHUNK_SIZE
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.TRACKING_SETTLE_SECONDS)
    # What the figures are "as of": every event up to the cutoff is in; a clock set ahead (to settle every event at
    # once) makes them complete as of the real time, never of a time still to come.
    as_of = min(cutoff, timezone.now())
    thresholds = rules.Thresholds()
    limit = chunk_size if budget_seconds is None else min(chunk_size, FIRST_CHUNK_IN_BUDGET)
    folded, upper = 0, None
    while max_events is None or folded < max_events:
        if max_events is not None:
            limit = min(limit, max_events - folded)
        chunk_started = time.monotonic()
        with transaction.atomic():
            last_id = _lock_state(as_of)
            if last_id is None:
                break
            if upper is None:
                upper = _settled_upper(last_id, cutoff)
            if upper is None or last_id >= upper:
                break
            count = _fold_chunk(last_id, upper, limit, thresholds, as_of)
        folded += count
        if budget_seconds is not None:
            elapsed = time.monotonic() - started
            if elapsed >= budget_seconds:
                break
            rate = count / max(time.monotonic() - chunk_started, 0.001)
            limit = max(100, min(chunk_size, int(rate * (budget_seconds - elapsed))))
    return folded


def refresh(budget_seconds=None):
    """A bounded run for a report page about to be shown (AGGREGATE_BUDGET_SECONDS unless given)."""
    budget = newsletter_settings.AGGREGATE_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    return aggregate(budget_seconds=budget)


def scheduled_aggregate():
    """The django-q2 schedule's task (every minute): a run that ends before the next one is due, then the listings'
    copies of the delivery counts."""
    folded = aggregate(budget_seconds=SCHEDULED_BUDGET_SECONDS)
    delivery_counts.refresh()
    return folded


def _lock_state(now):
    """Lock the state row (created if missing) and return ``last_event_id``; None when another run holds it."""
    states = AggregationState.objects.filter(pk=1)
    if connection.features.has_select_for_update_skip_locked:
        for _attempt in range(2):
            last_id = states.select_for_update(skip_locked=True).values_list("last_event_id", flat=True).first()
            if last_id is not None or states.exists():  # exists but locked by another run: skip
                break
            AggregationState.objects.bulk_create([AggregationState(pk=1)], ignore_conflicts=True)
        if last_id is not None:
            states.update(updated_at=now)
        return last_id
    # SQLite: writing first takes the database's write lock at once (a reader upgrading later could deadlock).
    if not states.update(updated_at=now):
        AggregationState.objects.create(pk=1, updated_at=now)
    return states.values_list("last_event_id", flat=True).get()


def _settled_upper(last_id, cutoff):
    """The highest id among events settled by ``cutoff`` (None if there is none after ``last_id``).

    Walks the primary key backwards from the newest event: only the unsettled last seconds are read."""
    return Event.objects.filter(id__gt=last_id, at__lte=cutoff).order_by("-id").values_list("id", flat=True).first()


def _fold_chunk(last_id, upper, limit, thresholds, now):
    rows = fetch(Event.objects.filter(id__gt=last_id, id__lte=upper).order_by("id").values_list(*EVENT_COLUMNS)[:limit])
    new_last = rows[-1][0] if len(rows) == limit else upper
    chunk = Event.objects.filter(id__gt=last_id, id__lte=new_last)  # the same rows, for subqueries
    # Events of deliveries that no longer exist (or never had one) are passed over, as are clicks without a link.
    events = [row for row in rows if row[STATUS] is not None and (row[KIND] != CLICK or row[LINK] is not None)]
    if events:
        _fold_events(events, chunk, thresholds, now)
    AggregationState.objects.filter(pk=1).update(last_event_id=new_last, updated_at=now)
    return len(rows)


def _fold_events(events, chunk, thresholds, now):
    """Classify ``events`` (known deliveries, id order) and write what they change."""
    burst = _burst_clicks(events, chunk, thresholds)
    activities = {
        row[0]: list(row)
        for row in fetch(
            Activity.objects.filter(delivery_id__in=Subquery(chunk.values("delivery_id"))).values_list(
                *ACTIVITY_COLUMNS
            )
        )
    }
    before = {delivery_id: _flags(activity) for delivery_id, activity in activities.items()}
    inferred_before = {delivery_id: _inferred_open(activity) for delivery_id, activity in activities.items()}
    clicked = chunk.filter(kind=CLICK).values("delivery_id")
    link_activities = {
        (row[0], row[1]): list(row)
        for row in fetch(
            LinkActivity.objects.filter(delivery_id__in=Subquery(clicked)).values_list(*LINK_ACTIVITY_COLUMNS)
        )
    }
    touched, touched_links = set(), set()
    totals = defaultdict(lambda: [0] * len(TOTALS))
    link_counts = defaultdict(lambda: [0, 0, 0])  # (campaign, link): clicks, unique_clicks, machine_clicks
    buckets = defaultdict(lambda: [0] * len(BUCKET_COUNTS))  # (campaign, hour)
    readers = defaultdict(lambda: [0, 0, 0])  # (campaign, breakdown, value): people, opens, clicks
    for event in events:
        campaign_id, delivery_id, kind, at = event[CAMPAIGN], event[DELIVERY], event[KIND], event[AT]
        activity = activities.get(delivery_id)
        if activity is None:
            activity = activities[delivery_id] = _new_activity(delivery_id, campaign_id)
        touched.add(delivery_id)
        if kind == OPEN:
            bucket = buckets[campaign_id, _hour(at)]
            if rules.is_machine_open(event[AGENT], at, event[SENT_AT], thresholds):
                activity[MACHINE_OPENS] += 1
                totals[campaign_id][1] += 1
                bucket[2] += 1
            else:
                activity[OPENS] += 1
                activity[FIRST_OPEN] = _earliest(activity[FIRST_OPEN], at)
                _note_reader(activity, event, readers, 1)
                totals[campaign_id][0] += 1
                bucket[0] += 1
        elif kind == CLICK:
            bucket = buckets[campaign_id, _hour(at)]
            link = event[LINK]
            counts = link_counts[campaign_id, link]
            if rules.is_machine_click(event[AGENT], at, event[SENT_AT], event[ID] in burst, thresholds):
                activity[MACHINE_CLICKS] += 1
                totals[campaign_id][3] += 1
                bucket[3] += 1
                counts[2] += 1
                continue
            activity[CLICKS] += 1
            activity[FIRST_CLICK] = _earliest(activity[FIRST_CLICK], at)
            _note_reader(activity, event, readers, 2)
            activity[FIRST_OPEN] = _earliest(activity[FIRST_OPEN], at)  # a click means the message was opened
            totals[campaign_id][2] += 1
            bucket[1] += 1
            counts[0] += 1
            link_activity = link_activities.get((delivery_id, link))
            if link_activity is None:
                link_activities[delivery_id, link] = [delivery_id, link, campaign_id, at, 1]
                counts[1] += 1
            else:
                link_activity[3] = min(link_activity[3], at)
                link_activity[4] += 1
            touched_links.add((delivery_id, link))
        elif kind == UNSUBSCRIBE:
            activity[UNSUBSCRIBED] = _earliest(activity[UNSUBSCRIBED], at)
        elif kind in (HARD_BOUNCE, SOFT_BOUNCE):
            # A delivery counts once: as a hard bounce if it ever bounced hard (with that answer), else as soft.
            if kind == HARD_BOUNCE:
                if not activity[HARD]:
                    activity[HARD], activity[DETAIL] = True, event[ANSWER]
            elif activity[BOUNCED] is None:
                activity[DETAIL] = event[ANSWER]
            activity[BOUNCED] = _earliest(activity[BOUNCED], at)
        elif kind == COMPLAINT:
            activity[COMPLAINED] = _earliest(activity[COMPLAINED], at)
    recipients = defaultdict(lambda: [0] * len(RECIPIENT_COUNTS))
    for delivery_id in touched:
        activity = activities[delivery_id]
        after, prior = _flags(activity), before.get(delivery_id, NO_FLAGS)
        totals[activity[1]][0] += _inferred_open(activity) - inferred_before.get(delivery_id, 0)
        if after != prior:
            counts = recipients[activity[1]]
            for position, (new, old) in enumerate(zip(after, prior, strict=True)):
                counts[position] += new - old
    upsert(Activity, ACTIVITY_COLUMNS, ("delivery_id",), [activities[key] for key in touched])
    upsert(LinkActivity, LINK_ACTIVITY_COLUMNS, ("delivery_id", "link"), [link_activities[k] for k in touched_links])
    _write_campaign_stats(totals, recipients, now)
    link_rows = [(campaign_id, link, *counts) for (campaign_id, link), counts in link_counts.items()]
    upsert(LinkStats, LINK_STATS_COLUMNS, ("campaign_id", "link"), link_rows, add=True)
    bucket_rows = [(campaign_id, hour, *counts) for (campaign_id, hour), counts in buckets.items()]
    upsert(TimelineBucket, ("campaign_id", "hour", *BUCKET_COUNTS), ("campaign_id", "hour"), bucket_rows, add=True)
    reader_rows = [
        (campaign_id, breakdown, value, *counts) for (campaign_id, breakdown, value), counts in readers.items()
    ]
    upsert(AudienceBreakdown, BREAKDOWN_COLUMNS, ("campaign_id", "dimension", "value"), reader_rows, add=True)


def _new_activity(delivery_id, campaign_id):
    return [delivery_id, campaign_id, None, 0, 0, None, 0, 0, None, None, False, "", None, 0, "", ""]


def _note_reader(activity, event, readers, counter):
    """Count a person's open (``counter`` 1) or click (2) under its device, client and country; the first hit of
    theirs that names one gives the recipient's own (counted once in ``people``). Unknown values count hits under ""
    and no one: the report's unknown people are the openers not counted under any value."""
    campaign_id = event[CAMPAIGN]
    for breakdown, column, own in READER:
        value = event[column]
        counts = readers[campaign_id, breakdown, str(value) if value else ""]
        counts[counter] += 1
        if value and not activity[own]:
            activity[own] = value
            counts[0] += 1


def _flags(activity):
    """Which recipient counters this Activity adds 1 to, in RECIPIENT_COUNTS order."""
    opened = activity[FIRST_OPEN] is not None
    bounced = activity[BOUNCED] is not None
    return (
        int(opened),
        int(not opened and activity[MACHINE_OPENS] > 0),  # only machines opened it, so far
        int(activity[FIRST_CLICK] is not None),
        int(activity[UNSUBSCRIBED] is not None),
        int(bounced and activity[HARD]),
        int(bounced and not activity[HARD]),
        int(activity[COMPLAINED] is not None),
    )


def _inferred_open(activity):
    """1 while a person clicked but no open of theirs was recorded: that open counts once in the campaign's opens
    (so that opens are never fewer than openers), until a recorded open takes its place."""
    return int(activity[FIRST_OPEN] is not None and activity[OPENS] == 0)


def _earliest(current, at):
    return at if current is None or at < current else current


def _hour(at):
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _write_campaign_stats(totals, recipients, now):
    campaign_ids = set(totals) | set(recipients)
    if not campaign_ids:
        return
    existing = {
        row[0]: row[1:]
        for row in CampaignStats.objects.filter(campaign_id__in=campaign_ids).values_list(*STATS_COLUMNS[:-1])
    }
    zeros = (0,) * (len(STATS_COLUMNS) - 2)
    rows = []
    for campaign_id in campaign_ids:
        deltas = totals.get(campaign_id, [0] * len(TOTALS)) + recipients.get(campaign_id, list(NO_FLAGS))
        values = [old + delta for old, delta in zip(existing.get(campaign_id, zeros), deltas, strict=True)]
        rows.append((campaign_id, *values, now))
    upsert(CampaignStats, STATS_COLUMNS, ("campaign_id",), rows)


def _burst_clicks(events, chunk, thresholds):
    """Ids of the chunk's clicks that belong to a scanner burst, judged with every click of the same deliveries
    around them (including clicks outside the chunk), in one query."""
    judged = {}  # delivery: campaign, for clicks that no simpler rule already calls machine
    earliest = latest = None
    for event in events:
        if (
            event[KIND] == CLICK
            and event[AGENT] not in rules.MACHINE_AGENTS
            and not rules.too_soon(event[AT], event[SENT_AT], thresholds.click_delay)
        ):
            judged[event[DELIVERY]] = event[CAMPAIGN]
            earliest = _earliest(earliest, event[AT])
            latest = event[AT] if latest is None or event[AT] > latest else latest
    if not judged:
        return set()
    return bursts.scanner_clicks(judged, earliest, latest, chunk.filter(kind=CLICK).values("delivery_id"), thresholds)
