"""A/B tests: 2–4 variants of a newsletter, each sent to a random sample of the audience; after a wait the winner
(by people's unique opens or clicks, or the editor's pick) goes to everyone else.

Every message is an ordinary campaign's ``Delivery`` (exactly once, DKIM, tracking, quotas, credits, guards):

- each variant is a ``Campaign`` (``AbVariant.campaign``) whose audience is its sample, nothing else;
- the send to the rest is the campaign the editor started the wizard with (``AbTest.campaign``); its audience is its
  own (groups, segments) minus everyone sampled for the test. When the winner is known, that campaign takes the
  winner's revision, subject and sender, and starts like any other.

Who is in which sample is stored (``AbSample``, unique per test and subscriber: the database, not only the code,
keeps a subscriber from getting two variants), and both audiences are read from it through the planner's audience
hook (``campaign_audience``, connected in ``AppConfig.ready``), so planning stays one ``INSERT … SELECT``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..audience.models import Subscriber
from ..send.models import Campaign
from .segments import campaign_segment_audience

LETTERS = "ABCD"
MIN_VARIANTS, MAX_VARIANTS = 2, 4


class AbMetric(models.TextChoices):
    OPENS = "opens", _("Unique opens by people")
    CLICKS = "clicks", _("Unique clicks by people")
    MANUAL = "manual", _("I choose the winner myself")


class AbStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    TESTING = "testing", _("Testing the variants")
    WAITING = "waiting", _("Waiting for the editor to choose")
    DONE = "done", _("Winner sent to the rest")
    CANCELLED = "cancelled", _("Cancelled")


class AbTest(models.Model):
    """One A/B test: its variants, how the winner is chosen, and the campaign that sends it to the rest."""

    # The send to everyone not sampled: the draft the editor started the wizard with, started with the winner.
    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="ab_test")
    metric = models.CharField(_("winner chosen by"), max_length=10, choices=AbMetric.choices, default=AbMetric.OPENS)
    wait_minutes = models.PositiveIntegerField(_("wait before choosing (minutes)"), default=240)
    send_winner = models.BooleanField(_("send the winner to the rest automatically"), default=True)
    # Orders the audience for sampling (md5 of seed and subscriber id): same seed and audience, same samples.
    seed = models.CharField(max_length=32, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=AbStatus.choices, default=AbStatus.DRAFT)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    decide_at = models.DateTimeField(_("winner chosen at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("winner chosen"), null=True, blank=True)
    winner = models.ForeignKey(
        "AbVariant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("winner")
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("A/B test")
        verbose_name_plural = _("A/B tests")

    def __str__(self):
        return self.campaign.name


class AbVariant(models.Model):
    """One variant: its own campaign (its revision, subject, sender), sent to ``sample_percent`` of the audience."""

    ab_test = models.ForeignKey(AbTest, on_delete=models.CASCADE, related_name="variants")
    letter = models.CharField(_("variant"), max_length=1)
    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="ab_variant")
    sample_percent = models.PositiveSmallIntegerField(_("sample (% of the audience)"))
    sample_size = models.PositiveIntegerField(_("sample size"), default=0)
    # What the editor changed for this variant (blank: as the newsletter says); kept for the report.
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    preheader = models.CharField(_("preheader"), max_length=200, blank=True)
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True)

    class Meta:
        ordering = ["ab_test", "letter"]
        verbose_name = _("A/B test variant")
        verbose_name_plural = _("A/B test variants")
        constraints = [
            models.UniqueConstraint(fields=["ab_test", "letter"], name="wagtail_newsletter_abvariant_letter")
        ]

    def __str__(self):
        return f"{self.ab_test_id}/{self.letter}"


class AbSample(models.Model):
    """A subscriber drawn into a variant's sample. Unique per (test, subscriber): never two variants for anyone."""

    id = models.BigAutoField(primary_key=True)
    ab_test = models.ForeignKey(AbTest, on_delete=models.CASCADE, related_name="+", db_index=False)
    variant = models.ForeignKey(AbVariant, on_delete=models.CASCADE, related_name="samples", db_index=False)
    # No database constraint, like Delivery's: written by the thousand in one INSERT … SELECT.
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )

    class Meta:
        verbose_name = _("A/B test sample")
        verbose_name_plural = _("A/B test samples")
        constraints = [
            models.UniqueConstraint(fields=["ab_test", "subscriber"], name="wagtail_newsletter_absample_once")
        ]
        indexes = [models.Index(fields=["variant", "subscriber"], name="wn_absample_variant")]

    def __str__(self):
        return f"{self.variant_id}: {self.subscriber_id}"


def sampled_for_variant(variant_id):
    """``Q``-able EXISTS: the subscriber is in this variant's sample."""
    return Exists(AbSample.objects.filter(variant_id=variant_id, subscriber=OuterRef("pk")))


def sampled_for_test(ab_test_id):
    """EXISTS: the subscriber is in any sample of this test."""
    return Exists(AbSample.objects.filter(ab_test_id=ab_test_id, subscriber=OuterRef("pk")))


def campaign_audience(campaign):
    """The planner's audience hook (``send.planner.set_segment_audience``): the campaign's segments, and for A/B
    tests, a variant's sample only, or the rest campaign's audience without anyone sampled. Two small queries."""
    include_q, exclude_q = campaign_segment_audience(campaign)
    variant_id = AbVariant.objects.filter(campaign=campaign).values_list("pk", flat=True).first()
    if variant_id is not None:  # a variant has no groups or segments of its own: its sample is its audience
        return sampled_for_variant(variant_id), exclude_q
    test_id = AbTest.objects.filter(campaign=campaign).values_list("pk", flat=True).first()
    if test_id is not None:
        sampled = sampled_for_test(test_id)
        exclude_q = sampled if exclude_q is None else exclude_q | sampled
    return include_q, exclude_q


def rest_send_check(campaign, count):
    """A send check (``send.campaigns.add_send_check``): the campaign that sends an A/B test's winner to the rest
    starts only through the test (the winner's task or the editor's pick), not through the send wizard meanwhile."""
    if AbTest.objects.filter(campaign=campaign, status__in=(AbStatus.TESTING, AbStatus.WAITING)).exists():
        return [
            gettext("This campaign sends the winner of an A/B test to the rest: choose the winner on the test's page.")
        ]
    return []
