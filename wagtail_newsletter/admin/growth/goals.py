"""Goals in the "Newsletter" menu: a snippet naming a page of the site (chosen with Wagtail's page chooser) and what
counts as reaching it; the listing shows how many conversions each goal has had."""

from django.db.models import Count
from django.utils.translation import gettext_lazy
from wagtail.admin.panels import FieldPanel, PageChooserPanel
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn, NumberColumn
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from ...growth.goals import Goal


class GoalIndexView(IndexView):
    def get_base_queryset(self):
        # One query for the page: the conversion count as an annotation, the page's title joined.
        return super().get_base_queryset().select_related("page").annotate(conversion_count=Count("conversions"))


class GoalViewSet(SnippetViewSet):
    model = Goal
    icon = "success"
    menu_label = gettext_lazy("Goals")
    index_view_class = GoalIndexView
    list_display = [
        "name",
        Column("page", label=gettext_lazy("Page")),
        Column("get_trigger_display", label=gettext_lazy("Counts")),
        BooleanColumn("active", label=gettext_lazy("Active")),
        NumberColumn("conversion_count", label=gettext_lazy("Conversions"), sort_key="conversion_count"),
        DateColumn("created_at", label=gettext_lazy("Created")),
    ]
    search_fields = ["name"]
    search_backend_name = None
    ordering = "name"
    panels = [FieldPanel("name"), PageChooserPanel("page"), FieldPanel("trigger"), FieldPanel("active")]
