"""The send wizard's languages: how many recipients read each translation of the newsletter, whether it can be sent,
and links to preview and test each one (``send.translations`` does the counting, in one grouped query)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from django.views import View

from ...send import campaigns as lifecycle
from ...send import translations
from ...send.models import Campaign
from ...send.test_web_version import render_as_tested
from ..permissions import can_send

STATUS_LABELS = {
    translations.PUBLISHED: _("Published"),
    translations.UNPUBLISHED: _("Not published"),
    translations.MISSING: _("Missing"),
}


def _page_links(campaign, page, status=translations.PUBLISHED):
    """Preview and test of exactly what ``campaign`` sends for ``page`` (its own or a published translation)."""
    if page is None or status != translations.PUBLISHED:
        return {"preview_url": "", "test_url": ""}
    test_url = reverse("newsletter_compose:test_send", args=[page.pk])
    return {
        "preview_url": reverse("newsletter_campaigns:language_preview", args=[campaign.pk, page.pk]),
        "test_url": f"{test_url}?campaign={campaign.pk}",
    }


class LanguagePreviewView(View):
    """The email a campaign sends for one of its pages (its own or a translation), with sample data: the revision it
    freezes, compiled as it compiles it — not the page's latest draft."""

    def get(self, request, pk, page_id):
        if not can_send(request.user):  # as the wizard that links here
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=pk)
        found = translations.campaign_content(campaign, page_id)
        if found is None:
            raise Http404
        revision, content = found
        message = render_as_tested(revision, content=content)
        response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
        add_never_cache_headers(response)
        response["Content-Security-Policy"] = "script-src 'none'; object-src 'none'; base-uri 'none'"
        return response


def language_rows(campaign):
    """Rows for admin/send_wizard/languages.html (the campaign's own language first), or None when the campaign goes
    out in one language."""
    plan = translations.language_plan(campaign, lambda: lifecycle.campaign_recipients(campaign))
    if plan is None:
        return None
    page = campaign.page.specific if campaign.page else None
    locale = getattr(page, "locale", None)
    rows = [
        {
            "code": plan.default,
            "name": locale.get_display_name() if locale else plan.default,
            "count": plan.default_count,
            "status": _("Default language"),
            "blocking": False,
            **_page_links(campaign, page),
        }
    ]
    blocking = set(plan.blocking)
    for language, count in plan.languages:
        rows.append(
            {
                "code": language.code,
                "name": language.name,
                "count": count,
                "status": STATUS_LABELS[language.status],
                "blocking": language in blocking,
                **_page_links(campaign, language.page, language.status),
            }
        )
    return {"rows": rows, "blocking": bool(blocking), "fallback": campaign.translation_fallback}


def set_fallback(campaign, send_default):
    """The editor's choice: recipients whose translation is missing or unpublished get the default language."""
    campaign.translation_fallback = bool(send_default)
    campaign.save(update_fields=["translation_fallback"])
