"""Segments in the "Newsletter" menu: a snippet with a condition builder, a live count with a sample of matching
subscribers (a JSON endpoint the builder calls as the conditions change), and links to the subscribers listing
filtered by the segment, where its people are exported as CSV or XLSX."""

import json

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.snippets.views.snippets import SnippetViewSet

from ...audience.models import Subscriber
from ...growth.conditions import ConditionError, validate
from ...growth.segment_sql import segment_subscribers
from ...growth.segments import Segment
from ..permissions import user_can_any
from .segment_builder import ConditionBuilderWidget

SAMPLE_SIZE = 10
SUBSCRIBERS_URL = "wagtailsnippets_wagtail_newsletter_subscriber:list"


def subscribers_url(segment, export=None):
    """The subscribers listing filtered by ``segment`` (``export``: "csv" or "xlsx" to download it)."""
    query = f"?segment={segment.pk}" + (f"&export={export}" if export else "")
    return reverse(SUBSCRIBERS_URL) + query


def count_and_sample(conditions):
    """{"count", "sample"} of validated ``conditions`` (two queries); raises ConditionError."""
    conditions = validate(conditions)
    people = segment_subscribers(conditions)
    sample = people.order_by("-created_at", "-id").values("email", "first_name", "last_name", "status")[:SAMPLE_SIZE]
    return {
        "count": people.count(),
        "sample": [
            {
                "email": row["email"],
                "name": " ".join(part for part in (row["first_name"], row["last_name"]) if part),
                "status": str(dict(Subscriber._meta.get_field("status").choices).get(row["status"], row["status"])),
            }
            for row in sample
        ],
    }


@require_POST
def count_view(request):
    """POST {"conditions": …} -> {"count", "sample"}, or 400 {"errors": […]}: the builder's live count."""
    if not user_can_any(request.user, Subscriber):
        raise PermissionDenied
    try:
        conditions = json.loads(request.body or b"{}").get("conditions")
    except (ValueError, AttributeError):
        return JsonResponse({"errors": [_("The request is not JSON.")]}, status=400)
    try:
        return JsonResponse(count_and_sample(conditions))
    except ConditionError as error:
        return JsonResponse({"errors": error.messages}, status=400)


class SubscribersColumn(Column):
    """Links to the segment's subscribers and their CSV/XLSX export."""

    def get_value(self, instance):
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">CSV</a> · <a href="{}">XLSX</a>',
            subscribers_url(instance),
            _("See subscribers"),
            subscribers_url(instance, "csv"),
            subscribers_url(instance, "xlsx"),
        )


class SegmentViewSet(SnippetViewSet):
    model = Segment
    icon = "crosshairs"
    menu_label = gettext_lazy("Segments")
    list_display = [
        "name",
        "description",
        DateColumn("updated_at", label=gettext_lazy("Updated")),
        SubscribersColumn("subscribers", label=gettext_lazy("Subscribers")),
    ]
    search_fields = ["name", "description"]
    search_backend_name = None
    ordering = "name"
    panels = [
        FieldPanel("name"),
        FieldPanel("description"),
        FieldPanel("conditions", widget=ConditionBuilderWidget),
    ]

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("count/", count_view, name="count")]
