"""Listings of groups (with counts per status) and of subscription forms (with their counters)."""

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, NumberColumn
from wagtail.snippets.views import snippets

from ...audience.models import Status

# (annotation name, status) for each count shown on the groups listing.
STATUS_COUNTS = [(f"{status.value}_count", status) for status in Status]


def with_status_counts(queryset):
    """Annotate groups with their number of (not deleted) members per status and in total, in one query."""
    visible = Q(memberships__subscriber__deleted_at__isnull=True)
    counts = {
        name: Count("memberships", filter=visible & Q(memberships__subscriber__status=status))
        for name, status in STATUS_COUNTS
    }
    return queryset.annotate(**counts, total_count=Count("memberships", filter=visible))


class GroupSubscribersColumn(Column):
    """A link to the subscribers listing filtered on the group."""

    cell_template_name = "wagtail_newsletter/admin/link_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["url"] = reverse("wagtailsnippets_wagtail_newsletter_subscriber:list") + f"?group={instance.pk}"
        context["value"] = _("View subscribers")
        return context


def group_list_display():
    return [
        "name",
        *(NumberColumn(name, label=status.label, sort_key=name) for name, status in STATUS_COUNTS),
        NumberColumn("total_count", label=_("Total"), sort_key="total_count"),
        GroupSubscribersColumn("subscribers_link", label=_("Subscribers")),
    ]


class GroupIndexView(snippets.IndexView):
    def get_base_queryset(self):
        return with_status_counts(super().get_base_queryset())


class RateColumn(Column):
    def get_value(self, instance):
        rate = super().get_value(instance)
        return "" if rate is None else f"{rate:.0%}"


def form_list_display():
    return [
        "name",
        NumberColumn("views", label=_("Views"), sort_key="views"),
        NumberColumn("submissions", label=_("Submissions"), sort_key="submissions"),
        NumberColumn("confirmations", label=_("Confirmations"), sort_key="confirmations"),
        RateColumn("conversion_rate", label=_("Conversion rate"), sort_key="conversion_rate"),
        RateColumn("confirmation_rate", label=_("Confirmation rate"), sort_key="confirmation_rate"),
    ]


class SubscriptionFormIndexView(snippets.IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().with_counters()
