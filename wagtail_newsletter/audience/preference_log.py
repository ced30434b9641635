"""What subscribers changed on their preference page: an append-only log beside the status history.

A status history entry says that somebody unsubscribed; this log says what else they did there — topics, language,
their own fields, a pause — and why they left, so that reports can count "paused instead of unsubscribing" and the
reasons people give.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Subscriber


class PreferenceChangeKind(models.TextChoices):
    TOPICS = "topics", _("Topics changed")
    LANGUAGE = "language", _("Language changed")
    FIELDS = "fields", _("Details changed")
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Pause ended early")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")


class UnsubscribeReason(models.TextChoices):
    TOO_MANY = "too_many", _("I get too many emails")
    NOT_RELEVANT = "not_relevant", _("The content is not relevant to me")
    NEVER_SIGNED_UP = "never_signed_up", _("I never signed up")
    SPAM = "spam", _("The emails look like spam")
    OTHER = "other", _("Another reason")


class PreferenceChange(models.Model):
    """One change a subscriber made on their preference page.

    ``campaign_id`` names the campaign whose mail the link came from (a plain number: the audience floor knows no
    campaigns; None for changes made some other way). ``data`` says what changed: topics ``added``/``removed`` (group
    names), language ``from``/``to``, changed ``fields`` ({key: [old, new]}), a pause's ``months`` and ``until``.
    """

    # Like StatusEvent: no database constraint on an append-only log; SET_NULL when the subscriber row goes.
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="preference_changes",
        db_constraint=False,
        verbose_name=_("subscriber"),
    )
    kind = models.CharField(_("change"), max_length=12, choices=PreferenceChangeKind.choices)
    campaign_id = models.BigIntegerField(_("campaign"), null=True, blank=True, db_index=True)
    reason = models.CharField(_("reason"), max_length=20, choices=UnsubscribeReason.choices, blank=True)
    reason_text = models.CharField(_("reason in their words"), max_length=500, blank=True)
    data = models.JSONField(_("what changed"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("preference change")
        verbose_name_plural = _("preference changes")

    def __str__(self):
        return f"{self.subscriber_id}: {self.kind} @ {self.created_at:%Y-%m-%d %H:%M}"
