"""What happened to a campaign's messages: append-only ``Event`` rows, and the statistics aggregated from them.

Hits on the public endpoints only ever INSERT an Event. ``aggregate`` folds new events (in id order, after a short
settling delay) into per-recipient ``Activity``/``LinkActivity`` rows and per-campaign counters, so that report
pages read a handful of rows whatever the number of events.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..send.models import Campaign, Delivery


class EventKind(models.IntegerChoices):
    OPEN = 1, pgettext_lazy("event kind", "open")
    CLICK = 2, pgettext_lazy("event kind", "click")
    UNSUBSCRIBE = 3, pgettext_lazy("event kind", "unsubscribe")
    HARD_BOUNCE = 4, pgettext_lazy("event kind", "hard bounce")
    SOFT_BOUNCE = 5, pgettext_lazy("event kind", "soft bounce")
    COMPLAINT = 6, pgettext_lazy("event kind", "complaint")


class Agent(models.IntegerChoices):
    """Who made a hit, as far as the request tells (the user agent string itself is not kept)."""

    BROWSER = 0, _("mail client or browser")
    MAIL_PROXY = 1, _("mailbox provider's image proxy")  # Gmail, Yahoo…: fetches when a person opens the mail
    PRIVACY_PROXY = 2, _("privacy proxy")  # Apple Mail Privacy Protection: fetches whether anyone reads or not
    SCANNER = 3, _("security scanner or bot")
    HEAD = 4, _("HEAD request")  # link checkers look without following
    UNKNOWN = 5, _("no user agent")


class Event(models.Model):
    """One thing that happened to one delivery. Never updated (except to erase ``ip_prefix`` on GDPR erasure)."""

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events", db_index=False)
    # No database constraint: the hit's INSERT … SELECT checks the delivery exists, and deleting a campaign must
    # stay one DELETE per table rather than Django collecting a million deliveries.
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events"
    )
    kind = models.PositiveSmallIntegerField(choices=EventKind.choices)
    link = models.PositiveSmallIntegerField(null=True, blank=True)  # index in the campaign's link table
    at = models.DateTimeField(default=timezone.now)
    agent = models.PositiveSmallIntegerField(choices=Agent.choices, default=Agent.BROWSER)
    ip_prefix = models.CharField(max_length=50, blank=True)  # /24 of IPv4, /48 of IPv6: never the full address
    detail = models.CharField(max_length=500, blank=True)  # a bounce's answer, a complaint's feedback type

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["campaign", "kind"], name="wn_event_campaign_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.delivery_id} {self.at:%Y-%m-%d %H:%M:%S}"


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

    class Meta:
        verbose_name = _("recipient activity")
        verbose_name_plural = _("recipient activity")

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
