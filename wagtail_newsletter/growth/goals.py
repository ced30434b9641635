"""Goals (pages of the site a newsletter should bring people to) and the conversions counted when they reach one.

A ``Goal`` names a Wagtail page and what counts: a visit of the page, or a form submitted on it (a form page of
``wagtail.contrib.forms``). A ``Conversion`` is one recipient's message of one campaign reaching one goal: one row per
delivery and goal at most, attributed to the campaign and to the link whose click brought them (conversions.py).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..send.models import Campaign, Delivery


class Goal(models.Model):
    VISIT = "visit"
    FORM = "form"
    TRIGGERS = [(VISIT, _("a visit of the page")), (FORM, _("a form submitted on the page"))]

    name = models.CharField(_("name"), max_length=150)
    page = models.ForeignKey("wagtailcore.Page", verbose_name=_("page"), on_delete=models.CASCADE, related_name="+")
    trigger = models.CharField(
        _("counts"),
        max_length=10,
        choices=TRIGGERS,
        default=VISIT,
        help_text=_("A form submission counts only when the form was valid and saved (a form page's submission)."),
    )
    active = models.BooleanField(_("active"), default=True, help_text=_("Inactive goals count nothing."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["page", "trigger"], name="wagtail_newsletter_goal_page_trigger_unique")
        ]

    def __str__(self):
        return self.name


class Conversion(models.Model):
    """One delivery reaching one goal, within CONVERSION_DAYS of a click on one of its links."""

    delivery = models.ForeignKey(Delivery, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="+", db_index=False)
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="conversions")
    link = models.PositiveSmallIntegerField()  # the index in the campaign's link table of the click that led here
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("conversion")
        verbose_name_plural = _("conversions")
        constraints = [
            models.UniqueConstraint(fields=["delivery", "goal"], name="wagtail_newsletter_conversion_unique")
        ]
        indexes = [models.Index(fields=["campaign", "goal", "link"], name="wn_conversion_campaign")]

    def __str__(self):
        return f"{self.goal_id}: {self.delivery_id}"
