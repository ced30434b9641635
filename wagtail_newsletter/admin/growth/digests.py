"""Page digests in the "Newsletter" menu: a snippet to set a digest up (which pages, template, schedule, audience,
review or automatic), a page of its past issues, and a dashboard panel of the issues waiting for an editor's review."""

from django import forms
from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, ObjectList, TabbedInterface
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import BooleanColumn, Column, DateColumn
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page, get_page_models
from wagtail.permissions import policy_registry
from wagtail.snippets.views.snippets import IndexView, SnippetViewSet

from ...growth.digest_runs import excluded_content_types, run_digest, waiting_for_review
from ...growth.digests import Digest, DigestRun, RunOutcome

CAMPAIGN_URL = "newsletter_campaigns:detail"
SEND_URL = "newsletter_campaigns:send_recipients"


def page_type_choices():
    """Content types of the site's page models, newsletters and archives left out."""
    excluded = set(excluded_content_types())
    types = ContentType.objects.get_for_models(*get_page_models()).values()
    return ContentType.objects.filter(pk__in=[t.pk for t in types if t.pk not in excluded and t.model != "page"])


class DigestForm(WagtailAdminModelForm):
    """Schedule fields in range (the model's clean), some pages to look at and someone to send to."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "page_types" in self.fields:
            self.fields["page_types"].queryset = page_type_choices()
            self.fields["page_types"].label_from_instance = lambda ct: str(ct.model_class()._meta.verbose_name)

    def clean(self):
        cleaned = super().clean()
        parents = self.formsets.get("parent_pages")
        chosen_parents = parents is not None and any(
            form.cleaned_data.get("page") and not form.cleaned_data.get("DELETE")
            for form in parents.forms
            if form.is_valid()
        )
        if not chosen_parents and not cleaned.get("page_types"):
            self.add_error("page_types", _("Choose parent pages, page types or both."))
        if not (cleaned.get("all_subscribers") or cleaned.get("include_groups") or cleaned.get("include_segments")):
            self.add_error("include_groups", _("Choose at least one group or segment, or send to all subscribers."))
        return cleaned


CHECKBOXES = forms.CheckboxSelectMultiple


def digest_edit_handler():
    return TabbedInterface(
        [
            ObjectList(
                [
                    FieldPanel("name"),
                    FieldPanel("active"),
                    InlinePanel("parent_pages", heading=_("Parent pages"), label=_("Parent page"),
                                panels=[FieldPanel("page")]),
                    FieldPanel("page_types", widget=CHECKBOXES),
                    FieldPanel("published_since"),
                ],
                heading=gettext_lazy("Pages"),
            ),
            ObjectList(
                [
                    FieldPanel("frequency"),
                    FieldRowPanel([FieldPanel("weekday"), FieldPanel("day_of_month")]),
                    FieldRowPanel([FieldPanel("hour"), FieldPanel("minute")]),
                ],
                heading=gettext_lazy("Schedule"),
            ),
            ObjectList(
                [
                    FieldPanel("template"),
                    FieldPanel("archive"),
                    FieldPanel("review"),
                    MultiFieldPanel(
                        [
                            FieldPanel("all_subscribers"),
                            FieldPanel("include_groups", widget=CHECKBOXES),
                            FieldPanel("exclude_groups", widget=CHECKBOXES),
                            FieldPanel("include_segments", widget=CHECKBOXES),
                            FieldPanel("exclude_segments", widget=CHECKBOXES),
                        ],
                        heading=gettext_lazy("Recipients"),
                    ),
                ],
                heading=gettext_lazy("Issue"),
            ),
        ],
        base_form_class=DigestForm,
    )  # fmt: skip


class IssuesColumn(Column):
    def get_value(self, instance):
        return format_html('<a href="{}">{}</a>', issues_url(instance), _("Past issues"))


class DigestIndexView(IndexView):
    def get_base_queryset(self):
        return super().get_base_queryset().annotate(last_issue=Max("runs__period_end"))


class DigestViewSet(SnippetViewSet):
    model = Digest
    icon = "list-ul"
    menu_label = gettext_lazy("Page digests")
    index_view_class = DigestIndexView
    list_display = [
        "name",
        Column("schedule_text", label=gettext_lazy("Schedule")),
        BooleanColumn("review", label=gettext_lazy("Reviewed")),
        BooleanColumn("active", label=gettext_lazy("Active")),
        DateColumn("last_issue", label=gettext_lazy("Last period"), sort_key="last_issue"),
        IssuesColumn("issues", label=gettext_lazy("Issues")),
    ]
    search_fields = ["name"]
    search_backend_name = None
    ordering = "name"
    edit_handler = digest_edit_handler()

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("<int:pk>/issues/", DigestIssuesView.as_view(), name="issues"),
            path("<int:pk>/issue-now/", make_issue_now, name="issue_now"),
        ]


def issues_url(digest):
    return reverse("wagtailsnippets_wagtail_newsletter_digest:issues", args=[digest.pk])


@require_POST
def make_issue_now(request, pk):
    """ "Make an issue now": the period since the last issue ends now (the schedule goes on as before)."""
    if not policy_registry.get_by_type(Digest).user_has_permission(request.user, "change"):
        raise PermissionDenied
    digest = get_object_or_404(Digest, pk=pk)
    if not digest.active:
        messages.error(request, _("This digest is not active: activate it first."))
        return redirect(issues_url(digest))
    run = run_digest(digest.pk, timezone.now(), ahead_of_schedule=True)
    if run is None:
        messages.warning(request, _("No issue was made: another one was being made at the same moment."))
    elif run.outcome == RunOutcome.SKIPPED:
        messages.info(request, _("Nothing new was published since the last issue: this period is skipped."))
    elif run.outcome == RunOutcome.FAILED:
        messages.error(request, _("The issue was made but not sent: %(reason)s") % {"reason": run.note})
    else:
        messages.success(request, _("The issue is made: %(outcome)s.") % {"outcome": run.get_outcome_display()})
    return redirect(issues_url(digest))


def may_see_digests(user):
    return policy_registry.get_by_type(Digest).user_has_any_permission(user, ["add", "change", "view"])


def issue_rows(runs):
    """Rows for the issues table: each run with its pages' titles and links to its newsletter and campaign."""
    page_ids = {pk for run in runs for pk in run.page_ids}
    titles = dict(Page.objects.filter(pk__in=page_ids).values_list("pk", "title"))
    return [
        {
            "run": run,
            "pages": [titles[pk] for pk in run.page_ids if pk in titles],
            "newsletter_url": reverse("wagtailadmin_pages:edit", args=[run.newsletter_id]) if run.newsletter_id else "",
            "campaign_url": reverse(CAMPAIGN_URL, args=[run.campaign_id]) if run.campaign_id else "",
            "send_url": reverse(SEND_URL, args=[run.campaign_id]) if run.campaign_id else "",
        }
        for run in runs
    ]


