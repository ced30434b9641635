"""The newsletter page editor's side panels: "Checklist" (pre-flight checks) and "Variables" (personalisation).

Wagtail has no hook for side panels, so newsletter pages get their own ``PageViewSet`` whose edit and create views
add them; every other page view stays Wagtail's.
"""

import logging

from django.utils.translation import gettext_lazy
from wagtail.admin.rich_text.editors.draftail.features import ControlFeature
from wagtail.admin.ui.side_panels import BaseSidePanel
from wagtail.admin.views.pages.create import CreateView
from wagtail.admin.views.pages.edit import EditView
from wagtail.admin.viewsets.pages import PageViewSet

from ...compose.checks import ERROR
from ...compose.compiled import page_base_url
from ...compose.merge_tags import available_variables
from ...compose.models import NewsletterPage
from .pages import checklist

logger = logging.getLogger(__name__)

# A rich text feature: a toolbar control inserting a variable (list a block's features to enable it).
VARIABLE_FEATURE = "newsletter-variable"

# Defaults offered with the copied tag of variables that may be empty for some subscribers.
_NAME_DEFAULTS = {"first_name": gettext_lazy("there"), "full_name": gettext_lazy("there")}


def variable_tag(variable):
    """The tag editors copy: ``{{ email }}`` for never-empty variables, else one with a default to adapt."""
    if not variable.may_be_empty:
        return f"{{{{ {variable.name} }}}}"
    default = variable.default or _NAME_DEFAULTS.get(variable.name) or "…"
    default = str(default).replace('"', "'")
    return f'{{{{ {variable.name}|default:"{default}" }}}}'


def variable_rows(language="", base_url=""):
    """[(Variable, tag to copy)] for the chooser, standard variables first, then custom fields."""
    return [(variable, variable_tag(variable)) for variable in available_variables(language, base_url).values()]


class ChecklistSidePanel(BaseSidePanel):
    """The pre-flight checks of the page's latest saved revision; the toggle counts the errors."""

    class SidePanelToggle(BaseSidePanel.SidePanelToggle):
        aria_label = gettext_lazy("Toggle newsletter checklist")
        icon_name = "tasks"
        counter_classname = "w-bg-critical-200"

        def get_context_data(self, parent_context):
            context = super().get_context_data(parent_context)
            context["count"] = sum(1 for check in self.panel.checks if check.level == ERROR)
            return context

    name = "newsletter-checklist"
    title = gettext_lazy("Checklist")
    template_name = "wagtail_newsletter/admin/compose/checklist_side_panel.html"
    order = 360

    def __init__(self, object, request):
        super().__init__(object, request)
        self.revision = object.get_latest_revision() if object.pk else None
        self.failed = False
        self.checks = []
        if self.revision is not None:
            try:
                self.checks = checklist(self.revision)
            except Exception:  # a broken block must not lock editors out of the page that contains it
                logger.exception("Checklist of page %s (revision %s) failed", object.pk, self.revision.pk)
                self.failed = True

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        context.update(checks=self.checks, revision=self.revision, failed=self.failed)
        return context


class VariablesSidePanel(BaseSidePanel):
    """The personalisation variables with their sample values and a button copying each one's tag."""

    class SidePanelToggle(BaseSidePanel.SidePanelToggle):
        aria_label = gettext_lazy("Toggle personalisation variables")
        icon_name = "code"
        has_counter = False

    name = "newsletter-variables"
    title = gettext_lazy("Variables")
    template_name = "wagtail_newsletter/admin/compose/variables_side_panel.html"
    order = 370

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        page = self.object
        base_url = page_base_url(page, self.request) if page.pk else ""
        context["variables"] = variable_rows(getattr(page, "language", "") or "", base_url)
        return context


class NewsletterPageEditView(EditView):
    def get_side_panels(self):
        side_panels = super().get_side_panels()
        if not self.expects_json_response:  # autosave responses do not re-render side panels
            side_panels.append(ChecklistSidePanel(self.page, self.request))
            side_panels.append(VariablesSidePanel(self.page, self.request))
        return side_panels


class NewsletterPageCreateView(CreateView):
    def get_side_panels(self):
        side_panels = super().get_side_panels()
        if not self.expects_json_response:
            side_panels.append(VariablesSidePanel(self.page, self.request))
        return side_panels


class NewsletterPageViewSet(PageViewSet):
    """Wagtail's page views for newsletters, with the checklist and variables side panels in the editor."""

    model = NewsletterPage
    edit_view_class = NewsletterPageEditView
    add_view_class = NewsletterPageCreateView
    icon = "mail"
    menu_label = gettext_lazy("Newsletters")
    add_to_admin_menu = False


newsletter_page_viewset = NewsletterPageViewSet("newsletter_pages")


def register_variable_control(features):
    """register_rich_text_features: the Draftail control inserting a variable; it lists the Variables panel's rows."""
    features.register_editor_plugin(
        "draftail",
        VARIABLE_FEATURE,
        ControlFeature({"type": VARIABLE_FEATURE}, js=["wagtail_newsletter/js/variable_control.js"]),
    )
