"""Automations in the "Newsletter" menu: a snippet whose steps are an InlinePanel (a welcome series is built in one
page), a listing with the people in progress, and a page per automation with each step's figures (waiting, passed,
left) and the report of each "send" step's campaign."""

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import TemplateView
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, PageChooserPanel
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from ...growth.automations.models import Automation, EnrolmentStatus
from ...growth.automations.stats import step_figures
from ..permissions import may_view_campaigns
from ..send.wizard import url as campaign_url

STEPS_URL = "wagtailsnippets_wagtail_newsletter_automation:steps"


class AutomationIndexView(IndexView):
    def get_base_queryset(self):
        in_progress = Count("enrolments", filter=Q(enrolments__status=EnrolmentStatus.ACTIVE))
        return super().get_base_queryset().annotate(in_progress=in_progress)


class StepsColumn(Column):
    def get_value(self, instance):
        return format_html('<a href="{}">{}</a>', reverse(STEPS_URL, args=[instance.pk]), _("Steps and figures"))


class AutomationStepsView(WagtailAdminTemplateMixin, TemplateView):
    """Each step with its figures, and links to the reports of the campaigns its mails went out in."""

    template_name = "wagtail_newsletter/admin/automations/steps.html"
    header_icon = "cogs"

    def dispatch(self, request, pk, *args, **kwargs):
        if not request.user.has_perm("wagtail_newsletter.view_automation") and not request.user.has_perm(
            "wagtail_newsletter.change_automation"
        ):
            raise PermissionDenied
        self.automation = get_object_or_404(Automation, pk=pk)
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Automation “%(name)s”") % {"name": self.automation.name}

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("wagtailsnippets_wagtail_newsletter_automation:list"), "label": _("Automations")},
            {
                "url": reverse("wagtailsnippets_wagtail_newsletter_automation:edit", args=[self.automation.pk]),
                "label": self.automation.name,
            },
            {"url": "", "label": _("Steps and figures")},
        ]

    def get_context_data(self, **kwargs):
        figures, totals = step_figures(self.automation)
        reports = may_view_campaigns(self.request.user)
        for row in figures:
            row["reports"] = [
                (round_number, campaign, campaign_url("report", campaign.pk) if reports else None)
                for round_number, campaign in row["campaigns"]
            ]
        return super().get_context_data(
            automation=self.automation,
            figures=figures,
            totals=totals,
            edit_url=reverse("wagtailsnippets_wagtail_newsletter_automation:edit", args=[self.automation.pk]),
            **kwargs,
        )


STEP_PANELS = [
    FieldPanel("kind"),
    FieldRowPanel([FieldPanel("wait_amount"), FieldPanel("wait_unit")]),
    FieldRowPanel([FieldPanel("weekday"), FieldPanel("hour")]),
    PageChooserPanel("page", ["wagtail_newsletter.NewsletterPage"]),
    FieldPanel("group"),
    FieldRowPanel([FieldPanel("condition"), FieldPanel("segment"), FieldPanel("otherwise_go_to")]),
]


class AutomationViewSet(SnippetViewSet):
    model = Automation
    icon = "cogs"
    menu_label = gettext_lazy("Automations")
    index_view_class = AutomationIndexView
    list_display = [
        "name",
        Column("get_trigger_display", label=gettext_lazy("Starts when")),
        BooleanColumn("active", label=gettext_lazy("Active")),
        Column("in_progress", label=gettext_lazy("In progress"), sort_key="in_progress"),
        StepsColumn("steps", label=gettext_lazy("Steps")),
    ]
    search_fields = ["name"]
    search_backend_name = None
    ordering = "name"
    panels = [
        FieldPanel("name"),
        FieldPanel("active"),
        MultiFieldPanel(
            [
                FieldPanel("trigger"),
                FieldPanel("form"),
                FieldPanel("group"),
                FieldPanel("link_text"),
                FieldRowPanel([FieldPanel("date_field"), FieldPanel("local_hour")]),
                FieldPanel("segment"),
            ],
            heading=gettext_lazy("Trigger"),
        ),
        InlinePanel("steps", panels=STEP_PANELS, heading=gettext_lazy("Steps"), label=gettext_lazy("Step")),
    ]

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("<int:pk>/steps/", AutomationStepsView.as_view(), name="steps")]
