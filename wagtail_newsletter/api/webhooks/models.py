"""Webhook endpoints, the outbox of their messages (one row per endpoint and event), and the read positions in the
logs the outbox is filled from."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """What an endpoint can ask for; the value is the payload's ``type``."""

    SUBSCRIBED = "subscriber.subscribed", _("Subscribed (signed up, or added)")
    CONFIRMED = "subscriber.confirmed", _("Confirmed (double opt-in)")
    UNSUBSCRIBED = "subscriber.unsubscribed", _("Unsubscribed")
    BOUNCED = "subscriber.bounced", _("Bounced")
    COMPLAINED = "subscriber.complained", _("Complained (marked as spam)")
    OPENED = "message.opened", _("Opened a newsletter")
    CLICKED = "message.clicked", _("Clicked a link")
    CAMPAIGN_STARTED = "campaign.started", _("Campaign started")
    CAMPAIGN_PAUSED = "campaign.paused", _("Campaign paused")
    CAMPAIGN_FINISHED = "campaign.finished", _("Campaign finished (sent, cancelled or failed)")


class WebhookEndpoint(models.Model):
    """A URL that receives signed messages for the events it chose."""

    name = models.CharField(_("name"), max_length=100, help_text=_("What receives these events, for people."))
    url = models.URLField(_("URL"), max_length=500, help_text=_("An http(s) URL that answers POST requests."))
    events = models.JSONField(_("events"), default=list, blank=True)
    # Standard Webhooks secret ("whsec_" + base64 of 24 random bytes). During a rotation the previous secret signs
    # too, until ``previous_secret_until``, so the receiver can switch at its own pace.
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True, editable=False)
    disabled_reason = models.CharField(_("why disabled"), max_length=255, blank=True, editable=False)
    # Since when every attempt failed (None: the last one succeeded); failures in a row set the backoff.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    failures_in_row = models.PositiveIntegerField(default=0, editable=False)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("registered by"),
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self):
        return self.name or self.url


class OutboxStatus(models.IntegerChoices):
    PENDING = 0, _("Pending")
    CLAIMED = 1, _("Being sent")
    DELIVERED = 2, _("Delivered")
    FAILED = 3, _("Given up")


# Rows that are not done: an earlier one of these holds back the later ones of the same subscriber.
UNFINISHED = (OutboxStatus.PENDING, OutboxStatus.CLAIMED)


class WebhookMessage(models.Model):
    """One event for one endpoint: the outbox row its delivery works on, unique per (endpoint, type, source).

    ``source`` is the id of the log row the event was read from (Event, StatusEvent); for campaign events, written as
    the campaign's status changes, the campaign's id (numbered per pause: ``fanout.campaign_event_source``), so the
    unique constraint refuses one change queued twice. ``order_key`` groups what must arrive in order: the
    subscriber's id, or minus the campaign's id for campaign events. The payload is built when sending, from the
    source rows; the exact body posted is kept once answered (``body``).
    """

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="messages", db_index=False)
    event_type = models.CharField(_("event"), max_length=24, choices=EventType.choices)
    source = models.BigIntegerField(null=True, blank=True)
    order_key = models.BigIntegerField(null=True, blank=True)
    subscriber_id = models.BigIntegerField(null=True, blank=True)
    campaign_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField(_("occurred"))
    created_at = models.DateTimeField(default=timezone.now)
    # Retried with backoff until then (replaying or enabling an endpoint again gives a new window).
    expires_at = models.DateTimeField()
    status = models.PositiveSmallIntegerField(_("status"), choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claim = models.BigIntegerField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_body = models.CharField(_("response"), max_length=1000, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    # The exact body signed and posted at the last answered attempt (delivered or not), for the delivery log;
    # GDPR erasure clears it with the answer (api.webhooks.receivers.erase_bodies).
    body = models.TextField(_("body"), blank=True)

    class Meta:
        verbose_name = _("webhook message")
        verbose_name_plural = _("webhook messages")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_type", "source"], name="wagtail_newsletter_webhook_message_unique"
            )
        ]
        indexes = [
            # The claim walks an endpoint's due rows in order…
            models.Index(fields=["endpoint", "status", "id"], name="wn_webhook_work"),
            # …and looks for an earlier unfinished row of the same subscriber (order per subscriber).
            models.Index(
                fields=["endpoint", "order_key", "id"],
                name="wn_webhook_order",
                condition=Q(status__in=[0, 1]),
            ),
        ]

    def __str__(self):
        return f"{self.event_type} #{self.pk} → {self.endpoint_id}"

    @property
    def webhook_id(self):
        """The ``webhook-id`` header: the same for every attempt and replay (the receiver dedupes by it)."""
        return f"msg_{self.pk}"


class WebhookCursor(models.Model):
    """How far fan-out has read a log (``name``: "event", "status_event"), and the id ranges it skipped that may
    still be filled by a transaction that had not committed yet: [[first, last, seen at (epoch seconds)], …]."""

    name = models.CharField(max_length=40, unique=True)
    last_id = models.BigIntegerField(default=0)
    gaps = models.JSONField(default=list)

    class Meta:
        verbose_name = _("webhook cursor")
        verbose_name_plural = _("webhook cursors")

    def __str__(self):
        return f"{self.name}: {self.last_id}"
