"""Filters of the subscribers listing (status, group, source, dates)."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet

from ...audience.models import Group, Source, Status, Subscriber
from ...growth.segments import Segment


class SubscriberFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Status.choices, empty_label=_("All"), widget=forms.RadioSelect
    )
    group = django_filters.ModelChoiceFilter(
        label=_("Group"), field_name="groups", queryset=Group.objects.all(), empty_label=_("All groups")
    )
    # A segment's conditions, as one query (its EXISTS subqueries join the listing's own).
    segment = django_filters.ModelChoiceFilter(
        label=_("Segment"), queryset=Segment.objects.all(), empty_label=_("All subscribers"), method="in_segment"
    )
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Source.choices, empty_label=_("All"))
    created_at = django_filters.DateFromToRangeFilter(label=_("Created"), widget=DateRangePickerWidget)
    first_subscribed_at = django_filters.DateFromToRangeFilter(
        label=_("First subscribed"), widget=DateRangePickerWidget
    )

    class Meta:
        model = Subscriber
        fields = ["status", "group", "segment", "source", "created_at", "first_subscribed_at"]

    def in_segment(self, queryset, name, segment):
        return queryset.filter(segment.q()) if segment else queryset


# Subscribers are not in a Wagtail search index: the listing searches these with icontains.
SUBSCRIBER_SEARCH_FIELDS = ["email", "first_name", "last_name"]


def filtered_subscribers(request):
    """The subscribers the listing shows for ``request.GET`` (filters and ``q``), as a queryset.

    Used by "select all in listing" so that a bulk action never reaches beyond the filtered list;
    invalid filters give no subscriber at all rather than everybody.
    """
    filters = SubscriberFilterSet(request.GET, queryset=Subscriber.objects.all(), request=request)
    if not filters.is_valid():
        return Subscriber.objects.none()
    queryset = filters.qs
    query = request.GET.get("q", "").strip()
    if query:
        condition = Q()
        for field in SUBSCRIBER_SEARCH_FIELDS:
            condition |= Q(**{f"{field}__icontains": query})
        queryset = queryset.filter(condition)
    return queryset
