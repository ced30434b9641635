"""A campaign's report in the admin: counts, rates with healthy ranges, the timeline chart, the links and the click
map, refreshed live while the campaign is sending.

Everything read here comes from ``track.stats`` (the aggregated tables, never the events); each page and each poll
first folds the latest events within ``AGGREGATE_BUDGET_SECONDS`` (``track.aggregate.refresh``).
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, FloatField, Q, Value, When
from django.db.models.functions import Cast, Coalesce, Greatest, NullIf
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.generic import TemplateView
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn, TitleColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.widgets.button import Button, ButtonWithDropdown, HeaderButton

from ...deliverability import guards
from ...send.models import Campaign, CampaignStatus, DeliveryStatus
from ...track import aggregate, stats
from ..permissions import may_view_campaigns
from ..send.campaign_views import CampaignObjectMixin, StatusColumn, deliveries_with_status
from ..send.pauses import guard_pause
from ..send.wizard import campaign_breadcrumbs, url
from . import audience, charts, click_map
from .ab_tests import campaign_ab_section
from .exports import export_links, follow_up_links, link_clickers_url
from .languages import language_report
from .preferences import campaign_summary

POLL_INTERVAL_MS = 5000
PARTS = ("summary", "timeline", "links")  # the live parts: templates report/<part>.html
NOT_SENT = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)
VERDICTS = {
    "good": ("good", "#d1fadf", "#05603a"),
    "watch": ("watch", "#fef0c7", "#93370d"),
    "bad": ("bad", "#fee4e2", "#912018"),
}


@dataclass(frozen=True)
class Card:
    """One figure of the report: ``key`` is the CampaignReport field (also the card's ``data-stat``)."""

    key: str
    value: int
    label: str
    detail: str = ""


def stat_cards(report):
    """The counts of a ``CampaignReport``, with labels in the right plural."""
    failed = (
        ngettext("%(count)s could not be sent", "%(count)s could not be sent", report.failed) % {"count": report.failed}
        if report.failed
        else ""
    )
    bounces = report.hard_bounces + report.soft_bounces
    return [
        Card("sent", report.sent, ngettext("message sent", "messages sent", report.sent), failed),
        Card("delivered", report.delivered, _("delivered"), _("sent, less bounces")),
        Card(
            "bounces",
            bounces,
            ngettext("bounce", "bounces", bounces),
            _("%(hard)s hard, %(soft)s soft") % {"hard": report.hard_bounces, "soft": report.soft_bounces},
        ),
        Card(
            "opens",
            report.opens,
            ngettext("open", "opens", report.opens),
            _("by people, every time; someone who clicked without a recorded open counts as one open"),
        ),
        Card(
            "unique_opens",
            report.unique_opens,
            ngettext("unique open", "unique opens", report.unique_opens),
            _("recipients who opened it, or clicked a link in it"),
        ),
        Card("clicks", report.clicks, ngettext("click", "clicks", report.clicks), _("by people, every time")),
        Card(
            "unique_clicks",
            report.unique_clicks,
            ngettext("unique click", "unique clicks", report.unique_clicks),
            _("recipients who clicked"),
        ),
        Card(
            "unsubscribes",
            report.unsubscribes,
            ngettext("unsubscribe", "unsubscribes", report.unsubscribes),
            _("through this campaign's link"),
        ),
        Card(
            "complaints",
            report.complaints,
            ngettext("complaint", "complaints", report.complaints),
            _("marked as spam"),
        ),
    ]


def verdict_label(verdict):
    return {"good": _("Healthy"), "watch": _("Watch"), "bad": _("Needs attention")}.get(verdict, _("Not enough data"))


def rate_rows(report):
    """Each Rate with what the template shows: the percentage, the verdict's words and colours."""
    rows = []
    for rate in report.rates:
        name, background, colour = VERDICTS.get(rate.verdict, ("none", "#eaecf0", "#344054"))
        rows.append(
            {
                "rate": rate,
                "percent": click_map.percent(rate.value) if rate.value is not None else "—",
                "verdict": name,
                "verdict_label": verdict_label(rate.verdict),
                "style": f"background:{background};color:{colour};border-color:{colour}",
            }
        )
    return rows


def link_table(campaign, rows):
    """Link rows with their share as a percentage (text, and the bar's width) and their clickers' listing."""
    return [
        {
            "row": row,
            "percent": click_map.percent(row.share),
            "width": f"{100 * (row.share or 0):.1f}",
            "clickers_url": link_clickers_url(campaign, row.index) if row.clicks else "",
        }
        for row in rows
    ]


def report_parts(campaign):
    """The context of the live parts of the report (summary, timeline, links), read from the aggregated tables."""
    report = stats.campaign_report(campaign)
    timeline = stats.timeline(campaign)
    links = stats.link_rows(campaign)
    return {
        "campaign": campaign,
        "report": report,
        "cards": stat_cards(report),
        "rates": rate_rows(report),
        "timeline": timeline,
        "timeline_svg": charts.timeline_svg(timeline),
        "timeline_rows": charts.chart_points(timeline),
        "links": link_table(campaign, links),
        "live": is_live(campaign),
    }


def is_live(campaign):
    """Poll while messages are still going out (or waiting to)."""
    return campaign.status in (CampaignStatus.SENDING, CampaignStatus.PAUSED)


def live_data(parts):
    """The JSON of a poll: the figures, and the live parts as HTML fragments rendered by the page's templates."""
    report = parts["report"]
    figures = (
        "recipients sent failed delivered hard_bounces soft_bounces opens unique_opens machine_opens machine_openers "
        "clicks unique_clicks machine_clicks unsubscribes complaints"
    ).split()
    return {
        "status": parts["campaign"].status,
        "live": parts["live"],
        "updated_at": report.updated_at.isoformat() if report.updated_at else None,
        "stats": {name: getattr(report, name) for name in figures},
        "rates": {rate.key: rate.value for rate in report.rates},
        "links": [
            {"index": row.index, "clicks": row.clicks, "share": row.share}
            for row in (item["row"] for item in parts["links"])
        ],
        "html": {name: render_to_string(f"wagtail_newsletter/admin/report/{name}.html", parts) for name in PARTS},
    }


class CampaignReportView(CampaignObjectMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_newsletter/admin/report/report.html"
    header_icon = "table"

    def get_page_title(self):
        return _("Report")

    def get_page_subtitle(self):
        return self.campaign.name

    def get_breadcrumbs_items(self):
        return campaign_breadcrumbs(self, self.campaign, _("Report"))

    @property
    def header_buttons(self):
        """Back to the campaign; the people behind the figures (H4's listings and exports); follow-ups."""
        campaign = self.campaign
        buttons = [HeaderButton(_("Campaign"), url=url("detail", campaign.pk), icon_name="mail", priority=10)]
        if campaign.status in NOT_SENT:
            return buttons
        groups = (
            (_("People and exports"), "download", export_links(campaign), "data-report-exports", 20),
            (_("Resend"), "resubmit", follow_up_links(campaign, self.request.user), "data-report-follow-ups", 30),
        )
        for label, icon, links, marker, priority in groups:
            if links:
                items = [Button(text, url=link, priority=n) for n, (text, link) in enumerate(links)]  # in their order
                attrs = {marker: ""}
                buttons.append(ButtonWithDropdown(label, icon_name=icon, buttons=items, attrs=attrs, priority=priority))
        return buttons

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.campaign
        context["not_sent"] = campaign.status in NOT_SENT
        context.update(campaign_ab_section(campaign, self.request.user))  # the A/B test it is part of, if any
        if context["not_sent"]:
            return context
        aggregate.refresh()
        context.update(report_parts(campaign))
        blocked, delayed = guards.blocked_and_delayed(campaign.pk)
        context.update(
            guard_pause=guard_pause(campaign),
            Status=CampaignStatus,
            blocked_count=blocked,
            delayed_count=delayed,
            live_url=url("report_live", campaign.pk),
            click_map_url=url("click_map", campaign.pk),
            poll_interval=POLL_INTERVAL_MS,
            preference_summary=campaign_summary(campaign),  # what its readers did on their preference pages
        )
        context.update(audience.audience_context(campaign))  # readers and conversions: not part of the live poll
        context["languages"] = language_report(campaign)  # sends, opens and clicks per translation
        return context


class ReportLiveView(CampaignObjectMixin, View):
    """JSON polled by campaign_report.js while the campaign is sending: fold what is new, then read the report."""

    def get(self, request, pk):
        aggregate.refresh()
        return JsonResponse(live_data(report_parts(self.campaign)))


@method_decorator(xframe_options_sameorigin, name="dispatch")
class ClickMapView(CampaignObjectMixin, View):
    """The click map's document, for the report page's sandboxed iframe: no script runs, no link leads anywhere."""

    def get(self, request, pk):
        html = click_map.click_map_html(self.campaign, stats.link_rows(self.campaign))
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = click_map.CLICK_MAP_CSP
        response["Referrer-Policy"] = "no-referrer"  # the mail's images are fetched without the admin's URL
        response["X-Content-Type-Options"] = "nosniff"
        return response


# The "Reports" entry of the Newsletter menu: every campaign that went out, with its key rates, sortable, exportable.


def with_rates(queryset):
    """Sent count and the key rates as annotations, so the listing sorts on them in the database (same definitions
    as ``track.stats``; a campaign without statistics yet has counts of 0)."""

    def count(name):
        return Coalesce(F(f"stats__{name}"), Value(0))

    def ratio(numerator, denominator):
        return Cast(numerator, FloatField()) / NullIf(Cast(denominator, FloatField()), Value(0.0))

    def delivery_count(name, status):
        # The copy the every-minute schedule keeps (track.delivery_counts), so that sorting a page by rate does not
        # count each campaign's deliveries several times over; a campaign never counted yet is counted live.
        copied = Q(stats__counted_at__isnull=False)
        return Case(When(copied, then=F(f"stats__{name}")), default=Coalesce(deliveries_with_status(status), 0))

    queryset = queryset.annotate(
        sent_count=delivery_count("sent", DeliveryStatus.SENT),
        bounces=count("hard_bounces") + count("soft_bounces"),
        unique_opens=count("unique_opens"),
        unique_clicks=count("unique_clicks"),
        unsubscribes=count("unsubscribes"),
    )
    # What went out: accepted or refused for good (a refusal is a bounce too; see track.stats.build_report).
    queryset = queryset.annotate(went_out=F("sent_count") + delivery_count("failed", DeliveryStatus.FAILED))
    queryset = queryset.annotate(delivered=Greatest(F("went_out") - F("bounces"), Value(0)))
    return queryset.annotate(
        open_rate=ratio(F("unique_opens"), F("delivered")),
        click_rate=ratio(F("unique_clicks"), F("delivered")),
        unsubscribe_rate=ratio(F("unsubscribes"), F("delivered")),
        bounce_rate=ratio(F("bounces"), F("went_out")),
    )


class RateColumn(Column):
    """A rate (0..1 or None) as a percentage; sortable on its annotation."""

    def __init__(self, name, **kwargs):
        super().__init__(name, sort_key=name, **kwargs)

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        raw = context["raw_value"]
        context["value"] = click_map.percent(raw) if raw is not None else "—"
        return context


class CampaignReportsView(ReportView):
    """Campaigns that went out, newest first, with links to their reports."""

    page_title = gettext_lazy("Reports")
    header_icon = "table"
    model = Campaign
    index_url_name = "newsletter_reports:index"
    index_results_url_name = "newsletter_reports:index_results"
    default_ordering = "-started_at"
    columns = [
        TitleColumn(
            "name", label=gettext_lazy("Campaign"), get_url=lambda campaign: url("report", campaign.pk), sort_key="name"
        ),  # fmt: skip
        StatusColumn("status", label=gettext_lazy("Status"), sort_key="status"),
        DateColumn("started_at", label=gettext_lazy("Started"), sort_key="started_at"),
        NumberColumn("sent_count", label=gettext_lazy("Sent"), sort_key="sent_count"),
        RateColumn("open_rate", label=gettext_lazy("Open rate")),
        RateColumn("click_rate", label=gettext_lazy("Click rate")),
        RateColumn("unsubscribe_rate", label=gettext_lazy("Unsubscribe rate")),
        RateColumn("bounce_rate", label=gettext_lazy("Bounce rate")),
        NumberColumn("conversions", label=gettext_lazy("Conversions"), sort_key="conversions"),
    ]
    list_export = ["name", "get_status_display", "started_at", "sent_count", *(c.name for c in columns[4:])]
    export_headings = {
        "name": gettext_lazy("Campaign"),
        "get_status_display": gettext_lazy("Status"),
        "started_at": gettext_lazy("Started"),
        "sent_count": gettext_lazy("Sent"),
        "open_rate": gettext_lazy("Open rate"),
        "click_rate": gettext_lazy("Click rate"),
        "unsubscribe_rate": gettext_lazy("Unsubscribe rate"),
        "bounce_rate": gettext_lazy("Bounce rate"),
        "conversions": gettext_lazy("Conversions"),
    }
    export_filename = "campaign-reports"

    def dispatch(self, request, *args, **kwargs):
        if not may_view_campaigns(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return audience.with_conversions(with_rates(Campaign.objects.exclude(status__in=NOT_SENT)))


class ReportsMenuItem(MenuItem):
    def is_shown(self, request):
        return may_view_campaigns(request.user)


class ReportsViewSet(ViewSet):
    """The "Reports" item of the Newsletter menu (``admin.viewsets``)."""

    menu_label = gettext_lazy("Reports")
    icon = "table"
    add_to_admin_menu = False
    menu_item_class = ReportsMenuItem

    def get_urlpatterns(self):
        return [
            path("", CampaignReportsView.as_view(), name="index"),
            path("results/", CampaignReportsView.as_view(results_only=True), name="index_results"),
        ]


reports_viewset = ReportsViewSet("newsletter_reports", url_prefix="newsletter/reports")
