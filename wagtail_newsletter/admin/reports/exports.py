"""Who did what with a campaign: openers, clickers (all links or one), bounced, unsubscribed and complained, each a
Wagtail report (a paginated listing with "Download CSV / XLSX" buttons), and the follow-up actions.

Rows come from the aggregated per-recipient tables (``Activity``, ``LinkActivity``) and the deliveries, read as
plain values in ONE query whatever their number; a download streams them in chunks (``iterator``), never one query
per row. Only human opens and clicks are listed (see docs/editors/exports.md). People whose data was erased, or is
being erased on request, are left out: their rows carry no address any more, or must not be handed out again.

Viewing needs what viewing a campaign needs (``permissions.may_view_campaigns``); follow-ups need the send permission.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.functions import Coalesce, Concat, Trim
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet

from ...growth import follow_ups
from ...send.links import is_web
from ...send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, FollowUp
from ...track import aggregate
from ...track.models import Activity, LinkActivity
from ..audience.subscriber_views import neutralise_formula
from ..permissions import can_send, may_view_campaigns
from ..send.entry import FollowUpView
from ..send.wizard import campaign_breadcrumbs

NAMESPACE = "newsletter_campaign_tools"
STREAM_CHUNK = 2000


def web_links(campaign):
    """{index: URL} of the campaign's tracked web links (from its compiled link table; no query)."""
    links = (campaign.compiled or {}).get("links") or []
    return {row[0]: row[2] for row in links if is_web(str(row[2]))}


def _person(prefix):
    """Email and name of the subscriber at ``prefix`` (e.g. ``delivery__subscriber``)."""
    return {
        "email": F(f"{prefix}__email"),
        "name": Trim(Concat(f"{prefix}__first_name", Value(" "), f"{prefix}__last_name", output_field=CharField())),
    }


def _known(prefix):
    """Rows of subscribers still on record: erased ones (no subscriber) and those being erased are left out."""
    return Q(**{f"{prefix}__isnull": False, f"{prefix}__erase_after__isnull": True})


def openers(campaign):
    person = "delivery__subscriber"
    return (
        Activity.objects.filter(_known(person), campaign=campaign, first_open_at__isnull=False)
        .values("first_open_at", "opens", **_person(person))
        .order_by("first_open_at", "delivery_id")
    )


def clickers(campaign, link=None):
    """One row per person and link clicked (``link``: that index only)."""
    person = "delivery__subscriber"
    rows = LinkActivity.objects.filter(_known(person), campaign=campaign)
    if link is not None:
        rows = rows.filter(link=link)
    urls = [When(link=index, then=Value(url)) for index, url in web_links(campaign).items()]
    url = Case(*urls, default=Value(""), output_field=CharField()) if urls else Value("", output_field=CharField())
    return rows.values("first_click_at", "clicks", "link", url=url, **_person(person)).order_by(
        "first_click_at", "delivery_id", "link"
    )


def bounced(campaign):
    """Bounces reported after sending (``Activity``) and messages the relay refused (failed deliveries)."""
    reported = Q(activity__bounced_at__isnull=False)
    hard = Case(
        When(reported & Q(activity__hard_bounce=True), then=Value(gettext("hard"))),
        When(reported, then=Value(gettext("soft"))),
        When(smtp_code__gte=500, then=Value(gettext("hard"))),
        default=Value(gettext("soft")),
        output_field=CharField(),
    )
    answer = Case(
        When(reported & ~Q(activity__bounce_detail=""), then=F("activity__bounce_detail")),
        default=F("error"),
        output_field=CharField(),
    )
    return (
        Delivery.objects.filter(_known("subscriber"), campaign=campaign)
        .filter(reported | Q(status=DeliveryStatus.FAILED))
        .values(
            "smtp_code",
            kind=hard,
            answer=answer,
            at=Coalesce("activity__bounced_at", "sent_at"),
            **_person("subscriber"),
        )
        .order_by("id")
    )


def _dated(field):
    def rows(campaign):
        person = "delivery__subscriber"
        return (
            Activity.objects.filter(_known(person), campaign=campaign, **{f"{field}__isnull": False})
            .values(at=F(field), **_person(person))
            .order_by(field, "delivery_id")
        )

    return rows


