"""Campaigns, their deliveries (one row per recipient) and the log of what happened to them, sender domains, the hourly
quota and the credits ledger."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SenderDomain(models.Model):
    """A domain newsletters are sent from, with the DKIM key that signs them (DNS checks come with deliverability)."""

    domain = models.CharField(_("domain"), max_length=253, unique=True, help_text=_("For example: example.org"))
    selector = models.CharField(
        _("DKIM selector"),
        max_length=63,
        default="newsletter",
        help_text=_("The DNS record is published at <selector>._domainkey.<domain>."),
    )
    private_key = models.TextField(_("DKIM private key"), blank=True, help_text=_("PEM, RSA 2048 bits."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Written by deliverability's DNS checks, read here (send.sender_domains) to decide whether the domain may send.
    # {check: {"status": ok|missing|wrong|unknown, "problems", "notes", "found", "since"}}
    dns_checks = models.JSONField(default=dict, blank=True, editable=False)
    dns_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True, editable=False)
    dns_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True, editable=False)
    dns_failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    # Gapless key rotation (api.dkim): the next key waits here, signing nothing, until its record is found in DNS;
    # then it replaces selector/private_key, and the selector it replaced is kept so its record can be removed
    # once the mail signed with it has been delivered (about a week).
    next_selector = models.CharField(_("next DKIM selector"), max_length=63, blank=True, editable=False)
    next_private_key = models.TextField(_("next DKIM private key"), blank=True, editable=False)
    rotation_started_at = models.DateTimeField(_("key rotation started"), null=True, blank=True, editable=False)
    previous_selector = models.CharField(_("previous DKIM selector"), max_length=63, blank=True, editable=False)
    rotated_at = models.DateTimeField(_("key last rotated"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["domain"]
        verbose_name = _("sender domain")
        verbose_name_plural = _("sender domains")

    def __str__(self):
        return self.domain


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SCHEDULED = "scheduled", _("Scheduled")
    SENDING = "sending", _("Sending")
    PAUSED = "paused", _("Paused")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class FollowUp(models.TextChoices):
    NON_OPENERS = "non_openers", _("Recipients who did not open it")
    NON_CLICKERS = "non_clickers", _("Recipients who did not click")
    NEWCOMERS = "newcomers", _("Subscribers added since")


class PauseCause(models.TextChoices):
    """Who or what paused a campaign (``Campaign.pause_cause``); ``status_note`` says why in words."""

    EDITOR = "editor", _("Paused by an editor")
    RELAY = "relay", _("Paused after the relay's answer")
    POLICY = "policy", _("Paused: receivers block the sender")
    BOUNCE_GUARD = "bounce_guard", _("Paused: too many hard bounces")
    COMPLAINT_GUARD = "complaint_guard", _("Paused: too many complaints")


class Campaign(models.Model):
    """A frozen newsletter revision sent to an audience, now or at a scheduled time."""

    name = models.CharField(_("name"), max_length=255)
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("newsletter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The revision chosen when the campaign was made; ``compiled`` keeps what it rendered to, so purging
    # revisions never changes what a campaign sends or shows.
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    compiled = models.JSONField(null=True, blank=True, editable=False)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    from_name = models.CharField(_("sender name"), max_length=100, blank=True)
    from_email = models.EmailField(_("sender address"), blank=True)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    tracking_enabled = models.BooleanField(_("track clicks"), default=True)
    track_opens = models.BooleanField(_("track opens"), default=True)

    all_subscribers = models.BooleanField(_("all subscribers"), default=True)
    include_groups = models.ManyToManyField(
        "wagtail_newsletter.Group", blank=True, related_name="+", verbose_name=_("send to groups")
    )
    exclude_groups = models.ManyToManyField(
        "wagtail_newsletter.Group", blank=True, related_name="+", verbose_name=_("except groups")
    )
    # A follow-up goes to part of an earlier campaign's audience instead (``follow_up`` says which part).
    follow_up_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_ups",
        verbose_name=_("follow-up of"),
    )
    follow_up = models.CharField(_("follow-up audience"), max_length=20, choices=FollowUp.choices, blank=True)

    status = models.CharField(
        _("status"), max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, db_index=True
    )
    scheduled_at = models.DateTimeField(_("scheduled for"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0)
    credits_charged = models.PositiveIntegerField(default=0, editable=False)
    # Why the campaign paused or failed, for the editor (e.g. a relay's 5.7.x policy answer).
    status_note = models.TextField(_("note"), blank=True)
    # What paused it, when it is or was paused by something other than an editor (guards, policy bounces).
    pause_cause = models.CharField(_("paused by"), max_length=20, choices=PauseCause.choices, blank=True)
    # Workers claim nothing before this (hourly quota used up, relay down or throttling).
    hold_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Milliseconds each worker waits between messages; grows when the relay throttles, shrinks again on success.
    throttle_ms = models.PositiveIntegerField(default=0, editable=False)
    # Subscribers whose language has a translation of the newsletter that isn't published get the default language
    # (the editor's choice in the send wizard); otherwise such a translation keeps the campaign from starting.
    translation_fallback = models.BooleanField(
        _("send the default language instead of unpublished translations"), default=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        permissions = [("send_campaign", _("Can send campaigns"))]

    def __str__(self):
        return self.name

    @property
    def is_finished(self):
        return self.status in (CampaignStatus.SENT, CampaignStatus.CANCELLED, CampaignStatus.FAILED)


class DeliveryStatus(models.IntegerChoices):
    QUEUED = 0, _("Queued")
    CLAIMED = 1, _("Being sent")
    SENT = 2, _("Sent")
    FAILED = 3, _("Failed")
    SKIPPED = 4, _("Skipped")


class Delivery(models.Model):
    """One recipient of one campaign: unique per (campaign, subscriber), claimed by a worker under a lease."""

    id = models.BigAutoField(primary_key=True)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # No database constraint: written by the hundred thousand; erasing a subscriber unlinks its deliveries.
    subscriber = models.ForeignKey(
        "wagtail_newsletter.Subscriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        db_constraint=False,
        db_index=False,
    )
    status = models.PositiveSmallIntegerField(choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # null: at once
    # The worker's claim: a random number, and the time after which another worker may take the row back.
    claim = models.BigIntegerField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # The translation this recipient gets (a language code of the campaign's CampaignTranslation rows), set by the
    # planner; "" is the campaign's own language. A database default too: bulk INSERTs elsewhere may leave it out.
    language = models.CharField(_("language"), max_length=10, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "subscriber"], name="wagtail_newsletter_delivery_unique")
        ]
        indexes = [
            models.Index(fields=["campaign", "status", "id"], name="wn_delivery_work"),
            models.Index(fields=["claim"], name="wn_delivery_claim", condition=Q(claim__isnull=False)),
            # A subscriber's history, follow-ups to newcomers and segments look deliveries up by subscriber (and
            # campaign); with the id in the key, segments' probes never read the table.
            models.Index(fields=["subscriber", "campaign", "id"], name="wn_delivery_by_subscriber"),
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.subscriber_id}: {self.get_status_display()}"


class CampaignTranslation(models.Model):
    """A translation of a campaign's newsletter page, compiled once when the campaign starts.

    ``link_offset``: its links are numbered after those of the campaign's own compiled email and of the translations
    before it, so a click token's link index names one link of one language and the click redirect needs no lookup.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="translations")
    language = models.CharField(_("language"), max_length=10)
    page = models.ForeignKey("wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revision = models.ForeignKey(
        "wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    compiled = models.JSONField(editable=False)
    link_offset = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("campaign translation")
        verbose_name_plural = _("campaign translations")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "language"], name="wagtail_newsletter_translation_unique")
        ]

    def __str__(self):
        return f"{self.campaign_id}/{self.language}"


