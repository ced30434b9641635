"""The send wizard's languages: how many recipients read each translation of the newsletter, whether it can be sent,
and links to preview and test each one (``send.translations`` does the counting, in one grouped query)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ...send import campaigns as lifecycle
from ...send import translations

STATUS_LABELS = {
    translations.PUBLISHED: _("Published"),
    translations.UNPUBLISHED: _("Not published"),
    translations.MISSING: _("Missing"),
}


def _page_links(page):
    if page is None:
        return {"preview_url": "", "test_url": ""}
    return {
        "preview_url": reverse("wagtailadmin_pages:view_draft", args=[page.pk]),
        "test_url": reverse("newsletter_compose:test_send", args=[page.pk]),
    }


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
            **_page_links(page),
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
                **_page_links(language.page),
            }
        )
    return {"rows": rows, "blocking": bool(blocking), "fallback": campaign.translation_fallback}


def set_fallback(campaign, send_default):
    """The editor's choice: recipients whose translation is missing or unpublished get the default language."""
    campaign.translation_fallback = bool(send_default)
    campaign.save(update_fields=["translation_fallback"])
