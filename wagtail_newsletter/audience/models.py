"""Subscribers, groups, custom fields, memberships, consent records and status history."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .fields import RESERVED_KEYS


class Status(models.TextChoices):
    PENDING = "pending", _("Pending confirmation")
    SUBSCRIBED = "subscribed", _("Subscribed")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
    BOUNCED = "bounced", _("Bounced")
    COMPLAINED = "complained", _("Complained")


# A re-import or an admin edit of a subscriber's data never flips these statuses back.
STICKY_STATUSES = (Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED)


class Source(models.TextChoices):
    FORM = "form", _("Subscription form")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    ADMIN = "admin", _("Admin")
    CONFIRMATION = "confirmation", _("Double opt-in confirmation")
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link")
    BOUNCE = "bounce", _("Bounce")
    COMPLAINT = "complaint", _("Complaint")
    SYSTEM = "system", _("System")


class Group(models.Model):
    """A contact list. A subscriber belongs to any number of groups."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(
        _("description"), blank=True, help_text=_("Public groups show it to subscribers in the preference centre.")
    )
    # Public groups are the topics subscribers choose for themselves on their preference page.
    public = models.BooleanField(
        _("public"),
        default=False,
        help_text=_("Subscribers see this group on their preference page and may join or leave it themselves."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("group")
        verbose_name_plural = _("groups")

    def __str__(self):
        return self.name


class Field(models.Model):
    """A custom subscriber field defined by editors; its value lives in ``Subscriber.data[key]``."""

    class Type(models.TextChoices):
        TEXT = "text", _("Text")
        NUMBER = "number", _("Number")
        DATE = "date", _("Date")
        BOOLEAN = "boolean", _("Yes / no")
        CHOICE = "choice", _("Choice")

    label = models.CharField(_("label"), max_length=100)
    key = models.SlugField(
        _("key"),
        max_length=50,
        unique=True,
        help_text=_("Name used in imports and personalisation variables, e.g. 'city' for {{ city }}."),
    )
    type = models.CharField(_("type"), max_length=10, choices=Type.choices, default=Type.TEXT)
    choices = models.TextField(_("choices"), blank=True, help_text=_("For 'Choice' fields: one option per line."))
    default = models.CharField(
        _("default value"), max_length=255, blank=True, help_text=_("Used by personalisation when empty.")
    )
    sort_order = models.IntegerField(_("sort order"), default=0)
    editable_by_subscriber = models.BooleanField(
        _("editable by the subscriber"),
        default=False,
        help_text=_("Subscribers see and change this field on their preference page."),
    )

    class Meta:
        ordering = ["sort_order", "label"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self):
        return self.label

    @property
    def choice_list(self):
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        if self.key in RESERVED_KEYS:
            raise ValidationError({"key": _("'%(key)s' is a built-in subscriber field.") % {"key": self.key}})
        if self.type == self.Type.CHOICE and not self.choice_list:
            raise ValidationError({"choices": _("A choice field needs at least one option.")})


class SubscriberQuerySet(models.QuerySet):
    def active(self):
        """Subscribers that may receive newsletters."""
        return self.filter(status=Status.SUBSCRIBED)


class VisibleSubscriberManager(models.Manager.from_queryset(SubscriberQuerySet)):
    """Hides deleted and forgotten subscribers: they are gone from lists, search and sends."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Subscriber(models.Model):
    email = models.EmailField(
        _("email"),
        max_length=254,
        help_text=_("Stored in lower case: an address is unique whatever its case."),
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    data = models.JSONField(_("custom fields"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # Not indexed: five values, most rows "subscribed"; sends and counts go through memberships.
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.ADMIN)
    groups = models.ManyToManyField(
        Group, through="Membership", related_name="subscribers", blank=True, verbose_name=_("groups")
    )
    # Kept across re-subscriptions: the date shown as "subscribed since".
    first_subscribed_at = models.DateTimeField(_("first subscribed"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status changed"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    # Deleted (and forgotten) subscribers are hidden, not removed, until erasure.
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)
    erase_after = models.DateTimeField(_("erase after"), null=True, blank=True)
    # Set from the preference page: no newsletter until then. Not a status: the planner skips paused subscribers
    # by comparing with the time of planning, so they come back by themselves.
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True)

    objects = VisibleSubscriberManager()
    all_objects = models.Manager.from_queryset(SubscriberQuerySet)()

    class Meta:
        verbose_name = _("subscriber")
        verbose_name_plural = _("subscribers")
        ordering = ["-created_at", "-id"]
        base_manager_name = "all_objects"
        # Few indexes, each earning its keep: every one costs time on a million-row import.
        # The unique constraint (not unique=True) spares PostgreSQL a second, LIKE-only index.
        constraints = [models.UniqueConstraint(fields=["email"], name="wagtail_newsletter_subscriber_email_unique")]
        indexes = [
            models.Index(fields=["deleted_at"], name="wn_subscriber_deleted", condition=Q(deleted_at__isnull=False)),
            models.Index(fields=["erase_after"], name="wn_subscriber_erase", condition=Q(erase_after__isnull=False)),
        ]

    def __str__(self):
        return self.email

    @property
    def full_name(self):
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def is_forgotten(self):
        return self.erase_after is not None


class Membership(models.Model):
    # No index of its own: the unique (subscriber, group) constraint serves lookups by subscriber.
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "group"], name="wagtail_newsletter_membership_unique")
        ]
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")

    def __str__(self):
        return f"{self.subscriber_id} in {self.group_id}"


class StatusEvent(models.Model):
    """Append-only history of a subscriber's status changes and their source."""

    # No database constraint: an append-only log whose rows are written by the million on import,
    # where each constraint check locks the subscriber row. Django still applies SET_NULL on delete,
    # and erasure unlinks events explicitly.
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="status_events",
        db_constraint=False,
    )
    old_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    new_status = models.CharField(max_length=12, choices=Status.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    note = models.CharField(max_length=255, blank=True)
    # Not indexed: the history is read per subscriber, and an import writes a row per subscriber.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")

    def __str__(self):
        return f"{self.old_status or '-'} -> {self.new_status} ({self.source})"


class Consent(models.Model):
    """What a person agreed to, when, and from where: written once, never edited.

    ``confirmed_at`` is stamped once, by the double opt-in confirmation.
    """

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.SET_NULL, null=True, blank=True, related_name="consents"
    )
    form = models.ForeignKey(
        "wagtail_newsletter.SubscriptionForm",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consents",
    )
    text = models.TextField(_("consent text"))
    # Submitted values, applied to the subscriber when the consent is confirmed ("new data wins").
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip_network = models.CharField(_("IP network"), max_length=50, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.FORM)
    created_at = models.DateTimeField(_("given"), default=timezone.now, db_index=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self):
        return f"{self.subscriber_id} @ {self.created_at:%Y-%m-%d %H:%M}"


def email_digest(email):
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


class Suppression(models.Model):
    """A hashed address that must never be mailed or imported again (kept after GDPR erasure)."""

    email_sha256 = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=20, default="forgotten")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")

    def __str__(self):
        return self.email_sha256[:12]

    @classmethod
    def contains(cls, email):
        return cls.objects.filter(email_sha256=email_digest(email)).exists()
