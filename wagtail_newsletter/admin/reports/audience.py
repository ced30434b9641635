"""The "Readers" and "Conversions" sections of a campaign's report, and their downloads.

Readers: people's opens and clicks by device type, mail client and country (``track.breakdowns``, one query), each a
bar chart with its table. Conversions: per goal and per link (``growth.conversion_report``, one query), and the
people who converted as a listing with CSV/XLSX downloads like the report's other people listings.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, Count, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from django.views import View
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.mixins import SpreadsheetExportMixin
from wagtail.admin.viewsets.base import ViewSet

from ...growth.conversion_report import campaign_conversions, converted_people
from ...growth.goals import Conversion
from ...send.models import Campaign
from ...track import aggregate
from ...track.breakdowns import audience_breakdowns
from ...track.models import Breakdown
from ..permissions import may_view_campaigns
from . import click_map
from .breakdown_charts import bars_svg
from .exports import PERSON_COLUMNS, PERSON_HEADINGS, PeopleReportView, web_links

NAMESPACE = "newsletter_audience"
TITLES = {
    Breakdown.DEVICE: gettext_lazy("Device type"),
    Breakdown.CLIENT: gettext_lazy("Mail client or browser"),
    Breakdown.COUNTRY: gettext_lazy("Country"),
}


def readers_url(campaign, export_format):
    return reverse(f"{NAMESPACE}:readers", args=[campaign.pk]) + f"?export={export_format}"


def converted_url(campaign, export_format=None):
    return reverse(f"{NAMESPACE}:converted", args=[campaign.pk]) + (f"?export={export_format}" if export_format else "")


def audience_context(campaign):
    """The template context of the two sections (two queries, plus the one for CampaignStats)."""
    breakdowns = audience_breakdowns(campaign)
    sections = []
    for dimension, rows in breakdowns.items():
        title = str(TITLES[dimension])
        sections.append(
            {
                "key": Breakdown(dimension).name.lower(),
                "title": title,
                "rows": [{"row": row, "percent": _percent(row.share)} for row in rows],
                "svg": bars_svg(rows, title, f"report-readers-{Breakdown(dimension).name.lower()}-chart"),
            }
        )
    conversions = campaign_conversions(campaign)
    urls = web_links(campaign)
    link_rows = [
        {"index": index, "url": urls.get(index, ""), "count": count}
        for index, count in sorted(conversions.links.items(), key=lambda item: (-item[1], item[0]))
    ]
    return {
        "readers": breakdowns.readers,
        "reader_sections": sections,
        "readers_csv_url": readers_url(campaign, "csv"),
        "readers_xlsx_url": readers_url(campaign, "xlsx"),
        "conversions": conversions,
        "conversion_links": link_rows,
        "converted_url": converted_url(campaign),
    }


def with_conversions(campaigns):
    """``campaigns`` annotated with their number of conversions (a correlated count on the conversions' campaign
    index: the listing sorts on it in the database)."""
    counted = Conversion.objects.filter(campaign=OuterRef("pk")).order_by().values("campaign").annotate(n=Count("pk"))
    return campaigns.annotate(conversions=Coalesce(Subquery(counted.values("n")), Value(0)))


def _percent(share):
    return click_map.percent(share) if share is not None else "—"


class ReadersExportView(SpreadsheetExportMixin, View):
    """GET ?export=csv|xlsx: every row of the three breakdowns of a campaign (the report shows them)."""

    list_export = ["breakdown", "label", "value", "people", "share", "opens", "clicks"]
    export_headings = {
        "breakdown": gettext_lazy("Breakdown"),
        "label": gettext_lazy("Value"),
        "value": gettext_lazy("Code"),
        "people": gettext_lazy("People"),
        "share": gettext_lazy("Share of readers"),
        "opens": gettext_lazy("Opens"),
        "clicks": gettext_lazy("Clicks"),
    }

    def get(self, request, pk):
        if not may_view_campaigns(request.user):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        aggregate.refresh()
        rows = []
        for dimension, found in audience_breakdowns(campaign).items():
            for row in found:
                rows.append(
                    {
                        "breakdown": str(TITLES[dimension]),
                        "label": row.label.strip(),
                        "value": row.value,
                        "people": row.people,
                        "share": round(row.share, 4) if row.share is not None else "",
                        "opens": row.opens,
                        "clicks": row.clicks,
                    }
                )
        self.export_filename = f"campaign-{campaign.pk}-readers"
        return self.as_spreadsheet(rows, request.GET.get("export") or self.FORMAT_CSV)

    def to_row_dict(self, item):
        return {field: item[field] for field in self.list_export}


class ConvertedView(PeopleReportView):
    """The people whose click led to a goal, with the goal, the link and the time."""

    kind = "converted"
    rows = staticmethod(converted_people)
    title = gettext_lazy("Converted")
    verbose_name_plural = gettext_lazy("conversions")
    columns = [
        *PERSON_COLUMNS,
        Column("goal_name", label=gettext_lazy("Goal")),
        Column("url", label=gettext_lazy("Link")),
        DateColumn("at", label=gettext_lazy("Time")),
    ]
    export_headings = {
        **PERSON_HEADINGS,
        "goal_name": gettext_lazy("Goal"),
        "url": gettext_lazy("Link"),
        "at": gettext_lazy("Time"),
    }

    def get_base_queryset(self):
        urls = [When(link=index, then=Value(url)) for index, url in web_links(self.campaign).items()]
        url = Case(*urls, default=Value(""), output_field=CharField()) if urls else Value("", output_field=CharField())
        return converted_people(self.campaign).annotate(url=url)

    def get_index_url(self):
        return reverse(f"{NAMESPACE}:converted", args=[self.campaign.pk])

    def get_index_results_url(self):
        return reverse(f"{NAMESPACE}:converted_results", args=[self.campaign.pk])


class AudienceReportsViewSet(ViewSet):
    def get_urlpatterns(self):
        return [
            path("<int:pk>/readers/", ReadersExportView.as_view(), name="readers"),
            path("<int:pk>/converted/", ConvertedView.as_view(), name="converted"),
            path("<int:pk>/converted/results/", ConvertedView.as_view(results_only=True), name="converted_results"),
        ]


audience_reports_viewset = AudienceReportsViewSet(NAMESPACE, url_prefix="newsletter/campaigns/audience")
