"""Newsletter templates for editors: "Save as template" from a newsletter page, "New newsletter from template".

A template holds a copy of the page's body (raw StreamField data), theme and email defaults; a newsletter made from
a template gets its own copy, so editing one never changes the other.
"""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.snippets.views.snippets import SnippetViewSet

from ...compose.models import NewsletterIndexPage, NewsletterPage, NewsletterTemplate
from ..permissions import user_can
from .pages import NewsletterEditMenuItem, NewsletterToolViewMixin


def copy_values(source, field_names):
    """The values of ``field_names`` on ``source``, StreamFields as independent raw data (JSON round trip)."""
    values = {}
    for name in field_names:
        value = getattr(source, name)
        if hasattr(value, "get_prep_value"):  # a StreamValue: copy its data, not the object
            value = json.loads(json.dumps(value.get_prep_value(), cls=DjangoJSONEncoder))
        values[name] = value
    return values


def template_from_page(page, name, description=""):
    """A new NewsletterTemplate (saved) holding a copy of ``page``'s content and email settings."""
    return NewsletterTemplate.objects.create(
        name=name, description=description, **copy_values(page, NewsletterTemplate.copied_fields)
    )


def newsletter_from_template(template, parent, user, title=""):
    """A new DRAFT NewsletterPage under ``parent`` with a copy of ``template``; its slug made unique by Wagtail."""
    today = formats.date_format(timezone.localdate(), "DATE_FORMAT")
    page = NewsletterPage(
        title=title or f"{template.name} – {today}",
        live=False,
        owner=user,
        **copy_values(template, NewsletterTemplate.copied_fields),
    )
    parent.add_child(instance=page)  # a draft: only title and slug are validated; the slug gets a suffix if taken
    page.save_revision(user=user, log_action=True, clean=False)
    return page


def user_can_add_newsletter_under(user, parent):
    return NewsletterPage.can_create_at(parent) and parent.permissions_for_user(user).can_add_subpage()


def addable_parents(user):
    return [parent for parent in NewsletterIndexPage.objects.all() if user_can_add_newsletter_under(user, parent)]


class SaveAsTemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Template name"), max_length=150)
    description = forms.CharField(label=gettext_lazy("Description"), widget=forms.Textarea(attrs={"rows": 3}),
                                  required=False)  # fmt: skip


class SaveAsTemplateView(NewsletterToolViewMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "wagtail_newsletter/admin/compose/save_as_template.html"
    form_class = SaveAsTemplateForm
    header_icon = "doc-empty-inverse"
    page_title = gettext_lazy("Save as template")
    url_name = "newsletter_compose:save_template"

    def check_tool_permission(self, request):
        if not user_can(request.user, NewsletterTemplate, "add"):
            raise PermissionDenied

    def get_initial(self):
        return {"name": self.page.get_admin_display_title()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            page=self.page,
            action_url=reverse("newsletter_compose:save_template", args=[self.page.pk]),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
            submit_button_label=_("Save template"),
        )
        return context

    def form_valid(self, form):
        revision = self.page.get_latest_revision()
        content = revision.as_object() if revision else self.page
        template = template_from_page(content, form.cleaned_data["name"], form.cleaned_data["description"])
        messages.success(
            self.request,
            _("Template “%(name)s” saved. Start a newsletter from it with “New newsletter from template”.")
            % {"name": template.name},
        )
        return redirect("wagtailadmin_pages:edit", self.page.pk)


class NewFromTemplateForm(forms.Form):
    template = forms.ModelChoiceField(
        queryset=NewsletterTemplate.objects.all(), label=gettext_lazy("Template"), widget=forms.RadioSelect
    )
    parent = forms.ModelChoiceField(queryset=NewsletterIndexPage.objects.none(), label=gettext_lazy("Add it to"))
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=255,
        required=False,
        help_text=gettext_lazy("Empty: the template's name and today's date."),
    )

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = NewsletterIndexPage.objects.filter(pk__in=[p.pk for p in parents])
        if len(parents) == 1:
            self.fields["parent"].initial = parents[0].pk
        templates = list(self.fields["template"].queryset.values_list("pk", flat=True)[:2])
        if len(templates) == 1:  # nothing to choose: a lone template is the one
            self.fields["template"].initial = templates[0]


