"""Filters of the subscribers listing (status, group, source, dates)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet

from ..audience.models import Group, Source, Status, Subscriber


class SubscriberFilterSet(WagtailFilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=Status.choices, empty_label=_("All"), widget=forms.RadioSelect
    )
    group = django_filters.ModelChoiceFilter(
        label=_("Group"), field_name="groups", queryset=Group.objects.all(), empty_label=_("All groups")
    )
    source = django_filters.ChoiceFilter(label=_("Source"), choices=Source.choices, empty_label=_("All"))
    created_at = django_filters.DateFromToRangeFilter(label=_("Created"), widget=DateRangePickerWidget)
    first_subscribed_at = django_filters.DateFromToRangeFilter(
        label=_("First subscribed"), widget=DateRangePickerWidget
    )

    class Meta:
        model = Subscriber
        fields = ["status", "group", "source", "created_at", "first_subscribed_at"]
