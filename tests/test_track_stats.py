"""Reports read from the aggregated tables: counts, rates and verdicts, links, timeline, recent campaigns."""

import datetime
import random

import pytest
from django.utils import timezone

from wagtail_newsletter.send.models import DeliveryStatus
from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.models import Agent, Event
from wagtail_newsletter.track.stats import build_report, campaign_report, link_rows, recent_reports, timeline

from .test_track_aggregate import aggregate_all, random_events, recount
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
    make_campaign,
    make_deliveries,
    seconds,
)

pytestmark = pytest.mark.django_db


def counts(sent=0, failed=0, queued=0):
    values = dict.fromkeys(DeliveryStatus.values, 0)
    values.update({DeliveryStatus.SENT: sent, DeliveryStatus.FAILED: failed, DeliveryStatus.QUEUED: queued})
    return values


def rate(report, key):
    return next(rate for rate in report.rates if rate.key == key)


# --- the report equals the events -----------------------------------------------------------------------------------


def test_report_numbers_equal_a_recount_of_the_events_and_need_no_event_table(django_assert_num_queries):
    campaign = make_campaign(web_links=4)
    deliveries = make_deliveries(campaign, 150, step=seconds(5))
    make_deliveries(make_campaign(), 3, status=DeliveryStatus.FAILED)  # another campaign's: not counted
    random_events(random.Random(11), deliveries, 1500, 4, start=0)
    aggregate_all()
    _activity, _links, stats, _link_stats, _buckets = recount()
    expected = stats[campaign.pk]
    Event.objects.all().delete()  # the report reads the aggregated tables only
    with django_assert_num_queries(3):
        report = campaign_report(campaign)
    for name in ("opens", "unique_opens", "machine_opens", "machine_openers", "clicks", "unique_clicks",
                 "machine_clicks", "unsubscribes", "hard_bounces", "soft_bounces", "complaints"):  # fmt: skip
        assert getattr(report, name) == expected[name], name
    assert (report.recipients, report.sent, report.failed) == (150, 150, 0)
    assert report.delivered == 150 - expected["hard_bounces"] - expected["soft_bounces"]
    assert rate(report, "open_rate").value == expected["unique_opens"] / report.delivered
    assert rate(report, "click_to_open_rate").value == expected["unique_clicks"] / expected["unique_opens"]
    assert report.updated_at is not None


def test_figures_are_never_dated_after_the_real_time():
    campaign = make_campaign()
    (delivery,) = make_deliveries(campaign, 1)
    add_events(event(delivery, OPEN, T0 + seconds(600)))
    aggregate(now=timezone.now() + datetime.timedelta(minutes=5))  # a clock set ahead settles every event at once
    assert campaign_report(campaign).updated_at <= timezone.now()


def test_figures_are_dated_by_the_latest_events_they_count():
    campaign = make_campaign()
    (delivery,) = make_deliveries(campaign, 1)
    add_events(event(delivery, OPEN, T0 + seconds(600)))
    aggregate(now=T0 + seconds(3600))
    assert campaign_report(campaign).updated_at == T0 + seconds(3600 - 5)  # TRACKING_SETTLE_SECONDS before


def test_a_campaign_without_statistics_yet_reports_zeros_and_no_rates():
    campaign = make_campaign()
    make_deliveries(campaign, 2, status=DeliveryStatus.QUEUED, sent_at=None)
    report = campaign_report(campaign)
    assert (report.recipients, report.sent, report.delivered, report.opens, report.updated_at) == (2, 0, 0, 0, None)
    assert [(r.key, r.value, r.verdict) for r in report.rates] == [
        (key, None, None)
        for key in (
            "open_rate",
            "click_rate",
            "click_to_open_rate",
            "unsubscribe_rate",
            "bounce_rate",
            "complaint_rate",
        )
    ]


def test_bounces_come_off_delivered_and_count_in_the_bounce_rate():
    campaign = make_campaign()
    deliveries = make_deliveries(campaign, 10)
    at = T0 + seconds(600)
    add_events(
        event(deliveries[0], HARD_BOUNCE, at, detail="550 5.1.1"), event(deliveries[1], SOFT_BOUNCE, at),
        event(deliveries[1], SOFT_BOUNCE, at), event(deliveries[2], OPEN, at, agent=Agent.MAIL_PROXY),
        event(deliveries[2], UNSUBSCRIBE, at), event(deliveries[2], COMPLAINT, at),
    )  # fmt: skip
    aggregate_all()
    report = campaign_report(campaign)
    assert (report.sent, report.hard_bounces, report.soft_bounces, report.delivered) == (10, 1, 1, 8)
    assert (rate(report, "bounce_rate").numerator, rate(report, "bounce_rate").denominator) == (2, 10)
    assert rate(report, "open_rate").value == 1 / 8
    assert (rate(report, "unsubscribe_rate").value, rate(report, "complaint_rate").value) == (1 / 8, 1 / 8)
    assert rate(report, "complaint_rate").verdict == "bad"