class EventKind(models.IntegerChoices):
    OPEN = 1, pgettext_lazy("event kind", "open")
    CLICK = 2, pgettext_lazy("event kind", "click")
    UNSUBSCRIBE = 3, pgettext_lazy("event kind", "unsubscribe")
    HARD_BOUNCE = 4, pgettext_lazy("event kind", "hard bounce")
    SOFT_BOUNCE = 5, pgettext_lazy("event kind", "soft bounce")
    COMPLAINT = 6, pgettext_lazy("event kind", "complaint")
    # Read from the mail that comes back (deliverability/): a bounce that says "still trying" or gave up after
    # temporary errors (recorded only), and a refusal for the sender's content or reputation (the sender is blocked).
    TRANSIENT_BOUNCE = 7, pgettext_lazy("event kind", "transient bounce")
    POLICY_BOUNCE = 8, pgettext_lazy("event kind", "blocked by policy")


class Agent(models.IntegerChoices):
    """Who made a hit, as far as the request tells (the user agent string itself is not kept)."""

    BROWSER = 0, _("mail client or browser")
    MAIL_PROXY = 1, _("mailbox provider's image proxy")  # Gmail, Yahoo…: fetches when a person opens the mail
    PRIVACY_PROXY = 2, _("privacy proxy")  # Apple Mail Privacy Protection: fetches whether anyone reads or not
    SCANNER = 3, _("security scanner or bot")
    HEAD = 4, _("HEAD request")  # link checkers look without following
    UNKNOWN = 5, _("no user agent")


