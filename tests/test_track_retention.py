"""Tracking events past EVENT_RETENTION_DAYS: only folded ones are deleted, and the statistics stay as they were."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.models import AggregationState, CampaignStats, Event
from wagtail_newsletter.track.retention import prune_events

from .track_fixtures import CLICK, OPEN, T0, add_events, event, make_campaign, make_deliveries

pytestmark = pytest.mark.django_db

NOW = T0 + timedelta(days=100)


@pytest.fixture
def folded_campaign():
    """Opens and clicks 10 and 80 days after T0, all folded; then one old open not folded yet."""
    campaign = make_campaign()
    deliveries = make_deliveries(campaign, 4)
    add_events(*[event(d, kind, T0 + timedelta(days=day), link=0 if kind == CLICK else None)
                 for d in deliveries for day in (10, 80) for kind in (OPEN, CLICK)])  # fmt: skip
    aggregate(now=NOW)
    add_events(event(deliveries[0], OPEN, T0 + timedelta(days=11)))  # not folded: its id is past the watermark
    return campaign


def counters(campaign):
    return CampaignStats.objects.filter(campaign=campaign).values("opens", "unique_opens", "clicks").get()


def test_without_a_retention_period_nothing_is_deleted(folded_campaign, settings):
    settings.WAGTAIL_NEWSLETTER = {"EVENT_RETENTION_DAYS": None}
    assert prune_events(now=NOW) == 0 and Event.objects.count() == 17


def test_old_folded_events_go_and_the_statistics_stay(folded_campaign, settings):
    settings.WAGTAIL_NEWSLETTER = {"EVENT_RETENTION_DAYS": 30}
    before = counters(folded_campaign)
    assert prune_events(now=NOW) == 8  # the day-10 opens and clicks; the unfolded one waits for aggregation
    days_left = sorted({(at - T0).days for at in Event.objects.values_list("at", flat=True)})
    assert days_left == [11, 80] and Event.objects.count() == 9
    assert counters(folded_campaign) == before
    assert prune_events(now=NOW) == 0
    aggregate(now=NOW)  # folded now: the next run deletes it, and the open it was still counts
    assert prune_events(now=NOW) == 1 and counters(folded_campaign)["opens"] == before["opens"] + 1


def test_pruning_deletes_in_batches_without_loading_rows(folded_campaign, settings):
    settings.WAGTAIL_NEWSLETTER = {"EVENT_RETENTION_DAYS": 30}
    with CaptureQueriesContext(connection) as queries:
        prune_events(now=NOW)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].upper().startswith("DELETE")]
    assert len(deletes) == 1 and len(queries.captured_queries) <= 5
    assert AggregationState.objects.get(pk=1).last_event_id > 0


def test_pruning_is_scheduled_daily_after_migrate():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="wagtail_newsletter.track.retention.prune_events")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1440, -1)