def test_messages_the_relay_refused_count_as_bounced_not_delivered():
    """The worker records a bounce for a refused message (a failed delivery): it went out and bounced, once."""
    campaign = make_campaign()
    sent = make_deliveries(campaign, 8)
    refused = make_deliveries(campaign, 2, status=DeliveryStatus.FAILED)[-2:]  # it returns all the campaign's
    at = T0 + seconds(600)
    add_events(
        event(refused[0], HARD_BOUNCE, at, detail="550 5.1.1 no such user"),
        event(refused[1], SOFT_BOUNCE, at, detail="452 4.2.2 mailbox full"),
        event(sent[0], HARD_BOUNCE, at, detail="a bounce message after the relay accepted it"),
    )  # fmt: skip
    aggregate_all()
    report = campaign_report(campaign)
    assert (report.sent, report.failed, report.hard_bounces, report.soft_bounces) == (8, 2, 2, 1)
    assert report.delivered == 7
    assert (rate(report, "bounce_rate").numerator, rate(report, "bounce_rate").denominator) == (3, 10)


# --- verdicts at the edges of the healthy ranges ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "key, stats, verdict",
    [
        ("open_rate", {"unique_opens": 200}, "good"),  # exactly 20 %
        ("open_rate", {"unique_opens": 199}, "watch"),
        ("open_rate", {"unique_opens": 100}, "watch"),
        ("open_rate", {"unique_opens": 99}, "bad"),
        ("click_rate", {"unique_clicks": 20}, "good"),  # 2 %
        ("click_rate", {"unique_clicks": 19}, "watch"),
        ("click_rate", {"unique_clicks": 9}, "bad"),
        ("click_to_open_rate", {"unique_opens": 200, "unique_clicks": 20}, "good"),  # 10 %
        ("click_to_open_rate", {"unique_opens": 200, "unique_clicks": 19}, "watch"),
        ("click_to_open_rate", {"unique_opens": 200, "unique_clicks": 9}, "bad"),
        ("unsubscribe_rate", {"unsubscribes": 4}, "good"),
        ("unsubscribe_rate", {"unsubscribes": 5}, "watch"),  # 0.5 %
        ("unsubscribe_rate", {"unsubscribes": 10}, "bad"),  # 1 %
        ("complaint_rate", {"complaints": 0}, "good"),
        ("complaint_rate", {"complaints": 1}, "watch"),  # 0.1 %: Gmail's and Yahoo's target is below
        ("complaint_rate", {"complaints": 2}, "watch"),
        ("complaint_rate", {"complaints": 3}, "bad"),  # 0.3 %: never
    ],
)
def test_verdicts_at_the_edges(key, stats, verdict):
    report = build_report(None, stats, counts(sent=1000))
    assert report.delivered == 1000
    assert rate(report, key).verdict == verdict


@pytest.mark.parametrize("bounces, verdict", [(19, "good"), (20, "watch"), (49, "watch"), (50, "bad")])
def test_bounce_rate_verdicts(bounces, verdict):
    report = build_report(None, {"hard_bounces": bounces}, counts(sent=1000))
    assert (rate(report, "bounce_rate").value, rate(report, "bounce_rate").verdict) == (bounces / 1000, verdict)
    assert report.delivered == 1000 - bounces


def test_every_rate_says_its_healthy_range():
    report = build_report(None, {"unique_opens": 1}, counts(sent=10))
    assert {r.key: r.healthy for r in report.rates} == {
        "open_rate": "20–40 %",
        "click_rate": "2–5 %",
        "click_to_open_rate": "10–20 %",
        "unsubscribe_rate": "below 0.5 %",
        "bounce_rate": "below 2 %",
        "complaint_rate": "below 0.1 %",
    }


# --- links -----------------------------------------------------------------------------------------------------------


def test_link_rows_list_every_web_link_with_its_share_of_human_clicks():
    campaign = make_campaign(web_links=3)
    first, second = make_deliveries(campaign, 2)
    at = T0 + seconds(3600)
    add_events(
        event(first, CLICK, at, link=0), event(first, CLICK, at + seconds(60), link=0),
        event(second, CLICK, at, link=0), event(second, CLICK, at + seconds(30), link=2),
        event(second, CLICK, at + seconds(90), link=2, agent=Agent.HEAD),
    )  # fmt: skip
    aggregate_all()
    rows = link_rows(campaign)
    assert [(r.index, r.url, r.label) for r in rows] == [
        (0, "https://example.org/article-0", "Article 0"),
        (1, "https://example.org/article-1", "Article 1"),
        (2, "https://example.org/article-2", "Article 2"),
    ]
    assert [(r.clicks, r.unique_clicks, r.machine_clicks, r.share) for r in rows] == [
        (3, 2, 0, 0.75),
        (0, 0, 0, 0.0),
        (1, 1, 1, 0.25),
    ]