class NewFromTemplateView(WagtailAdminTemplateMixin, FormView):
    template_name = "wagtail_newsletter/admin/compose/new_from_template.html"
    form_class = NewFromTemplateForm
    header_icon = "doc-empty-inverse"
    page_title = gettext_lazy("New newsletter from template")

    def dispatch(self, request, *args, **kwargs):
        self.parents = addable_parents(request.user)
        if not self.parents:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": reverse("newsletter_compose:from_template"), "label": self.page_title}]

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "parents": self.parents}

    def get_initial(self):
        initial = {}
        for name in ("template", "parent"):
            if self.request.GET.get(name, "").isdigit():
                initial[name] = int(self.request.GET[name])
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        parent_id = self.get_initial().get("parent")
        context.update(
            action_url=reverse("newsletter_compose:from_template"),
            submit_button_label=_("Create draft"),
            blank_url=(
                reverse("wagtailadmin_pages:add", args=["wagtail_newsletter", "newsletterpage", parent_id])
                + "?"
                + urlencode({"blank": "1"})
                if parent_id
                else ""
            ),
            has_templates=NewsletterTemplate.objects.exists(),
        )
        return context

    def form_valid(self, form):
        with transaction.atomic():
            data = form.cleaned_data
            page = newsletter_from_template(data["template"], data["parent"], self.request.user, data["title"])
        messages.success(
            self.request, _("Draft “%(title)s” created from a template.") % {"title": page.get_admin_display_title()}
        )
        return redirect("wagtailadmin_pages:edit", page.pk)


class SaveAsTemplateMenuItem(NewsletterEditMenuItem):
    """ "Save as template…" in the action menu of a saved newsletter page."""

    label = gettext_lazy("Save as template…")
    name = "action-newsletter-save-template"
    icon_name = "doc-empty-inverse"
    order = 910

    def is_shown(self, context):
        user = context["request"].user
        return super().is_shown(context) and user_can(user, NewsletterTemplate, "add")

    def get_url(self, parent_context):
        return reverse("newsletter_compose:save_template", args=[parent_context["page"].pk])


class NewFromTemplateButton(MenuItem):
    """A button on a NewsletterIndexPage (header, listing) or a NewsletterTemplate (snippet listing)."""

    def __init__(self, parent=None, template=None, priority=16):
        query = {}
        if parent is not None:
            query["parent"] = parent.pk
        if template is not None:
            query["template"] = template.pk
        url = reverse("newsletter_compose:from_template") + ("?" + urlencode(query) if query else "")
        super().__init__(_("New newsletter from template"), url, icon_name="doc-empty-inverse", priority=priority)
        self.parent = parent

    def is_shown(self, user):
        if self.parent is not None:
            return user_can_add_newsletter_under(user, self.parent) and NewsletterTemplate.objects.exists()
        return bool(addable_parents(user))


def index_page_buttons(page, user, next_url=None, view_name=None):
    """register_page_header_buttons (the archive's "…" menu) and register_page_listing_buttons (a visible button on
    the archive's row, beside "Edit"): on newsletter archives only."""
    if issubclass(page.specific_class or type(page), NewsletterIndexPage):
        yield NewFromTemplateButton(parent=page)


def template_listing_buttons(snippet, user, next_url=None):
    """register_snippet_listing_buttons: on newsletter templates only."""
    if isinstance(snippet, NewsletterTemplate):
        yield NewFromTemplateButton(template=snippet, priority=5)


def offer_templates_before_create(request, parent_page, page_class):
    """before_create_page: "Add child page → Newsletter" first offers the templates, when there are any.

    ``?blank=1`` (the "Start from a blank newsletter" link) goes straight to Wagtail's own create view.
    """
    if (
        request.method == "GET"
        and issubclass(page_class, NewsletterPage)
        and not request.GET.get("blank")
        and NewsletterTemplate.objects.exists()
    ):
        return redirect(reverse("newsletter_compose:from_template") + "?" + urlencode({"parent": parent_page.pk}))
    return None


class NewsletterTemplateViewSet(SnippetViewSet):
    """Newsletter templates in the "Newsletter" menu; each row offers "New newsletter from template"."""

    model = NewsletterTemplate
    icon = "doc-empty-inverse"
    menu_label = gettext_lazy("Newsletter templates")
    list_display = ["name", "theme", "subject", "created_at"]
    search_fields = ["name", "description", "subject"]
    search_backend_name = None
    ordering = "name"
