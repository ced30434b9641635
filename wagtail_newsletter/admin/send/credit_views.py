"""The "Credits" admin page: balance (free / purchased), the monthly level, this hour's quota, the ledger as a
Wagtail report (filters, CSV/XLSX export) and a form to record a purchase.

Shown only when ``CREDITS_ENABLED``. Viewing needs any permission on credit entries (superusers have them all);
recording a purchase needs ``wagtail_newsletter.add_creditentry``.
"""

import django_filters
from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin import messages
from wagtail.admin.admin_url_finder import AdminURLFinder
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn, UserColumn
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet

from ...send import credits, quotas
from ...send.models import CreditEntry
from ..permissions import user_can, user_can_any


def can_view(user):
    return user_can_any(user, CreditEntry)


def can_purchase(user):
    return user_can(user, CreditEntry, "add")


class PurchaseForm(forms.Form):
    amount = forms.IntegerField(label=_("Credits bought"), min_value=1, max_value=1_000_000_000)
    note = forms.CharField(
        label=_("Note"), max_length=255, required=False, help_text=_("For example the order or invoice number.")
    )


class CreditEntryFilterSet(WagtailFilterSet):
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=CreditEntry.Kind.choices, widget=forms.RadioSelect, empty_label=_("All")
    )
    created_at = django_filters.DateFromToRangeFilter(label=_("Date"), widget=DateRangePickerWidget)

    class Meta:
        model = CreditEntry
        fields = ["kind", "created_at"]


class SignedNumberColumn(NumberColumn):
    """Credits added show a plus sign, so a top-up and a charge read differently at a glance."""

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        if context["raw_value"] > 0:
            context["value"] = f"+{context['value']}"
        return context


class CampaignColumn(Column):
    """The campaign, linked to its admin page when it has one."""

    cell_template_name = "wagtail_newsletter/admin/credits_campaign_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        campaign = instance.campaign
        context["url"] = campaign and AdminURLFinder(parent_context["request"].user).get_edit_url(campaign)
        return context


class CreditsView(ReportView):
    template_name = "wagtail_newsletter/admin/credits.html"
    page_title = _("Credits")
    header_icon = "clipboard-list"
    model = CreditEntry
    filterset_class = CreditEntryFilterSet
    index_url_name = "newsletter_credits:index"
    index_results_url_name = "newsletter_credits:index_results"
    paginate_by = 50
    verbose_name = _("credit entry")
    verbose_name_plural = _("credit entries")
    columns = [
        DateColumn("created_at", label=_("Date")),
        Column("kind", label=_("Kind"), accessor="get_kind_display"),
        SignedNumberColumn("amount", label=_("Credits")),
        NumberColumn("balance", label=_("Balance after")),
        CampaignColumn("campaign", label=_("Campaign")),
        Column("note", label=_("Note")),
        UserColumn("actor", label=_("By")),
    ]
    list_export = ["created_at", "get_kind_display", "amount", "balance", "campaign", "note", "actor"]
    export_headings = {
        "created_at": _("Date"),
        "get_kind_display": _("Kind"),
        "amount": _("Credits"),
        "balance": _("Balance after"),
        "campaign": _("Campaign"),
        "note": _("Note"),
        "actor": _("By"),
    }
    export_filename = "credits"
    purchase_form = None

    def dispatch(self, request, *args, **kwargs):
        if not credits.enabled():
            raise Http404
        if not can_view(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return CreditEntry.objects.select_related("campaign", "actor")

    def post(self, request, *args, **kwargs):
        if not can_purchase(request.user):
            raise PermissionDenied
        self.purchase_form = PurchaseForm(request.POST)
        if not self.purchase_form.is_valid():
            return self.get(request, *args, **kwargs)  # the page again, with the form's errors
        data = self.purchase_form.cleaned_data
        entry = credits.purchase(data["amount"], actor=request.user, note=data["note"])
        messages.success(
            request,
            gettext("%(amount)s credits added; the balance is now %(balance)s.")
            % {"amount": credits._number(entry.amount), "balance": credits._number(entry.balance)},
        )
        return redirect(self.index_url_name)

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        if not self.results_only:
            context["summary"] = credits.ledger_summary()
            context["quota"] = quotas.status()
            if can_purchase(self.request.user):
                context["purchase_form"] = self.purchase_form or PurchaseForm()
        return context


class CreditsMenuItem(MenuItem):
    def is_shown(self, request):
        return credits.enabled() and can_view(request.user)


class CreditsViewSet(ViewSet):
    """The credits page, for the "Newsletter" menu group (``admin.viewsets``) or any other place."""

    menu_label = _("Credits")
    icon = "clipboard-list"
    add_to_admin_menu = False
    menu_item_class = CreditsMenuItem

    def get_urlpatterns(self):
        return [
            path("", CreditsView.as_view(), name="index"),
            path("results/", CreditsView.as_view(results_only=True), name="index_results"),
        ]


credits_viewset = CreditsViewSet("newsletter_credits", url_prefix="newsletter/credits")