class DeviceType(models.IntegerChoices):
    """The kind of device a person's open or click came from, as its user agent tells (track/devices.py)."""

    UNKNOWN = 0, pgettext_lazy("device type", "unknown")
    COMPUTER = 1, pgettext_lazy("device type", "computer")
    PHONE = 2, pgettext_lazy("device type", "phone")
    TABLET = 3, pgettext_lazy("device type", "tablet")


class Event(models.Model):
    """One thing that happened to one delivery: the append-only log of a campaign's messages. Never updated (except to
    erase ``ip_prefix`` and ``detail`` on GDPR erasure).

    It lives beside ``Delivery`` because every floor from ``send`` up appends to it: the worker its bounces at
    sending, ``track`` the hits, unsubscribes, later bounces and complaints; ``track`` folds it into statistics.
    """

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
    # Of an open or click, from its request (track/devices.py, countries.py): the device type, the mail client or
    # browser family ("Apple Mail", "Gmail (proxy)"), the address's country code (TRACK_COUNTRY). Never the user agent.
    device = models.PositiveSmallIntegerField(choices=DeviceType.choices, default=0, db_default=0)
    client = models.CharField(max_length=40, blank=True, default="", db_default="")
    country = models.CharField(max_length=2, blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["campaign", "kind"], name="wn_event_campaign_kind")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.delivery_id} {self.at:%Y-%m-%d %H:%M:%S}"


class QuotaWindow(models.Model):
    """Messages sent (or reserved by a worker) in one clock hour, for the hourly quota shared by all workers."""

    starts_at = models.DateTimeField(unique=True)
    used = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("quota window")
        verbose_name_plural = _("quota windows")

    def __str__(self):
        return f"{self.starts_at:%Y-%m-%d %H:00}: {self.used}"


class CreditAccount(models.Model):
    """The site's credits balance (one row); locked while a campaign is charged so that two sends can't overspend."""

    balance = models.IntegerField(_("balance"), default=0)
    # First day of the month whose free credits were last topped up.
    topped_up_for = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")

    def __str__(self):
        return str(self.balance)


class CreditEntry(models.Model):
    """The credits ledger: every top-up, purchase, charge and refund, with the balance after it."""

    class Kind(models.TextChoices):
        MONTHLY = "monthly", _("Monthly free credits")
        PURCHASE = "purchase", _("Purchase")
        CHARGE = "charge", _("Campaign")
        REFUND = "refund", _("Refund of unsent messages")
        ADJUSTMENT = "adjustment", _("Adjustment")

    created_at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    amount = models.IntegerField(_("credits"))
    balance = models.IntegerField(_("balance after"))
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    note = models.CharField(_("note"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("credit entry")
        verbose_name_plural = _("credit entries")

    def __str__(self):
        return f"{self.amount:+d} ({self.kind})"
