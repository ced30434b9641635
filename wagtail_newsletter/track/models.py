"""The statistics aggregated from what happened to a campaign's messages (``send.models.Event``, the append-only log).

Hits on the public endpoints only ever INSERT an Event. ``aggregate`` folds new events (in id order, after a short
settling delay) into per-recipient ``Activity``/``LinkActivity`` rows and per-campaign counters, so that report
pages read a handful of rows whatever the number of events.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..send.models import Agent, Campaign, Delivery, DeviceType, Event, EventKind

# The event log lives on the floor below (the send worker appends its bounces to it); tracking's public face names it
# too, so that code reading tracking data finds every model it needs here.
__all__ = [
    "Activity",
    "Agent",
    "AggregationState",
    "AudienceBreakdown",
    "Breakdown",
    "CampaignStats",
    "DeviceType",
    "Event",
    "EventKind",
    "LinkActivity",
    "LinkStats",
    "TimelineBucket",
]


class Activity(models.Model):
    """What one recipient did with one campaign's message, folded from its events (machine activity apart)."""

    delivery = models.OneToOneField(
        Delivery, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="activity"
    )
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")
    first_open_at = models.DateTimeField(null=True, blank=True)  # first human open
    opens = models.PositiveIntegerField(default=0)
    machine_opens = models.PositiveIntegerField(default=0)
    first_click_at = models.DateTimeField(null=True, blank=True)  # first human click
    clicks = models.PositiveIntegerField(default=0)
    machine_clicks = models.PositiveIntegerField(default=0)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    hard_bounce = models.BooleanField(default=False)
    bounce_detail = models.CharField(max_length=500, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    # What the recipient read with and where, from their first human open or click that said so (devices.py,
    # countries.py): each recipient counts once in each breakdown of AudienceBreakdown.
    device = models.PositiveSmallIntegerField(choices=DeviceType.choices, default=0, db_default=0)
    client = models.CharField(max_length=40, blank=True, default="", db_default="")
    country = models.CharField(max_length=2, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("recipient activity")
        verbose_name_plural = _("recipient activity")
        # Segments ask "did this delivery get a person's open (click)?" per candidate subscriber: a probe of these
        # small partial indexes answers without reading the table (benchmarks/segment_count.py).
        indexes = [
            models.Index(fields=["delivery"], name="wn_activity_opened", condition=Q(first_open_at__isnull=False)),
            models.Index(fields=["delivery"], name="wn_activity_clicked", condition=Q(first_click_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.delivery_id}"


class LinkActivity(models.Model):
    """Human clicks of one recipient on one link (a row exists once they clicked it)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    link = models.PositiveSmallIntegerField()
    first_click_at = models.DateTimeField()
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("link activity")
        verbose_name_plural = _("link activity")
        constraints = [
            models.UniqueConstraint(fields=["delivery", "link"], name="wagtail_newsletter_linkactivity_unique")
        ]
        indexes = [models.Index(fields=["campaign", "link"], name="wn_linkactivity_campaign")]

    def __str__(self):
        return f"{self.delivery_id}#{self.link}"


class CampaignStats(models.Model):
    """A campaign's counters, kept up to date by ``aggregate`` (unique counts are recipients, not hits)."""

    campaign = models.OneToOneField(Campaign, primary_key=True, on_delete=models.CASCADE, related_name="stats")
    opens = models.PositiveIntegerField(default=0)
    unique_opens = models.PositiveIntegerField(default=0)
    machine_opens = models.PositiveIntegerField(default=0)
    machine_openers = models.PositiveIntegerField(default=0)  # recipients with machine opens only, so far
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    machine_clicks = models.PositiveIntegerField(default=0)
    unsubscribes = models.PositiveIntegerField(default=0)
    hard_bounces = models.PositiveIntegerField(default=0)
    soft_bounces = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    # Copies of the delivery counts for listings that sort many campaigns by rate (``delivery_counts.refresh``; the
    # campaign's own report counts live). ``counted_at`` null: never counted.
    sent = models.PositiveIntegerField(db_default=0, default=0)
    failed = models.PositiveIntegerField(db_default=0, default=0)
    counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("campaign statistics")
        verbose_name_plural = _("campaign statistics")

    def __str__(self):
        return str(self.campaign_id)


class LinkStats(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="link_stats", db_index=False)
    link = models.PositiveSmallIntegerField()
    clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    machine_clicks = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("link statistics")
        verbose_name_plural = _("link statistics")
        constraints = [models.UniqueConstraint(fields=["campaign", "link"], name="wagtail_newsletter_linkstats_unique")]

    def __str__(self):
        return f"{self.campaign_id}#{self.link}"


class Breakdown(models.IntegerChoices):
    DEVICE = 1, _("device type")
    CLIENT = 2, _("mail client or browser")
    COUNTRY = 3, _("country")


class AudienceBreakdown(models.Model):
    """People's opens and clicks of one campaign by device type, mail client or country (``value``: the device
    type's number, the client's name, the country code; "" unknown). ``people``: recipients whose first human hit that
    said so had this value."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    dimension = models.PositiveSmallIntegerField(choices=Breakdown.choices)
    value = models.CharField(max_length=40, blank=True)
    people = models.PositiveIntegerField(default=0)
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("audience breakdown")
        verbose_name_plural = _("audience breakdowns")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "dimension", "value"], name="wagtail_newsletter_audiencebreakdown_unique"
            )
        ]

    def __str__(self):
        return f"{self.campaign_id} {self.get_dimension_display()} {self.value}"


class TimelineBucket(models.Model):
    """Opens and clicks of one campaign in one clock hour (UTC); days are sums of hours."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="timeline", db_index=False)
    hour = models.DateTimeField()
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    machine_opens = models.PositiveIntegerField(default=0)
    machine_clicks = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("timeline bucket")
        verbose_name_plural = _("timeline buckets")
        constraints = [models.UniqueConstraint(fields=["campaign", "hour"], name="wagtail_newsletter_timeline_unique")]

    def __str__(self):
        return f"{self.campaign_id} {self.hour:%Y-%m-%d %H}h"


class AggregationState(models.Model):
    """One row: the last event folded into the statistics. Locked while aggregating, so runs never overlap."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("aggregation state")

    def __str__(self):
        return str(self.last_event_id)
