"""What the reports show, read from the aggregated tables only (never from the events), in a few queries.

``campaign_report``: a campaign's counts and rates with their healthy ranges; ``link_rows``: clicks per link of its
link table; ``timeline``: opens and clicks hour by hour, then day by day; ``recent_reports``: the reports of the latest
campaigns. The numbers' meaning and the healthy ranges' sources are in docs/developers/tracking.md.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..compose.links import Link
from ..send.campaigns import delivery_counts
from ..send.links import campaign_compiled, is_web, translated_links
from ..send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from .models import AggregationState, CampaignStats, LinkStats, TimelineBucket

COUNTERS = (
    "opens",
    "unique_opens",
    "machine_opens",
    "machine_openers",
    "clicks",
    "unique_clicks",
    "machine_clicks",
    "unsubscribes",
    "hard_bounces",
    "soft_bounces",
    "complaints",
)
REPORTED = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)
HOURLY_SPAN = datetime.timedelta(hours=48)  # a timeline longer than this goes day by day
HOUR = datetime.timedelta(hours=1)


@dataclass
class Rate:
    key: str
    label: str
    value: float | None  # 0..1; None when there is nothing to divide by yet
    numerator: int
    denominator: int
    healthy: str  # the usual range, for people ("20–40 %")
    verdict: str | None  # "good", "watch", "bad"; None without a value


@dataclass
class CampaignReport:
    campaign: Campaign
    recipients: int
    sent: int
    failed: int
    delivered: int
    hard_bounces: int = 0
    soft_bounces: int = 0
    opens: int = 0
    unique_opens: int = 0
    machine_opens: int = 0
    machine_openers: int = 0
    clicks: int = 0
    unique_clicks: int = 0
    machine_clicks: int = 0
    unsubscribes: int = 0
    complaints: int = 0
    updated_at: datetime.datetime | None = None
    rates: list[Rate] = field(default_factory=list)


@dataclass
class LinkRow:
    index: int
    url: str
    label: str
    clicks: int  # human clicks
    unique_clicks: int  # recipients who clicked it
    machine_clicks: int
    share: float  # of all human clicks of the campaign (0..1)


@dataclass
class Point:
    start: datetime.datetime  # the hour (UTC) or the day (local midnight)
    opens: int = 0
    clicks: int = 0
    machine_opens: int = 0
    machine_clicks: int = 0


@dataclass
class Timeline:
    step: str  # "hour" or "day"
    points: list[Point]


# --- counts and rates ------------------------------------------------------------------------------------------------


def campaign_report(campaign):
    """The report of one campaign (3 queries: its statistics row, its delivery counts, the aggregation time)."""
    stats = CampaignStats.objects.filter(campaign=campaign).values(*COUNTERS, "updated_at").first()
    state_at = AggregationState.objects.filter(pk=1).values_list("updated_at", flat=True).first()
    return build_report(campaign, stats, delivery_counts(campaign), state_at)


def recent_reports(limit=10):
    """Reports of the ``limit`` latest campaigns that went out (sending, paused or sent), newest first; 4 queries
    whatever ``limit`` (the campaigns come without their compiled email)."""
    campaigns = list(
        Campaign.objects.filter(status__in=REPORTED)
        .defer("compiled")
        .order_by(F("started_at").desc(nulls_last=True), "-pk")[:limit]
    )
    ids = [campaign.pk for campaign in campaigns]
    stats = {row["campaign_id"]: row for row in CampaignStats.objects.filter(campaign_id__in=ids).values()}
    counts = {campaign_id: dict.fromkeys(DeliveryStatus.values, 0) for campaign_id in ids}
    rows = Delivery.objects.filter(campaign_id__in=ids).values_list("campaign_id", "status").annotate(n=Count("id"))
    for campaign_id, status, number in rows.order_by():
        counts[campaign_id][status] = number
    state_at = AggregationState.objects.filter(pk=1).values_list("updated_at", flat=True).first() if ids else None
    return [build_report(campaign, stats.get(campaign.pk), counts[campaign.pk], state_at) for campaign in campaigns]


def build_report(campaign, stats, counts, state_at=None):
    """A CampaignReport from a CampaignStats row as a dict (None: nothing folded yet) and {delivery status: count}."""
    stats = stats or {}
    numbers = {name: stats.get(name, 0) for name in COUNTERS}
    sent, failed = counts[DeliveryStatus.SENT], counts[DeliveryStatus.FAILED]
    # A bounce is either the relay refusing the message (a failed delivery, with its bounce event) or a report
    # after it accepted it (a sent one): either way it comes off the messages that went out, counted once.
    delivered = max(sent + failed - numbers["hard_bounces"] - numbers["soft_bounces"], 0)
    times = [value for value in (stats.get("updated_at"), state_at) if value is not None]
    report = CampaignReport(
        campaign=campaign,
        recipients=sum(counts.values()),
        sent=sent,
        failed=failed,
        delivered=delivered,
        updated_at=max(times) if times else None,
        **numbers,
    )
    report.rates = rates(report)
    return report


def rates(report):
    """The report's rates, each with its healthy range and a verdict (sources in docs/developers/tracking.md)."""
    bounces = report.hard_bounces + report.soft_bounces
    delivered = report.delivered
    return [
        # Human opens only: Apple's privacy proxy opens every message it receives, so counting it would say little.
        _rate("open_rate", _("Open rate"), report.unique_opens, delivered, _("20–40 %"), higher=(0.20, 0.10)),
        _rate("click_rate", _("Click rate"), report.unique_clicks, delivered, _("2–5 %"), higher=(0.02, 0.01)),
        _rate(
            "click_to_open_rate",
            _("Click-to-open rate"),
            report.unique_clicks,
            report.unique_opens,
            _("10–20 %"),
            higher=(0.10, 0.05),
        ),
        _rate(
            "unsubscribe_rate",
            _("Unsubscribe rate"),
            report.unsubscribes,
            delivered,
            _("below 0.5 %"),
            lower=(0.005, 0.01),
        ),  # fmt: skip
        _rate(
            "bounce_rate", _("Bounce rate"), bounces, report.sent + report.failed, _("below 2 %"), lower=(0.02, 0.05)
        ),  # fmt: skip,
        # Gmail and Yahoo: keep spam complaints below 0.1 %, never reach 0.3 %.
        _rate(
            "complaint_rate", _("Complaint rate"), report.complaints, delivered, _("below 0.1 %"), lower=(0.001, 0.003)
        ),  # fmt: skip
    ]


