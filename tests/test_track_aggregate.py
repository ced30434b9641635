"""Aggregation: the statistics equal a plain recount of the events, whatever the chunks and interruptions."""

import datetime
import random
import threading
import time
from collections import defaultdict

import pytest
from django.db import connection, transaction
from django.utils.module_loading import import_string

from wagtail_newsletter.schedules import ensure_schedules
from wagtail_newsletter.send.models import Delivery
from wagtail_newsletter.track import rules
from wagtail_newsletter.track.aggregate import FIRST_CHUNK_IN_BUDGET, aggregate, refresh
from wagtail_newsletter.track.models import (
    Activity,
    Agent,
    AggregationState,
    AudienceBreakdown,
    CampaignStats,
    Event,
    LinkActivity,
    LinkStats,
    TimelineBucket,
)

from .threads import run_threads
from .track_fixtures import (
    CLICK,
    COMPLAINT,
    HARD_BOUNCE,
    OPEN,
    SOFT_BOUNCE,
    T0,
    UNSUBSCRIBE,
    add_events,
    event,
    long_ago,
    make_campaign,
    make_deliveries,
    seconds,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_chunks(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "AGGREGATE_CHUNK_SIZE": 97}


def aggregate_all(step=None):
    """Aggregate until nothing is left, ``step`` events per call (interruptions between calls)."""
    total = 0
    while folded := aggregate(max_events=step, now=long_ago()):
        assert step is None or folded <= step
        total += folded
    return total


# --- the reference: a plain recount of the events with the same rules -----------------------------------------------


def in_burst(click, clicks, size, window):
    """Brute force: some window of ``window`` seconds holding ``click`` holds clicks on ``size`` different links."""
    for start in clicks:
        if start["at"] <= click["at"] <= start["at"] + window:
            links = {other["link"] for other in clicks if start["at"] <= other["at"] <= start["at"] + window}
            if len(links) >= size:
                return True
    return False


def recount(readers=None):
    """``readers``: a dict to fill with the device/client/country breakdowns, {(campaign, dimension, value): counts}."""
    thresholds = rules.Thresholds()
    sent_at = dict(Delivery.objects.values_list("id", "sent_at"))
    events = [e for e in Event.objects.order_by("id").values() if e["delivery_id"] in sent_at]
    web_links = {}
    for e in events:
        if e["campaign_id"] not in web_links:
            from wagtail_newsletter.send.models import Campaign

            links = Campaign.objects.get(pk=e["campaign_id"]).compiled["links"]
            web_links[e["campaign_id"]] = sum(1 for link in links if link[2].startswith("http"))
    clicks_of = defaultdict(list)
    for e in events:
        if e["kind"] == CLICK:
            clicks_of[e["delivery_id"]].append(e)
    activity = {}
    link_activity = {}
    stats = defaultdict(lambda: defaultdict(int))
    link_stats = defaultdict(lambda: defaultdict(int))
    buckets = defaultdict(lambda: defaultdict(int))
    readers = defaultdict(lambda: defaultdict(int)) if readers is None else readers
    for e in events:
        d, c, at = e["delivery_id"], e["campaign_id"], e["at"]
        a = activity.setdefault(
            d,
            {"campaign_id": c, "first_open_at": None, "opens": 0, "machine_opens": 0, "first_click_at": None,
             "clicks": 0, "machine_clicks": 0, "unsubscribed_at": None, "bounced_at": None, "hard_bounce": False,
             "bounce_detail": "", "complained_at": None, "device": 0, "client": "", "country": ""},
        )  # fmt: skip
        hour = at.replace(minute=0, second=0, microsecond=0)
        if e["kind"] == OPEN:
            machine = e["agent"] in rules.MACHINE_AGENTS or (
                sent_at[d] is not None and at - sent_at[d] < thresholds.open_delay
            )
            if machine:
                a["machine_opens"] += 1
                stats[c]["machine_opens"] += 1
                buckets[c, hour]["machine_opens"] += 1
            else:
                a["opens"] += 1
                a["first_open_at"] = min(a["first_open_at"] or at, at)
                count_reader(readers, a, e, "opens")
                stats[c]["opens"] += 1
                buckets[c, hour]["opens"] += 1
        elif e["kind"] == CLICK:
            size = max(2, min(thresholds.burst_links, web_links[c]))
            machine = (
                e["agent"] in rules.MACHINE_AGENTS
                or (sent_at[d] is not None and at - sent_at[d] < thresholds.click_delay)
                or in_burst(e, clicks_of[d], size, thresholds.burst_window)
            )
            if machine:
                a["machine_clicks"] += 1
                stats[c]["machine_clicks"] += 1
                link_stats[c, e["link"]]["machine_clicks"] += 1
                buckets[c, hour]["machine_clicks"] += 1
            else:
                a["clicks"] += 1
                a["first_click_at"] = min(a["first_click_at"] or at, at)
                a["first_open_at"] = min(a["first_open_at"] or at, at)
                count_reader(readers, a, e, "clicks")
                stats[c]["clicks"] += 1
                link_stats[c, e["link"]]["clicks"] += 1
                buckets[c, hour]["clicks"] += 1
                la = link_activity.setdefault((d, e["link"]), {"first_click_at": at, "clicks": 0})
                la["first_click_at"] = min(la["first_click_at"], at)
                la["clicks"] += 1
        elif e["kind"] == UNSUBSCRIBE:
            a["unsubscribed_at"] = min(a["unsubscribed_at"] or at, at)
        elif e["kind"] in (HARD_BOUNCE, SOFT_BOUNCE):
            if e["kind"] == HARD_BOUNCE and not a["hard_bounce"]:
                a["hard_bounce"], a["bounce_detail"] = True, e["detail"]
            elif e["kind"] == SOFT_BOUNCE and a["bounced_at"] is None:
                a["bounce_detail"] = e["detail"]
            a["bounced_at"] = min(a["bounced_at"] or at, at)
        elif e["kind"] == COMPLAINT:
            a["complained_at"] = min(a["complained_at"] or at, at)
    for d, link in link_activity:
        link_stats[activity[d]["campaign_id"], link]["unique_clicks"] += 1
    for a in activity.values():
        s = stats[a["campaign_id"]]
        s["unique_opens"] += a["first_open_at"] is not None
        s["opens"] += a["first_open_at"] is not None and a["opens"] == 0  # an open inferred from a click counts once
        s["machine_openers"] += a["first_open_at"] is None and a["machine_opens"] > 0
        s["unique_clicks"] += a["first_click_at"] is not None
        s["unsubscribes"] += a["unsubscribed_at"] is not None
        s["hard_bounces"] += a["bounced_at"] is not None and a["hard_bounce"]
        s["soft_bounces"] += a["bounced_at"] is not None and not a["hard_bounce"]
        s["complaints"] += a["complained_at"] is not None
    return activity, link_activity, stats, link_stats, buckets


def count_reader(readers, activity, e, counter):
    """A person's hit under its device (1), client (2) and country (3); the first hit naming one is the person's."""
    for dimension, name in ((1, "device"), (2, "client"), (3, "country")):
        value = e[name]
        readers[e["campaign_id"], dimension, str(value) if value else ""][counter] += 1
        if value and not activity[name]:
            activity[name] = value
            readers[e["campaign_id"], dimension, str(value)]["people"] += 1


def assert_statistics_equal_recount():
    readers = defaultdict(lambda: defaultdict(int))
    activity, link_activity, stats, link_stats, buckets = recount(readers)
    stored = {row.pop("delivery_id"): row for row in Activity.objects.values()}
    assert stored == activity
    stored = {(row["delivery_id"], row["link"]): row for row in LinkActivity.objects.values()}
    assert {key: {"first_click_at": r["first_click_at"], "clicks": r["clicks"]} for key, r in stored.items()} == (
        link_activity
    )
    counters = [
        f
        for f in CampaignStats._meta.get_fields()
        if f.name not in ("campaign", "updated_at", "sent", "failed", "counted_at")
    ]
    for row in CampaignStats.objects.values():
        assert {f.name: row[f.name] for f in counters} == {f.name: stats[row["campaign_id"]][f.name] for f in counters}
    assert CampaignStats.objects.count() == len(stats)
    stored = {(r["campaign_id"], r["link"]): r for r in LinkStats.objects.values()}
    assert set(stored) == set(link_stats)
    for key, row in stored.items():
        assert (row["clicks"], row["unique_clicks"], row["machine_clicks"]) == tuple(
            link_stats[key][name] for name in ("clicks", "unique_clicks", "machine_clicks")
        ), key
    stored = {(r["campaign_id"], r["hour"]): r for r in TimelineBucket.objects.values()}
    assert set(stored) == set(buckets)
    for key, row in stored.items():
        names = ("opens", "clicks", "machine_opens", "machine_clicks")
        assert tuple(row[n] for n in names) == tuple(buckets[key][n] for n in names), key
    stored = {(r["campaign_id"], r["dimension"], r["value"]): r for r in AudienceBreakdown.objects.values()}
    assert set(stored) == set(readers)
    for key, row in stored.items():
        names = ("people", "opens", "clicks")
        assert tuple(row[n] for n in names) == tuple(readers[key][n] for n in names), key
    return stats


# --- random events ---------------------------------------------------------------------------------------------------

AGENTS = [Agent.BROWSER] * 6 + [Agent.MAIL_PROXY] * 2 + [Agent.PRIVACY_PROXY, Agent.SCANNER, Agent.HEAD, Agent.UNKNOWN]
KINDS = [OPEN] * 10 + [CLICK] * 8 + [UNSUBSCRIBE, HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT]
READERS = [(0, "", ""), (0, "Gmail (proxy)", ""), (1, "Outlook", "FR"), (2, "Apple Mail", "CH"), (3, "Chrome", "")]


def random_events(rng, deliveries, count, links, start):
    """Random events of ``deliveries`` after ``start`` hours: hits just after sending, days later, scanner bursts."""
    made = []
    while len(made) < count:
        delivery = rng.choice(deliveries)
        base = delivery.sent_at + datetime.timedelta(hours=start)
        shape = rng.random()
        if shape < 0.1:  # a scanner: several links within a couple of seconds
            at = base + seconds(rng.uniform(0, 7200))
            for _ in range(rng.randint(2, 5)):
                link = rng.randrange(links)
                made.append(event(delivery, CLICK, at + seconds(rng.uniform(0, 2.5)), link=link))
            continue
        kind = rng.choice(KINDS)
        if shape < 0.25:  # at once, or nearly (thresholds' edges included)
            at = base + seconds(rng.choice([0, 0.5, 1.999, 2, 2.001, 3]))
        else:
            at = base + seconds(rng.uniform(0, 4 * 86400))
        link = rng.randrange(links) if kind == CLICK else None
        detail = f"550 5.1.1 no {rng.randrange(3)}" if kind in (HARD_BOUNCE, SOFT_BOUNCE) else ""
        hit = event(delivery, kind, at, agent=rng.choice(AGENTS), link=link, detail=detail)
        if kind in (OPEN, CLICK):  # what the hit said of the reader, or nothing
            hit.device, hit.client, hit.country = rng.choice(READERS)
        made.append(hit)
    rng.shuffle(made)  # ids in another order than times, like hits from several servers
    add_events(*made)


def test_statistics_equal_a_recount_of_thousands_of_random_events(small_chunks):
    rng = random.Random(5)
    campaigns = [make_campaign(web_links=5), make_campaign(web_links=2), make_campaign(web_links=1)]
    deliveries = {}
    for number, campaign in enumerate(campaigns):
        deliveries[campaign] = make_deliveries(campaign, 120, sent_at=T0 + seconds(number), step=seconds(7))
    for campaign in campaigns:
        random_events(rng, deliveries[campaign], 1000, len(campaign.compiled["links"]), start=0)
    gone = deliveries[campaigns[0]][:5]
    Delivery.objects.filter(pk__in=[d.pk for d in gone]).delete()  # their events are passed over
    total = Event.objects.count()
    assert aggregate_all(step=313) == total
    stats = assert_statistics_equal_recount()
    assert all(stats[c.pk]["machine_clicks"] and stats[c.pk]["clicks"] for c in campaigns)
    assert Activity.objects.filter(delivery_id__in=[d.pk for d in gone]).count() == 0
    # Later events fold into the rows already there (machine openers becoming openers, soft bounces turning hard…).
    for campaign in campaigns:
        random_events(rng, deliveries[campaign][5:], 700, len(campaign.compiled["links"]), start=24 * 7)
    assert aggregate_all() == Event.objects.count() - total
    assert_statistics_equal_recount()
    assert aggregate(now=long_ago()) == 0  # idempotent: nothing is folded twice


# --- the watermark, the settle delay and the lock --------------------------------------------------------------------


def test_events_settle_before_they_are_folded(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "TRACKING_SETTLE_SECONDS": 5}
    (delivery,) = make_deliveries(make_campaign(), 1)
    add_events(event(delivery, OPEN, T0 + seconds(60)), event(delivery, OPEN, T0 + seconds(62)))
    assert aggregate(now=T0 + seconds(64.9)) == 0
    assert aggregate(now=T0 + seconds(65)) == 1  # exactly 5 s old; the second one is 3 s old: not yet
    assert Activity.objects.get().opens == 1
    assert aggregate(now=T0 + seconds(66.9)) == 0
    assert aggregate(now=T0 + seconds(67)) == 1  # exactly 5 s old
    assert Activity.objects.get().opens == 2
    assert AggregationState.objects.get().last_event_id == Event.objects.order_by("id").last().pk


def test_unsubscribes_bounces_and_complaints_count_once_per_delivery():
    first, second = make_deliveries(make_campaign(), 2)
    at = T0 + seconds(3600)
    add_events(
        event(first, UNSUBSCRIBE, at), event(first, UNSUBSCRIBE, at + seconds(5)), event(second, UNSUBSCRIBE, at),
        event(first, COMPLAINT, at), event(first, COMPLAINT, at),
        event(first, SOFT_BOUNCE, at, detail="452 mailbox full"), event(first, SOFT_BOUNCE, at, detail="452 again"),
        event(second, SOFT_BOUNCE, at, detail="452 mailbox full"),
    )  # fmt: skip
    aggregate_all(step=3)
    stats = CampaignStats.objects.get()
    assert (stats.unsubscribes, stats.complaints, stats.soft_bounces, stats.hard_bounces) == (2, 1, 2, 0)
    add_events(event(first, HARD_BOUNCE, at + seconds(60), detail="550 5.1.1 no such user"))
    aggregate_all()
    stats = CampaignStats.objects.get()
    assert (stats.soft_bounces, stats.hard_bounces) == (1, 1)  # the soft bounce turned hard: still one delivery
    activity = Activity.objects.get(pk=first.pk)
    assert (activity.hard_bounce, activity.bounce_detail, activity.bounced_at) == (True, "550 5.1.1 no such user", at)


def test_events_of_deleted_deliveries_are_skipped_but_passed():
    kept, deleted = make_deliveries(make_campaign(), 2)
    add_events(event(deleted, OPEN, T0 + seconds(60)), event(kept, OPEN, T0 + seconds(60)))
    deleted.delete()
    assert aggregate_all() == 2
    assert list(Activity.objects.values_list("delivery_id", flat=True)) == [kept.pk]
    assert CampaignStats.objects.get().unique_opens == 1
    assert AggregationState.objects.get().last_event_id == Event.objects.order_by("id").last().pk


def test_a_human_click_without_an_open_counts_as_one_open():
    delivery, machine_opened = make_deliveries(make_campaign(), 2)
    add_events(
        event(delivery, CLICK, T0 + seconds(600), link=0),
        event(machine_opened, OPEN, T0 + seconds(1), agent=Agent.BROWSER),  # 1 s after sending: pre-fetched
        event(machine_opened, OPEN, T0 + seconds(900), agent=Agent.PRIVACY_PROXY),
    )
    aggregate_all()
    stats = CampaignStats.objects.get()
    assert (stats.opens, stats.unique_opens, stats.clicks, stats.unique_clicks) == (1, 1, 1, 1)
    assert (stats.machine_opens, stats.machine_openers) == (2, 1)
    assert Activity.objects.get(pk=delivery.pk).first_open_at == T0 + seconds(600)
    add_events(event(machine_opened, OPEN, T0 + seconds(1200), agent=Agent.MAIL_PROXY))  # Gmail: a person
    aggregate_all()
    stats = CampaignStats.objects.get()
    assert (stats.opens, stats.unique_opens, stats.machine_openers) == (2, 2, 0)
    add_events(event(delivery, OPEN, T0 + seconds(1800)))  # the clicker's own open takes the inferred one's place
    aggregate_all()
    assert (CampaignStats.objects.get().opens, CampaignStats.objects.get().unique_opens) == (2, 2)


def test_a_burst_is_judged_with_clicks_of_earlier_chunks():
    (delivery,) = make_deliveries(make_campaign(web_links=3), 1)
    at = T0 + seconds(3600)
    add_events(event(delivery, CLICK, at, link=0), event(delivery, CLICK, at + seconds(1), link=1))
    aggregate_all()
    # Folded on their own, two links of three within 1 s are not yet a burst (the settle delay usually waits for
    # the rest of a burst: here the third click comes late, and the earlier ones stay as they were folded).
    assert CampaignStats.objects.get().clicks == 2
    add_events(event(delivery, CLICK, at + seconds(2), link=2))
    aggregate_all()
    stats = CampaignStats.objects.get()
    assert (stats.clicks, stats.machine_clicks) == (2, 1)


def test_a_second_run_on_postgresql_skips_while_the_first_holds_the_lock(transactional_db):
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SQLite has one writer: a second run waits for the first one's chunk instead")
    (delivery,) = make_deliveries(make_campaign(), 1)
    add_events(event(delivery, OPEN, T0 + seconds(60)))
    aggregate(now=long_ago())  # creates the state row
    add_events(event(delivery, OPEN, T0 + seconds(70)))
    holding, release = threading.Event(), threading.Event()
    results = {}

    def run(index):
        if index == 0:
            with transaction.atomic():
                AggregationState.objects.select_for_update().get(pk=1)
                holding.set()
                release.wait(30)
        else:
            holding.wait(30)
            started = time.monotonic()
            results["folded"] = refresh()
            results["seconds"] = time.monotonic() - started
            release.set()

    run_threads(2, run)
    assert results["folded"] == 0 and results["seconds"] < 1
    assert aggregate(now=long_ago()) == 1


def test_concurrent_runs_fold_every_event_exactly_once(transactional_db, small_chunks):
    rng = random.Random(7)
    campaign = make_campaign(web_links=4)
    deliveries = make_deliveries(campaign, 80, step=seconds(3))
    random_events(rng, deliveries, 1500, 4, start=0)
    folded = []
    run_threads(3, lambda index: folded.append(aggregate_all(step=150)))
    assert sum(folded) == Event.objects.count()
    assert_statistics_equal_recount()


def test_a_report_page_folds_for_a_bounded_time_only():
    deliveries = make_deliveries(make_campaign(), 50)
    add_events(*(event(deliveries[n % 50], OPEN, T0 + seconds(60 + n)) for n in range(2500)))
    assert refresh(budget_seconds=0) == FIRST_CHUNK_IN_BUDGET  # one small chunk, then the budget is spent
    assert CampaignStats.objects.get().opens == FIRST_CHUNK_IN_BUDGET
    assert aggregate() == 1500
    assert CampaignStats.objects.get().opens == 2500


def test_aggregation_runs_every_minute_through_django_q2():
    from django_q.models import Schedule

    ensure_schedules()
    schedule = Schedule.objects.get(name="wagtail_newsletter: aggregate tracking events")
    assert (schedule.func, schedule.minutes, schedule.repeats) == (
        "wagtail_newsletter.track.aggregate.scheduled_aggregate",
        1,
        -1,
    )
    (delivery,) = make_deliveries(make_campaign(), 1)
    add_events(event(delivery, OPEN, T0 + seconds(60)))
    assert import_string(schedule.func)() == 1
