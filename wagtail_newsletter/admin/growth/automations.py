"""Automations in the "Newsletter" menu: a snippet whose steps are an InlinePanel (a welcome series is built in one
page), a listing with the people in progress, and a page per automation with each step's figures (waiting, passed,
left) and the report of each "send" step's campaign."""

import json

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import TemplateView
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    PageChooserPanel,
)
from wagtail.admin.ui.tables import BooleanColumn, Column
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from ...growth.automations.models import Automation, Condition, EnrolmentStatus, StepKind
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


# The fields each kind of step uses: automation_steps.js shows only these (with JavaScript off, all of them).
STEP_FIELDS = {
    StepKind.WAIT: ["wait_amount", "wait_unit"],
    StepKind.WAIT_UNTIL: ["weekday", "hour"],
    StepKind.SEND: ["page"],
    StepKind.ADD_TO_GROUP: ["group"],
    StepKind.REMOVE_FROM_GROUP: ["group"],
    StepKind.BRANCH: ["condition", "segment", "otherwise_go_to"],
    StepKind.STOP: [],
}


class StepKindSelect(forms.Select):
    """The step's kind, carrying the fields of each kind for automation_steps.js."""

    def __init__(self, attrs=None, choices=()):
        table = {
            "fields": {str(kind): names for kind, names in STEP_FIELDS.items()},
            "all": sorted({name for names in STEP_FIELDS.values() for name in names}),
            "segment_conditions": [Condition.IN_SEGMENT, Condition.NOT_IN_SEGMENT],
        }
        super().__init__({**(attrs or {}), "data-automation-step-kind": json.dumps(table)}, choices)

    class Media:
        js = ["wagtail_newsletter/js/automation_steps.js"]


class AutomationForm(WagtailAdminModelForm):
    """Checks "otherwise go to step" against the steps the form will save (a step alone can't know them)."""

    def clean(self):
        cleaned_data = super().clean()
        steps = self.formsets.get("steps")
        if steps is None or not steps.is_valid():
            return cleaned_data
        kept = [form for form in steps.forms if form.has_changed() or form.instance.pk]
        kept = [form for form in kept if not steps._should_delete_form(form)]
        for form in kept:
            target = form.cleaned_data.get("otherwise_go_to")
            if form.cleaned_data.get("kind") == StepKind.BRANCH and target and target > len(kept):
                message = ngettext(
                    "There is %(count)s step: give a step number from 1 to %(count)s, or leave it empty.",
                    "There are %(count)s steps: give a step number from 1 to %(count)s, or leave it empty.",
                    len(kept),
                ) % {"count": len(kept)}
                form.add_error("otherwise_go_to", message)
        return cleaned_data


STEP_PANELS = [
    FieldPanel("kind", widget=StepKindSelect),
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
    edit_handler = ObjectList(
        [
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
        ],
        base_form_class=AutomationForm,
    )

    def get_urlpatterns(self):
        return [*super().get_urlpatterns(), path("<int:pk>/steps/", AutomationStepsView.as_view(), name="steps")]
