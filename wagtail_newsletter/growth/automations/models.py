"""Automations: a trigger and a sequence of steps, the people going through them (``Enrolment``) and the campaign
each "send" step mails through (``StepCampaign``).

Every mail of an automation is a ``Delivery`` of a normal campaign, so the send engine sends it (exactly once, DKIM,
tracking, quotas, credits). A delivery is unique per (campaign, subscriber): a step has one campaign per *round*
(the year of an anniversary; otherwise how many times the person has entered the automation), so people who go
through the automation again get their mails again.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.dates import WEEKDAYS  # Monday = 0, as datetime.weekday(); translated by Django
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from ...audience.models import Field, Group
from ...audience.subscription_form import SubscriptionForm
from ...send.models import Campaign
from ..segments import Segment


class Trigger(models.TextChoices):
    CONFIRMED = "confirmed", _("Subscription confirmed")
    JOINED_GROUP = "joined_group", _("Joined a group")
    CLICKED_LINK = "clicked_link", _("Clicked a link")
    ANNIVERSARY = "anniversary", _("Anniversary of a date field")
    SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
    API = "api", _("Started by code or the API")


class Automation(ClusterableModel):
    name = models.CharField(_("name"), max_length=150, unique=True)
    active = models.BooleanField(
        _("active"), default=False, help_text=_("Only active automations let people in and move them on.")
    )
    trigger = models.CharField(_("starts when"), max_length=20, choices=Trigger.choices, default=Trigger.CONFIRMED)
    form = models.ForeignKey(
        SubscriptionForm,
        verbose_name=_("subscription form"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Subscription confirmed: through this form (or leave empty and choose a group)."),
    )
    group = models.ForeignKey(
        Group,
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Joined a group: this group. Subscription confirmed: into this group."),
    )
    link_text = models.CharField(
        _("link address contains"),
        max_length=255,
        blank=True,
        help_text=_("Clicked a link: a person's click (not a scanner's) on an address containing this."),
    )
    date_field = models.ForeignKey(
        Field,
        verbose_name=_("date field"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"type": Field.Type.DATE},
        help_text=_("Anniversary: every year on this date (a birthday, say)."),
    )
    local_hour = models.PositiveSmallIntegerField(
        _("at hour"), default=9, help_text=_("Anniversary: the hour of the day, in the site's time zone (0-23).")
    )
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Entered a segment: people who were not in it and now are (checked every 5 minutes)."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # Why steps can't go on (e.g. a send step's newsletter can't be sent), for the editor; "" when all is well.
    status_note = models.TextField(_("note"), blank=True, editable=False)
    # Progress of the triggers the tick polls: the last local day whose anniversaries were handled, the last
    # LinkActivity row (human clicks, folded by tracking) read, the time the segment's members were last compared.
    anniversaries_done_on = models.DateField(null=True, blank=True, editable=False)
    clicks_read_until = models.BigIntegerField(null=True, blank=True, editable=False)
    segment_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("automation")
        verbose_name_plural = _("automations")

    def __str__(self):
        return self.name

    def clean(self):
        """Each trigger needs what it names; the rest is ignored."""
        needed = {
            Trigger.JOINED_GROUP: ("group", _("Choose the group.")),
            Trigger.CLICKED_LINK: ("link_text", _("Give part of the link's address.")),
            Trigger.ANNIVERSARY: ("date_field", _("Choose a date field.")),
            Trigger.SEGMENT_ENTERED: ("segment", _("Choose the segment.")),
        }
        if self.trigger == Trigger.CONFIRMED and self.form_id is None and self.group_id is None:
            raise ValidationError({"form": _("Choose a subscription form or a group.")})
        if self.trigger in needed:
            field, message = needed[self.trigger]
            if not getattr(self, field if field == "link_text" else f"{field}_id"):
                raise ValidationError({field: message})
        if self.local_hour > 23:
            raise ValidationError({"local_hour": _("An hour from 0 to 23.")})


class StepKind(models.TextChoices):
    WAIT = "wait", _("Wait")
    WAIT_UNTIL = "wait_until", _("Wait until a weekday and hour")
    SEND = "send", _("Send a newsletter")
    ADD_TO_GROUP = "add_to_group", _("Add to a group")
    REMOVE_FROM_GROUP = "remove_from_group", _("Remove from a group")
    BRANCH = "branch", _("Go on only if…")
    STOP = "stop", _("Stop")


class WaitUnit(models.TextChoices):
    HOURS = "hours", _("hours")
    DAYS = "days", _("days")


class Condition(models.TextChoices):
    OPENED_PREVIOUS = "opened_previous", _("they opened the previous step's mail")
    NOT_OPENED_PREVIOUS = "not_opened_previous", _("they did not open the previous step's mail")
    IN_SEGMENT = "in_segment", _("they are in the segment")
    NOT_IN_SEGMENT = "not_in_segment", _("they are not in the segment")


class AutomationStep(Orderable):
    """One step; ``sort_order`` is its place (0 first). Its counters are written by the tick with the step's work."""

    automation = ParentalKey(Automation, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(_("step"), max_length=20, choices=StepKind.choices, default=StepKind.WAIT)
    wait_amount = models.PositiveIntegerField(_("wait"), default=1, help_text=_("Wait: how many hours or days."))
    wait_unit = models.CharField(_("unit"), max_length=5, choices=WaitUnit.choices, default=WaitUnit.DAYS)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=WEEKDAYS, null=True, blank=True)
    hour = models.PositiveSmallIntegerField(
        _("hour"), null=True, blank=True, help_text=_("Wait until: the hour (0-23) in the site's time zone.")
    )
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("newsletter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    group = models.ForeignKey(
        Group, verbose_name=_("group"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    condition = models.CharField(_("condition"), max_length=20, choices=Condition.choices, blank=True)
    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    otherwise_go_to = models.PositiveSmallIntegerField(
        _("otherwise go to step"),
        null=True,
        blank=True,
        help_text=_("Go on only if: the step number (1 is the first) for the others; empty: they leave."),
    )
    passed_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta(Orderable.Meta):
        verbose_name = _("step")
        verbose_name_plural = _("steps")

    def __str__(self):
        return f"{self.sort_order + 1}. {self.description()}"

    def description(self):
        """What the step does in words: "Wait 1 hour", "Wait 3 days" (plural forms of the language), else its kind."""
        if self.kind == StepKind.WAIT:
            if self.wait_unit == WaitUnit.HOURS:
                text = ngettext("Wait %(count)s hour", "Wait %(count)s hours", self.wait_amount)
            else:
                text = ngettext("Wait %(count)s day", "Wait %(count)s days", self.wait_amount)
            return text % {"count": self.wait_amount}
        return self.get_kind_display()

    def clean(self):
        """What each kind of step needs, with the message on its field."""
        problems = {}
        if self.kind == StepKind.WAIT and not self.wait_amount:
            problems["wait_amount"] = _("Wait at least 1 hour or day.")
        if self.kind == StepKind.WAIT_UNTIL and (self.hour is None or self.hour > 23):
            problems["hour"] = _("An hour from 0 to 23.")
        if self.kind == StepKind.SEND and self.page_id is None:
            problems["page"] = _("Choose the newsletter to send.")
        if self.kind in (StepKind.ADD_TO_GROUP, StepKind.REMOVE_FROM_GROUP) and self.group_id is None:
            problems["group"] = _("Choose the group.")
        if self.kind == StepKind.BRANCH:
            if not self.condition:
                problems["condition"] = _("Choose the condition.")
            elif self.condition in (Condition.IN_SEGMENT, Condition.NOT_IN_SEGMENT) and self.segment_id is None:
                problems["segment"] = _("Choose the segment.")
            if self.otherwise_go_to == 0:
                problems["otherwise_go_to"] = _("Steps are numbered from 1.")
        if problems:
            raise ValidationError(problems)


class EnrolmentStatus(models.IntegerChoices):
    ACTIVE = 0, _("In progress")
    DONE = 1, _("Finished")
    LEFT = 2, pgettext_lazy("automation figures", "Left")  # not the layout's "Left" (a side)


class Enrolment(models.Model):
    """One person going through one automation once, for one occurrence of its trigger (``occurrence``: the
    consent, membership or click that started it, the year of an anniversary…): unique, so a repeated trigger
    never lets them in twice. ``position`` is the step they are at (its ``sort_order``); ``due_at`` when it runs."""

    id = models.BigAutoField(primary_key=True)
    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="enrolments", db_index=False)
    subscriber = models.ForeignKey(
        "wagtail_newsletter.Subscriber", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    occurrence = models.CharField(max_length=64)
    round = models.PositiveIntegerField(default=1)
    status = models.PositiveSmallIntegerField(choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE)
    position = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField()
    entered_at = models.DateTimeField()
    # The campaign of the last "send" step they passed: "opened the previous step's mail" reads its delivery.
    last_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    left_reason = models.CharField(max_length=20, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "subscriber", "occurrence"], name="wagtail_newsletter_enrolment_unique"
            )
        ]
        indexes = [
            # The tick's work: active rows of one automation at one step, due first (a partial index: finished
            # and departed people cost it nothing).
            models.Index(
                fields=["automation", "position", "due_at"],
                name="wn_enrolment_due",
                condition=Q(status=0),
            ),
        ]

    def __str__(self):
        return f"{self.automation_id}/{self.subscriber_id}/{self.occurrence}"


class StepCampaign(models.Model):
    """The campaign a "send" step mails the people of one round through (made when the first of them reaches it)."""

    step = models.ForeignKey(AutomationStep, on_delete=models.CASCADE, related_name="campaigns")
    round = models.PositiveIntegerField()
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("step campaign")
        verbose_name_plural = _("step campaigns")
        constraints = [models.UniqueConstraint(fields=["step", "round"], name="wagtail_newsletter_stepcampaign_unique")]

    def __str__(self):
        return f"{self.step_id}/{self.round}: {self.campaign_id}"


class SegmentMember(models.Model):
    """Who was in an automation's segment when it was last compared: entering it is being found outside this."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="+", db_index=False)
    subscriber_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "subscriber_id"], name="wagtail_newsletter_segmentmember_unique"
            )
        ]

    def __str__(self):
        return f"{self.automation_id}/{self.subscriber_id}"
