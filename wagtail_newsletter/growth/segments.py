"""Segments: saved, named conditions over subscribers (a snippet), and the campaigns that include or exclude them.

The conditions are JSON data checked by ``conditions.validate`` and compiled by ``segment_sql`` into one query; no
SQL text ever comes from an editor. A campaign's segments reach the planner through the audience hook this floor
registers (``send.planner.set_segment_audience``), so planning stays one ``INSERT … SELECT``.
"""

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..audience.models import Subscriber
from ..send.models import Campaign
from . import reader_conditions  # noqa: F401  (registers the device, client, country and goal behaviours)
from .conditions import ConditionError, validate
from .segment_sql import segment_q


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    conditions = models.JSONField(
        _("conditions"),
        default=dict,
        blank=True,
        encoder=DjangoJSONEncoder,
        help_text=_("Who belongs to the segment; empty: every subscriber."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self):
        return self.name

    def clean(self):
        try:
            self.conditions = validate(self.conditions)
        except ConditionError as error:
            raise ValidationError({"conditions": error.messages}) from error

    def save(self, *args, **kwargs):
        self.updated_at = timezone.now()
        super().save(*args, **kwargs)

    def q(self, now=None):
        """The ``Q`` over subscribers of this segment, now."""
        return segment_q(self.conditions, now)

    def subscribers(self, now=None):
        """Its subscribers (not deleted; any status): one query."""
        return Subscriber.objects.filter(self.q(now))


class CampaignSegment(models.Model):
    """A segment a campaign goes to (beside its groups) or leaves out."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="segment_links")
    # Protected: deleting a segment must not silently widen or empty the audience of a campaign that names it.
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaign_links")
    exclude = models.BooleanField(_("leave out"), default=False)

    class Meta:
        verbose_name = _("campaign segment")
        verbose_name_plural = _("campaign segments")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "segment"], name="wagtail_newsletter_campaignsegment_unique")
        ]

    def __str__(self):
        return f"{self.campaign_id} {'-' if self.exclude else '+'}{self.segment_id}"


def segment_ids(campaign):
    """([included segment ids], [excluded segment ids]) of ``campaign``."""
    include, exclude = [], []
    for pk, excluded in CampaignSegment.objects.filter(campaign=campaign).values_list("segment_id", "exclude"):
        (exclude if excluded else include).append(pk)
    return include, exclude


def set_campaign_segments(campaign, include_ids=(), exclude_ids=()):
    """Replace the segments ``campaign`` includes and excludes (a segment in both is excluded)."""
    exclude_ids = list(dict.fromkeys(exclude_ids))
    include_ids = [pk for pk in dict.fromkeys(include_ids) if pk not in exclude_ids]
    CampaignSegment.objects.filter(campaign=campaign).delete()
    CampaignSegment.objects.bulk_create(
        [CampaignSegment(campaign=campaign, segment_id=pk) for pk in include_ids]
        + [CampaignSegment(campaign=campaign, segment_id=pk, exclude=True) for pk in exclude_ids]
    )


def segments_q(ids, now=None):
    """People in any of the segments ``ids``: their conditions OR-ed (one query, however many segments)."""
    result = Q(pk__in=[])
    for segment in Segment.objects.filter(pk__in=ids):
        result |= segment.q(now)
    return result


def campaign_segment_audience(campaign):
    """(Q of people the campaign's included segments add or None, Q of people its excluded segments leave out or None),
    for ``send.planner``."""
    include, exclude = segment_ids(campaign)
    return (segments_q(include) if include else None, segments_q(exclude) if exclude else None)


def campaigns_using(segment):
    return Campaign.objects.filter(Exists(CampaignSegment.objects.filter(campaign=OuterRef("pk"), segment=segment)))
