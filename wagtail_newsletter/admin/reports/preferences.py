"""The "Preference centre" report of the Newsletter menu: what subscribers changed on their preference pages —
topics, language, their fields, pauses, and unsubscribes with their reasons — with the figures above the list
("12 paused instead of unsubscribing", reasons counted), filterable by change, reason, campaign and date, and
downloadable as CSV or XLSX. The campaign report shows the same figures for its own mails (``campaign_summary``).

Who may see it: whoever may see subscribers (the rows name them).
"""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet

from ...audience.models import Subscriber
from ...audience.preference_log import PreferenceChange, PreferenceChangeKind, UnsubscribeReason
from ...growth.preference_report import describe, preference_changes, summarise
from ...send.models import Campaign, CampaignStatus
from ..audience.subscriber_views import neutralise_formula
from ..permissions import user_can_any

NAMESPACE = "newsletter_preference_changes"


class PreferenceChangeFilterSet(WagtailFilterSet):
    kind = django_filters.ChoiceFilter(
        label=_("Change"), choices=PreferenceChangeKind.choices, empty_label=_("All"), widget=forms.RadioSelect
    )
    reason = django_filters.ChoiceFilter(label=_("Reason"), choices=UnsubscribeReason.choices, empty_label=_("All"))
    campaign_id = django_filters.ChoiceFilter(label=_("Campaign"), empty_label=_("All campaigns"))
    created_at = django_filters.DateFromToRangeFilter(label=_("Date"), widget=DateRangePickerWidget)

    class Meta:
        model = PreferenceChange
        fields = ["kind", "reason", "campaign_id", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        started = Campaign.objects.exclude(status=CampaignStatus.DRAFT).order_by("-started_at", "-pk")
        self.filters["campaign_id"].extra["choices"] = [
            (str(pk), name) for pk, name in started.values_list("pk", "name")
        ]


class SubscriberColumn(Column):
    def get_value(self, instance):
        return instance.subscriber.email if instance.subscriber else _("(erased)")


class KindColumn(Column):
    def get_value(self, instance):
        return instance.get_kind_display()


class DetailColumn(Column):
    def get_value(self, instance):
        return describe(instance)


class PreferenceChangesView(ReportView):
    page_title = _("Preference centre")
    header_icon = "user"
    model = PreferenceChange
    index_url_name = f"{NAMESPACE}:index"
    index_results_url_name = f"{NAMESPACE}:index_results"
    results_template_name = "wagtail_newsletter/admin/report/preference_changes_results.html"
    filterset_class = PreferenceChangeFilterSet
    no_results_message = _("No subscriber has changed their preferences yet.")
    columns = [
        SubscriberColumn("subscriber", label=_("Subscriber")),
        KindColumn("kind", label=_("Change")),
        DetailColumn("detail", label=_("What changed")),
        DateColumn("created_at", label=_("When")),
    ]
    list_export = [
        "subscriber_email",
        "get_kind_display",
        "detail",
        "reason",
        "reason_text",
        "campaign_id",
        "created_at",
    ]
    export_headings = {
        "subscriber_email": _("Subscriber"),
        "get_kind_display": _("Change"),
        "detail": _("What changed"),
        "reason": _("Reason"),
        "reason_text": _("Reason in their words"),
        "campaign_id": _("Campaign"),
        "created_at": _("When"),
    }
    export_filename = "preference-changes"

    def dispatch(self, request, *args, **kwargs):
        if not user_can_any(request.user, Subscriber):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return PreferenceChange.objects.select_related("subscriber").order_by("-created_at", "-id")

    def to_row_dict(self, item):
        values = {
            "subscriber_email": item.subscriber.email if item.subscriber else "",
            "get_kind_display": item.get_kind_display(),
            "detail": describe(item),
            "reason": item.get_reason_display() if item.reason else "",
            "reason_text": item.reason_text,
            "campaign_id": item.campaign_id,
            "created_at": item.created_at,
        }
        # Subscribers typed some of these texts: a spreadsheet must not evaluate them.
        return {name: neutralise_formula(values[name]) for name in self.list_export}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The figures of what the filters selected (a few aggregate queries, not one per row).
        context["summary"] = summarise(self.filters.qs if self.filters is not None else preference_changes())
        return context


class PreferencesMenuItem(MenuItem):
    def is_shown(self, request):
        return user_can_any(request.user, Subscriber)


class PreferenceChangesViewSet(ViewSet):
    """The "Preference centre" item of the Newsletter menu (``admin.viewsets``)."""

    menu_label = _("Preference centre")
    icon = "user"
    add_to_admin_menu = False
    menu_item_class = PreferencesMenuItem

    def get_urlpatterns(self):
        return [
            path("", PreferenceChangesView.as_view(), name="index"),
            path("results/", PreferenceChangesView.as_view(results_only=True), name="index_results"),
        ]


preference_changes_viewset = PreferenceChangesViewSet(NAMESPACE, url_prefix="newsletter/preference-centre")


def campaign_summary(campaign):
    """The preference centre's figures for the mails of ``campaign`` (None when nobody used it), and the link to
    its changes in the report."""
    summary = summarise(preference_changes(campaign_id=campaign.pk))
    if not summary.total:
        return None
    summary.url = reverse(f"{NAMESPACE}:index") + f"?campaign_id={campaign.pk}"
    return summary