class DigestIssuesView(WagtailAdminTemplateMixin, TemplateView):
    """A digest's periods: when, what it found, the newsletter and campaign made, or that it skipped."""

    template_name = "wagtail_newsletter/admin/digests/issues.html"
    header_icon = "list-ul"

    def dispatch(self, request, pk, *args, **kwargs):
        if not may_see_digests(request.user):
            raise PermissionDenied
        self.digest = get_object_or_404(Digest, pk=pk)
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return _("Past issues of %(digest)s") % {"digest": self.digest.name}

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("wagtailsnippets_wagtail_newsletter_digest:list"), "label": _("Page digests")},
            {"url": reverse("wagtailsnippets_wagtail_newsletter_digest:edit", args=[self.digest.pk]),
             "label": self.digest.name},
            {"url": "", "label": _("Past issues")},
        ]  # fmt: skip

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        runs = list(DigestRun.objects.filter(digest=self.digest).select_related("campaign")[:200])
        may_change = policy_registry.get_by_type(Digest).user_has_permission(self.request.user, "change")
        context.update(
            digest=self.digest,
            rows=issue_rows(runs),
            issue_now_url=reverse("wagtailsnippets_wagtail_newsletter_digest:issue_now", args=[self.digest.pk])
            if may_change and self.digest.active
            else "",
        )
        return context


class DigestsWaitingPanel(Component):
    """Dashboard: digest issues an editor has to check and send."""

    name = "newsletter_digests_waiting"
    template_name = "wagtail_newsletter/admin/digests/waiting_panel.html"
    order = 60

    def __init__(self, rows):
        self.rows = rows

    def get_context_data(self, parent_context):
        return {"rows": self.rows}


def add_digests_waiting_panel(request, panels):
    """``construct_homepage_panels``: issues waiting for review, for those who may see digests."""
    if may_see_digests(request.user):
        rows = issue_rows(list(waiting_for_review()[:20]))
        if rows:
            panels.append(DigestsWaitingPanel(rows))
