"""What the editor tools around a newsletter page share: finding the page, its latest revision, its checklist."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.models import Page, Revision

from ...compose.checks import ERROR, preflight
from ...compose.compiled import compile_page
from ...compose.models import NewsletterPageMixin
from ...deliverability.spam_score import page_spam_checks
from ...send.outgoing import sender_of
from ...send.sender_domains import sender_domain_checks


def is_newsletter_page(page):
    return isinstance(page, NewsletterPageMixin)


class NewsletterEditMenuItem(ActionMenuItem):
    """An action-menu item shown in the edit view of a saved newsletter page, to users who may edit it."""

    def is_shown(self, context):
        page = context.get("page")
        if context["view"] != "edit" or page is None or not is_newsletter_page(page):
            return False
        return self.get_user_page_permissions_tester(context).can_edit()


class NewsletterToolViewMixin:
    """An admin tool about one newsletter page (test send, save as template): the page from the URL, checked
    editable, shown as the subtitle and in the breadcrumbs. Subclasses name their ``url_name``."""

    url_name = None

    def dispatch(self, request, *args, **kwargs):
        self.page = editable_newsletter_page(request, kwargs["page_id"])
        self.check_tool_permission(request)
        return super().dispatch(request, *args, **kwargs)

    def check_tool_permission(self, request):
        """Raise PermissionDenied if the tool needs more than editing the page."""

    def get_page_subtitle(self):
        return self.page.get_admin_display_title()

    def get_breadcrumbs_items(self):
        url = reverse(self.url_name, args=[self.page.pk])
        return page_breadcrumbs(self.breadcrumbs_items, self.page, self.page_title, url)


def editable_newsletter_page(request, page_id):
    """The specific NewsletterPage ``page_id``: 404 for other types, PermissionDenied unless the user may edit it."""
    page = get_object_or_404(Page, pk=page_id).specific
    if not is_newsletter_page(page):
        raise Http404
    if not page.permissions_for_user(request.user).can_edit():
        raise PermissionDenied
    return page


def page_breadcrumbs(base_items, page, label, url):
    """Breadcrumbs of a tool page: home, the newsletter's editor, the tool."""
    return [
        *base_items,
        {"url": reverse("wagtailadmin_pages:edit", args=[page.pk]), "label": page.get_admin_display_title()},
        {"url": url, "label": label},
    ]


def checklist(page_or_revision):
    """The pre-flight checks of the page's latest revision, as ``compose.checks`` reports them, whether its
    sender's domain is verified (``send.sender_domains``) and its spam score when a spamd is configured
    (``deliverability.spam_score``); errors first. A failure to compile propagates."""
    content = page_or_revision.as_object() if isinstance(page_or_revision, Revision) else page_or_revision
    address = sender_of(content.sender_name, content.sender_email)[1]
    compiled = compile_page(page_or_revision)
    checks = preflight(compiled) + (sender_domain_checks(address) if address else [])
    checks += page_spam_checks(content, compiled)
    return sorted(checks, key=lambda check: check.level != ERROR)


def no_revision_message():
    return _("Save a draft of this newsletter first.")