unsubscribed = _dated("unsubscribed_at")
complained = _dated("complained_at")


class Rows:
    """A queryset handed to Wagtail's spreadsheet writers so that they stream it in chunks instead of loading it."""

    def __init__(self, queryset):
        self.queryset = queryset
        self.model = queryset.model

    def __iter__(self):
        return self.queryset.iterator(chunk_size=STREAM_CHUNK)


class PeopleReportView(ReportView):
    """A listing of the people of one campaign who did something, with CSV and XLSX downloads."""

    kind = None  # the URL name, e.g. "openers"
    rows = None  # a function campaign -> values queryset
    title = None
    results_template_name = "wagtailadmin/reports/base_report_results.html"
    header_icon = "download"
    paginate_by = 100
    export_headings = {}

    def dispatch(self, request, *args, **kwargs):
        if not may_view_campaigns(request.user):
            raise PermissionDenied
        self.campaign = get_object_or_404(Campaign, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        aggregate.refresh()  # fold the latest events first (bounded; skipped when another run is folding)
        if self.is_export:  # straight to the writer: no page context, no count, no loading the rows first
            return self.as_spreadsheet(Rows(self.get_filtered_queryset()), request.GET.get("export"))
        return super().get(request, *args, **kwargs)

    def get_base_queryset(self):
        return type(self).rows(self.campaign)

    @property
    def list_export(self):
        return list(self.export_headings)

    def get_page_title(self):
        return self.title

    def get_page_subtitle(self):
        return self.campaign.name

    def get_filename(self):
        return f"campaign-{self.campaign.pk}-{self.kind}"

    def get_index_url(self):
        return reverse(f"{NAMESPACE}:{self.kind}", args=[self.campaign.pk]) + self.query_suffix()

    def get_index_results_url(self):
        return reverse(f"{NAMESPACE}:{self.kind}_results", args=[self.campaign.pk]) + self.query_suffix()

    def query_suffix(self):
        return ""

    def get_breadcrumbs_items(self):
        return campaign_breadcrumbs(self, self.campaign, self.title)

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        # Addresses, names and server answers come from outside: a CSV cell must never become a formula.
        # (Wagtail's XLSX writer already stores formula-looking text as text.)
        if export_format == self.FORMAT_CSV:
            return neutralise_formula(value)
        return value


PERSON_COLUMNS = [Column("email", label=_("Email")), Column("name", label=_("Name"))]
PERSON_HEADINGS = {"email": _("Email"), "name": _("Name")}


class OpenersView(PeopleReportView):
    kind = "openers"
    rows = staticmethod(openers)
    title = _("Openers")
    verbose_name_plural = _("openers")
    columns = [
        *PERSON_COLUMNS,
        DateColumn("first_open_at", label=_("First open")),
        NumberColumn("opens", label=_("Opens")),
    ]
    export_headings = {**PERSON_HEADINGS, "first_open_at": _("First open"), "opens": _("Opens")}


class ClickersView(PeopleReportView):
    """All links, or the one at ``?link=<index>`` (an index that is not a web link of the campaign: 404)."""

    kind = "clickers"
    rows = None
    title = _("Clickers")
    verbose_name_plural = _("clickers")
    columns = [
        *PERSON_COLUMNS,
        DateColumn("first_click_at", label=_("First click")),
        NumberColumn("clicks", label=_("Clicks")),
        Column("url", label=_("Link")),
    ]
    export_headings = {**PERSON_HEADINGS, "first_click_at": _("First click"), "clicks": _("Clicks"), "url": _("Link")}

    @cached_property
    def link(self):
        raw = self.request.GET.get("link", "")
        if raw == "":
            return None
        if not raw.isdigit() or int(raw) not in web_links(self.campaign):
            raise Http404(gettext("This campaign has no link with that number."))
        return int(raw)

    def get_base_queryset(self):
        return clickers(self.campaign, self.link)

    def get_page_title(self):
        if self.link is None:
            return self.title
        return gettext("Clickers of %(url)s") % {"url": web_links(self.campaign)[self.link]}

    def get_filename(self):
        suffix = "" if self.link is None else f"-link-{self.link}"
        return super().get_filename() + suffix

    def query_suffix(self):
        return "" if self.link is None else f"?link={self.link}"


class BouncedView(PeopleReportView):
    kind = "bounced"
    rows = staticmethod(bounced)
    title = _("Bounced")
    verbose_name_plural = _("bounces")
    columns = [
        *PERSON_COLUMNS,
        Column("kind", label=_("Bounce")),
        Column("smtp_code", label=_("Code")),
        Column("answer", label=_("Server's answer")),
        DateColumn("at", label=_("Time")),
    ]
    export_headings = {
        **PERSON_HEADINGS,
        "kind": _("Bounce"),
        "smtp_code": _("Code"),
        "answer": _("Server's answer"),
        "at": _("Time"),
    }


class UnsubscribedView(PeopleReportView):
    kind = "unsubscribed"
    rows = staticmethod(unsubscribed)
    title = _("Unsubscribed")
    verbose_name_plural = _("unsubscribes")
    columns = [*PERSON_COLUMNS, DateColumn("at", label=_("Time"))]
    export_headings = {**PERSON_HEADINGS, "at": _("Time")}


class ComplainedView(PeopleReportView):
    kind = "complained"
    rows = staticmethod(complained)
    title = _("Complained")
    verbose_name_plural = _("complaints")
    columns = [*PERSON_COLUMNS, DateColumn("at", label=_("Time"))]
    export_headings = {**PERSON_HEADINGS, "at": _("Time")}


EXPORT_VIEWS = [OpenersView, ClickersView, BouncedView, UnsubscribedView, ComplainedView]
KINDS = [view.kind for view in EXPORT_VIEWS]


def export_url(campaign, kind, export_format=None, link=None):
    """The listing of ``kind`` (or its download in ``export_format``: "csv" or "xlsx")."""
    query = {}
    if link is not None:
        query["link"] = link
    if export_format:
        query["export"] = export_format
    suffix = "?" + "&".join(f"{key}={value}" for key, value in query.items()) if query else ""
    return reverse(f"{NAMESPACE}:{kind}", args=[campaign.pk]) + suffix


def export_links(campaign, export_format=None):
    """[(label, url)] of the campaign's people listings (each with CSV and XLSX downloads), or straight to the
    downloads in ``export_format``; nothing before the campaign has started."""
    if campaign.started_at is None and campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        return []
    return [(str(view.title), export_url(campaign, view.kind, export_format)) for view in EXPORT_VIEWS]


def link_clickers_url(campaign, index, export_format=None):
    """The clickers of one link (for the per-link table of the report)."""
    return export_url(campaign, "clickers", export_format, link=index)


FOLLOW_UP_LABELS = {
    FollowUp.NON_OPENERS: _("Resend to non-openers"),
    FollowUp.NON_CLICKERS: _("Resend to non-clickers"),
    FollowUp.NEWCOMERS: _("Send to subscribers added since"),
}


def follow_up_url(campaign, kind):
    return reverse(f"{NAMESPACE}:follow_up", args=[campaign.pk, kind])


def follow_up_links(campaign, user=None):
    """[(label, url)] of the follow-ups of a started campaign, for a ``user`` who may send (None: don't check).
    Each URL shows the follow-up's audience and count; its button creates the draft and opens the send wizard."""
    if user is not None and not can_send(user):
        return []
    return [
        (str(FOLLOW_UP_LABELS[kind]), follow_up_url(campaign, kind)) for kind in follow_ups.available_kinds(campaign)
    ]


class CampaignToolsViewSet(ViewSet):
    """Admin URLs under a campaign: its people listings and exports, and its follow-ups."""

    def get_urlpatterns(self):
        patterns = [
            path("<int:pk>/follow-up/<str:kind>/", FollowUpView.as_view(), name="follow_up"),
        ]
        for view in EXPORT_VIEWS:
            patterns += [
                path(f"<int:pk>/{view.kind}/", view.as_view(), name=view.kind),
                path(f"<int:pk>/{view.kind}/results/", view.as_view(results_only=True), name=f"{view.kind}_results"),
            ]
        return patterns


campaign_tools_viewset = CampaignToolsViewSet(NAMESPACE, url_prefix="newsletter/campaigns")