def _rate(key, label, numerator, denominator, healthy, higher=None, lower=None):
    """``higher=(good, watch)``: good from ``good`` up, watch from ``watch``, bad below. ``lower=(good, bad)``: good
    below ``good``, bad from ``bad`` up, watch between."""
    value = numerator / denominator if denominator else None
    verdict = None
    if value is not None and higher:
        verdict = "good" if value >= higher[0] else "watch" if value >= higher[1] else "bad"
    elif value is not None and lower:
        verdict = "good" if value < lower[0] else "bad" if value >= lower[1] else "watch"
    return Rate(key, label, value, numerator, denominator, healthy, verdict)


# --- links -----------------------------------------------------------------------------------------------------------


def link_rows(campaign):
    """Every web link of the campaign's link table (in its order) with its clicks; 1 query."""
    compiled = campaign_compiled(campaign)
    links = [link for link in compiled.links if is_web(link.final_url)] if compiled else []
    if (campaign.compiled or {}).get("languages"):  # a campaign sent in several languages: each one's links too
        links += [
            Link(index, link.original_url, link.final_url, f"[{language}] {link.label}")
            for language, link, index in translated_links(campaign)
            if is_web(link.final_url)
        ]
    counts = {
        row[0]: row[1:]
        for row in LinkStats.objects.filter(campaign=campaign).values_list(
            "link", "clicks", "unique_clicks", "machine_clicks"
        )
    }
    total = sum(clicks for clicks, _unique, _machine in counts.values())
    rows = []
    for link in links:
        clicks, unique, machine = counts.get(link.index, (0, 0, 0))
        rows.append(
            LinkRow(link.index, link.final_url, link.label, clicks, unique, machine, clicks / total if total else 0.0)
        )
    return rows


# --- timeline --------------------------------------------------------------------------------------------------------


def timeline(campaign, now=None):
    """Opens and clicks from the campaign's start (or its first event) on: hour by hour while that spans at most
    48 hours, day by day (in the current time zone) after that; hours or days without any are zeros. 1 query.

    The timeline ends at its last event, or now while the campaign is sending or in its first 48 hours."""
    buckets = list(
        TimelineBucket.objects.filter(campaign=campaign)
        .order_by("hour")
        .values_list("hour", "opens", "clicks", "machine_opens", "machine_clicks")
    )
    starts = [value for value in (campaign.started_at, buckets[0][0] if buckets else None) if value is not None]
    if not starts:
        return Timeline("hour", [])
    start = _hour(min(starts))
    current = _hour(now or timezone.now())
    end = buckets[-1][0] if buckets else start
    if campaign.status in (CampaignStatus.SENDING, CampaignStatus.PAUSED) or current < start + HOURLY_SPAN:
        end = max(end, current)
    counts = {hour: values for hour, *values in buckets}
    if end - start < HOURLY_SPAN:
        hours = int((end - start) / HOUR) + 1
        return Timeline("hour", [Point(hour, *counts.get(hour, ())) for hour in _hours(start, hours)])
    return Timeline("day", _days(start, end, counts))


def _hour(value):
    return value.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def _hours(start, count):
    return [start + n * HOUR for n in range(count)]


def _days(start, end, counts):
    zone = timezone.get_current_timezone()
    first, last = timezone.localtime(start, zone).date(), timezone.localtime(end, zone).date()
    points = {}
    for number in range((last - first).days + 1):
        day = first + datetime.timedelta(days=number)
        points[day] = Point(timezone.make_aware(datetime.datetime.combine(day, datetime.time()), zone))
    for hour, values in counts.items():
        point = points[timezone.localtime(hour, zone).date()]
        point.opens += values[0]
        point.clicks += values[1]
        point.machine_opens += values[2]
        point.machine_clicks += values[3]
    return list(points.values())
