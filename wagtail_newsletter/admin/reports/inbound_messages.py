"""The "Messages received" listing of the Newsletter menu: every message (or ESP event) the deliverability floor
took in (bounces, complaints, auto-replies, unsubscribes by mail) with what it was about and what was done,
filterable by class, by the way it came in, by campaign and by date, and downloadable as CSV or XLSX.

The rows are ``deliverability.models.InboundMessage``; this only reads them. Who may see it: whoever may see the
campaigns' reports (``permissions.may_view_campaigns``), since the rows name recipients and campaigns.
"""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet

from ...deliverability import verdict
from ...deliverability.models import InboundMessage, InboundVia
from ...send.models import Campaign, CampaignStatus
from ..audience.subscriber_views import neutralise_formula
from ..permissions import may_view_campaigns
from ..send.wizard import url
from .exports import Rows

NAMESPACE = "newsletter_inbound_messages"
UNSUBSCRIBE = "unsubscribe"  # the class of a mail to the List-Unsubscribe address (see InboundMessage.cls)

CLASS_LABELS = {
    verdict.HARD: _("Hard bounce"),
    verdict.SOFT: _("Soft bounce"),
    verdict.TRANSIENT: _("Temporary failure"),
    verdict.POLICY: _("Blocked by policy"),
    verdict.COMPLAINT: _("Complaint"),
    verdict.NONE: _("Not a bounce"),
    UNSUBSCRIBE: _("Unsubscribe by mail"),
}
CLASS_HELP = _(
    "Hard: the address does not exist. Soft: the mailbox is full or unavailable. Temporary: still being retried. "
    "Blocked by policy: the receiver refused the sender or the content. Not a bounce: auto-replies and other mail."
)


def class_label(cls):
    """The class in words ("" when the message could not be read)."""
    return str(CLASS_LABELS.get(cls, cls))


class InboundMessageFilterSet(WagtailFilterSet):
    cls = django_filters.ChoiceFilter(
        label=_("Class"),
        choices=list(CLASS_LABELS.items()),
        empty_label=_("All"),
        widget=forms.RadioSelect,
        help_text=CLASS_HELP,
    )
    via = django_filters.ChoiceFilter(label=_("Received through"), choices=InboundVia.choices, empty_label=_("All"))
    campaign = django_filters.ModelChoiceFilter(
        label=_("Campaign"),
        queryset=Campaign.objects.exclude(status=CampaignStatus.DRAFT).order_by("-started_at", "-pk"),
        empty_label=_("All campaigns"),
    )
    received_at = django_filters.DateFromToRangeFilter(label=_("Received"), widget=DateRangePickerWidget)
    recipient = django_filters.CharFilter(label=_("Recipient"), field_name="recipients", lookup_expr="icontains")

    class Meta:
        model = InboundMessage
        fields = ["cls", "via", "campaign", "received_at", "recipient"]


class ClassColumn(Column):
    def get_value(self, instance):
        return class_label(instance.cls)


class CampaignColumn(Column):
    """The campaign, linked to its report."""

    cell_template_name = "wagtail_newsletter/admin/inbound_messages/campaign_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["url"] = url("report", instance.campaign_id) if instance.campaign_id else ""
        return context


class InboundMessagesView(ReportView):
    page_title = _("Messages received")
    header_icon = "mail"
    model = InboundMessage
    filterset_class = InboundMessageFilterSet
    index_url_name = f"{NAMESPACE}:index"
    index_results_url_name = f"{NAMESPACE}:index_results"
    paginate_by = 50
    verbose_name = _("message received")
    verbose_name_plural = _("messages received")
    columns = [
        DateColumn("received_at", label=_("Received")),
        ClassColumn("cls", label=_("Class")),
        Column("recipients", label=_("Recipients")),
        Column("status", label=_("Status code")),
        CampaignColumn("campaign", label=_("Campaign")),
        Column("outcome", label=_("Outcome")),
        Column("via", label=_("Received through"), accessor="get_via_display"),
    ]
    list_export = [
        "received_at",
        "get_via_display",
        "class_label",
        "kind",
        "status",
        "recipients",
        "campaign_name",
        "outcome",
        "reason",
    ]
    export_headings = {
        "received_at": _("Received"),
        "get_via_display": _("Received through"),
        "class_label": _("Class"),
        "kind": _("Format"),
        "status": _("Status code"),
        "recipients": _("Recipients"),
        "campaign_name": _("Campaign"),
        "outcome": _("Outcome"),
        "reason": _("Reason"),
    }
    export_filename = "messages-received"

    def dispatch(self, request, *args, **kwargs):
        if not may_view_campaigns(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.is_export:  # streamed in chunks: a mailbox can bring back tens of thousands of messages
            return self.as_spreadsheet(Rows(self.get_filtered_queryset()), request.GET.get("export"))
        return super().get(request, *args, **kwargs)

    def get_base_queryset(self):
        return InboundMessage.objects.select_related("campaign").order_by("-received_at", "-id")

    def to_row_dict(self, item):
        item.class_label = class_label(item.cls)
        item.campaign_name = item.campaign.name if item.campaign_id else ""
        return super().to_row_dict(item)

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        # Recipients, outcomes and reasons come from outside (a bounce's text): never a formula in a CSV cell.
        if export_format == self.FORMAT_CSV:
            return neutralise_formula(value)
        return value


class InboundMessagesMenuItem(MenuItem):
    def is_shown(self, request):
        return may_view_campaigns(request.user)


class InboundMessagesViewSet(ViewSet):
    """The "Messages received" item of the Newsletter menu (``admin.viewsets``)."""

    menu_label = _("Messages received")
    icon = "mail"
    add_to_admin_menu = False
    menu_item_class = InboundMessagesMenuItem

    def get_urlpatterns(self):
        return [
            path("", InboundMessagesView.as_view(), name="index"),
            path("results/", InboundMessagesView.as_view(results_only=True), name="index_results"),
        ]


inbound_messages_viewset = InboundMessagesViewSet(NAMESPACE, url_prefix="newsletter/messages-received")