def test_link_rows_of_a_campaign_without_clicks_are_zeros(django_assert_num_queries):
    campaign = make_campaign(web_links=2)
    with django_assert_num_queries(1):
        rows = link_rows(campaign)
    assert [(r.index, r.clicks, r.share) for r in rows] == [(0, 0, 0.0), (1, 0, 0.0)]


# --- timeline --------------------------------------------------------------------------------------------------------


def test_timeline_goes_hour_by_hour_for_the_first_two_days_with_zeros_between():
    campaign = make_campaign(started_at=T0 + seconds(1800), status="sent")
    (delivery,) = make_deliveries(campaign, 1)
    add_events(
        event(delivery, OPEN, T0 + seconds(2 * 3600 + 10)),
        event(delivery, OPEN, T0 + seconds(2 * 3600 + 20), agent=Agent.PRIVACY_PROXY),
        event(delivery, CLICK, T0 + seconds(5 * 3600), link=0),
    )
    aggregate_all()
    result = timeline(campaign, now=T0 + datetime.timedelta(days=30))
    assert result.step == "hour"
    assert [point.start for point in result.points] == [T0 + seconds(3600 * n) for n in range(6)]
    assert [(p.opens, p.machine_opens, p.clicks) for p in result.points] == [
        (0, 0, 0), (0, 0, 0), (1, 1, 0), (0, 0, 0), (0, 0, 0), (0, 0, 1),
    ]  # fmt: skip


def test_timeline_of_a_sending_campaign_runs_up_to_now():
    campaign = make_campaign(started_at=T0)
    result = timeline(campaign, now=T0 + seconds(3 * 3600 + 5))
    assert (result.step, len(result.points)) == ("hour", 4)
    assert all(point.opens == 0 for point in result.points)


def test_timeline_goes_day_by_day_after_two_days_in_the_current_time_zone():
    campaign = make_campaign(started_at=None, status="sent")
    (delivery,) = make_deliveries(campaign, 1)
    first = datetime.datetime(2026, 3, 2, 22, 30, tzinfo=datetime.UTC)  # 23:30 in Paris
    add_events(
        event(delivery, OPEN, first), event(delivery, OPEN, first + seconds(3600)),  # 00:30 the next day in Paris
        event(delivery, CLICK, first + datetime.timedelta(days=3), link=0),
    )  # fmt: skip
    aggregate_all()
    with timezone.override("Europe/Paris"):
        result = timeline(campaign, now=first + datetime.timedelta(days=40))
    assert result.step == "day"
    assert [point.start.date().isoformat() for point in result.points] == [
        "2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05",
    ]  # fmt: skip
    assert [(p.opens, p.clicks) for p in result.points] == [(1, 0), (1, 0), (0, 0), (0, 1)]
    assert result.points[0].start.utcoffset() == datetime.timedelta(hours=1)


def test_timeline_of_a_campaign_with_nothing_yet_is_empty():
    assert timeline(make_campaign(started_at=None, status="draft")).points == []


# --- the latest campaigns --------------------------------------------------------------------------------------------


def test_recent_reports_take_four_queries_whatever_the_number_of_campaigns(django_assert_num_queries):
    campaigns = []
    for number in range(6):
        campaign = make_campaign(name=f"Issue {number}", started_at=T0 + datetime.timedelta(days=number))
        deliveries = make_deliveries(campaign, 3)
        add_events(event(deliveries[0], OPEN, T0 + datetime.timedelta(days=number, hours=1)))
        campaigns.append(campaign)
    make_campaign(name="Draft", status="draft", started_at=None)
    make_campaign(name="Scheduled", status="scheduled", started_at=None)
    aggregate_all()
    with django_assert_num_queries(4):
        assert len(recent_reports(limit=1)) == 1
    with django_assert_num_queries(4):
        reports = recent_reports(limit=4)
        names = [report.campaign.name for report in reports]
    assert names == ["Issue 5", "Issue 4", "Issue 3", "Issue 2"]
    for report in reports:
        single = campaign_report(report.campaign)
        assert (report.sent, report.unique_opens, report.delivered) == (3, 1, 3)
        assert [(r.key, r.value) for r in report.rates] == [(r.key, r.value) for r in single.rates]
    assert len(recent_reports(limit=10)) == 6
