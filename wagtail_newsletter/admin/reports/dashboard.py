"""The Newsletter panel of the Wagtail dashboard: recent campaigns with their key rates and links to their reports.

Registered with the ``construct_homepage_panels`` hook (wagtail_hooks.py); shown only to users who may see campaigns.
"""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.components import Component

from ...track import stats
from ..permissions import may_view_campaigns
from ..send.wizard import url
from .click_map import percent

RECENT_LIMIT = 5
KEY_RATES = ("open_rate", "click_rate", "unsubscribe_rate", "bounce_rate")  # the columns, in this order


def key_rates(report):
    """The key rates of a CampaignReport as text ("—" when a rate has no denominator yet)."""
    by_key = {rate.key: rate for rate in report.rates}
    cells = []
    for key in KEY_RATES:
        rate = by_key.get(key)
        cells.append(
            {
                "key": key,
                "text": percent(rate.value) if rate and rate.value is not None else "—",
                "verdict": (rate.verdict if rate else None) or "none",
            }
        )
    return cells


class RecentCampaignsPanel(Component):
    name = "newsletter_recent_campaigns"
    template_name = "wagtail_newsletter/admin/report/dashboard_panel.html"
    order = 150
    headings = (_("Open rate"), _("Click rate"), _("Unsubscribe rate"), _("Bounce rate"))

    def get_context_data(self, parent_context):
        reports = stats.recent_reports(limit=RECENT_LIMIT)
        return {
            "rows": [
                {"report": report, "rates": key_rates(report), "report_url": url("report", report.campaign.pk)}
                for report in reports
            ],
            "headings": self.headings,
            "listing_url": reverse("newsletter_reports:index"),
        }


def add_recent_campaigns_panel(request, panels):
    """``construct_homepage_panels``: the panel for those who may see campaigns."""
    if may_view_campaigns(request.user):
        panels.append(RecentCampaignsPanel())
