"""Page digests: a recurring newsletter made of the site's own pages published since the last issue.

A ``Digest`` says which pages (under chosen parent pages, of chosen page types), in which newsletter template, to whom
(groups and segments, like a campaign), when (``digest_schedule``) and whether an editor reviews each issue first.
Each period it is due makes one ``DigestRun`` (unique per digest and period start: two ticks or two clusters never make
two issues of one period); the issue itself is made and sent by ``digest_runs``.
"""

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dates import WEEKDAYS  # Monday = 0, as datetime.weekday(); translated by Django
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.models import Orderable

from ..audience.models import Group
from ..compose.models import NewsletterIndexPage, NewsletterTemplate
from ..send.models import Campaign
from .digest_schedule import DigestSchedule, Frequency, ScheduleError, describe
from .segments import Segment

FREQUENCY_CHOICES = [
    (Frequency.DAILY, _("Every day")),
    (Frequency.WEEKLY, _("Every week")),
    (Frequency.MONTHLY, _("Every month")),
]


class Digest(ClusterableModel):
    name = models.CharField(_("name"), max_length=150, unique=True)
    active = models.BooleanField(_("active"), default=True, help_text=_("An inactive digest makes no issue."))
    # Which pages: below any of the parent pages (DigestParentPage rows) and/or of any of these types.
    page_types = ParentalManyToManyField(
        ContentType,
        blank=True,
        related_name="+",
        verbose_name=_("page types"),
        help_text=_("Only pages of these types. None chosen: pages of any type below the parent pages."),
    )
    template = models.ForeignKey(
        NewsletterTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("newsletter template")
    )
    archive = models.ForeignKey(
        NewsletterIndexPage,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("newsletter archive"),
        help_text=_("Each issue is made as a newsletter page below this archive."),
    )
    # The schedule (digest_schedule.DigestSchedule), in the site's time zone.
    frequency = models.CharField(_("how often"), max_length=10, choices=FREQUENCY_CHOICES, default=Frequency.WEEKLY)
    weekday = models.PositiveSmallIntegerField(
        _("day of the week"), choices=WEEKDAYS, default=0, help_text=_("For a weekly digest.")
    )
    day_of_month = models.PositiveSmallIntegerField(
        _("day of the month"), default=1, help_text=_("For a monthly digest: 1 to 28.")
    )
    hour = models.PositiveSmallIntegerField(_("hour"), default=8, help_text=_("0 to 23, in the site's time zone."))
    minute = models.PositiveSmallIntegerField(_("minute"), default=0, help_text=_("0 to 59."))
    review = models.BooleanField(
        _("review before sending"),
        default=True,
        help_text=_(
            "Leave each issue as a draft for an editor to check and send. Unticked: each issue is sent at once."
        ),
    )
    # The audience, as a campaign's.
    all_subscribers = models.BooleanField(_("all subscribers"), default=False)
    include_groups = ParentalManyToManyField(Group, blank=True, related_name="+", verbose_name=_("send to groups"))
    exclude_groups = ParentalManyToManyField(Group, blank=True, related_name="+", verbose_name=_("except groups"))
    include_segments = ParentalManyToManyField(
        Segment, blank=True, related_name="+", verbose_name=_("send to segments")
    )
    exclude_segments = ParentalManyToManyField(Segment, blank=True, related_name="+", verbose_name=_("except segments"))
    # The end of the last period (its watermark): the next issue gathers pages first published from here on.
    published_since = models.DateTimeField(
        _("pages published since"),
        default=timezone.now,
        help_text=_("The next issue gathers the pages first published from this moment. Moved on by each issue."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("page digest")
        verbose_name_plural = _("page digests")

    def __str__(self):
        return self.name

    @property
    def schedule(self):
        return DigestSchedule(
            frequency=self.frequency,
            hour=self.hour,
            minute=self.minute,
            weekday=self.weekday,
            day_of_month=self.day_of_month,
        )

    def schedule_text(self):
        try:
            return describe(self.schedule)
        except ScheduleError:
            return ""

    schedule_text.short_description = _("Schedule")

    def clean(self):
        try:
            self.schedule  # noqa: B018  (validates the fields)
        except ScheduleError as error:
            raise ValidationError(error.errors) from error


class DigestParentPage(Orderable):
    """A page whose descendants a digest gathers."""

    digest = ParentalKey(Digest, on_delete=models.CASCADE, related_name="parent_pages")
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="+", verbose_name=_("page"))

    class Meta(Orderable.Meta):
        verbose_name = _("parent page")
        verbose_name_plural = _("parent pages")


class RunOutcome(models.TextChoices):
    SKIPPED = "skipped", _("Skipped: nothing new")
    REVIEW = "review", _("Waiting for review")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Not sent")


class DigestRun(models.Model):
    """One period of a digest: the pages it found and the issue made of them (or that it skipped)."""

    digest = models.ForeignKey(Digest, on_delete=models.CASCADE, related_name="runs", verbose_name=_("digest"))
    period_start = models.DateTimeField(_("from"))
    period_end = models.DateTimeField(_("until"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=RunOutcome.choices)
    page_count = models.PositiveIntegerField(_("pages found"), default=0)
    page_ids = models.JSONField(default=list, blank=True, editable=False)
    newsletter = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("newsletter"),
    )  # fmt: skip
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("campaign")
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("made"), default=timezone.now)

    class Meta:
        ordering = ["-period_end", "-id"]
        verbose_name = _("digest issue")
        verbose_name_plural = _("digest issues")
        constraints = [
            models.UniqueConstraint(fields=["digest", "period_start"], name="wagtail_newsletter_digestrun_period")
        ]

    def __str__(self):
        return f"{self.digest_id}: {self.period_start:%Y-%m-%d %H:%M} – {self.period_end:%Y-%m-%d %H:%M}"
