"""The HTML document of a newsletter, before compilation (no inlined CSS, merge tags as typed).

``render_email_document(page)`` is the one template render of a newsletter; ``compiled.py`` turns its output into a
``CompiledEmail`` once per campaign.
"""

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import override

from ..conf import newsletter_settings
from .themes import get_theme

# Renditions are twice the displayed width (sharp on high-density screens), at most this wide.
MAX_RENDITION_WIDTH = 1200


def base_url():
    """The absolute base of links in emails: ``WAGTAIL_NEWSLETTER["BASE_URL"]``, else ``WAGTAILADMIN_BASE_URL``."""
    return (newsletter_settings.BASE_URL or getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "").rstrip("/")


def absolute_url(url):
    """``url`` made absolute against ``base_url()`` when it is relative (as file storages often give)."""
    if not url or "://" in url or url.startswith(("mailto:", "tel:", "{{")):
        return url
    if url.startswith("//"):
        return "https:" + url
    return base_url() + "/" + url.lstrip("/")


@dataclass(frozen=True)
class EmailImage:
    url: str  # absolute
    width: int  # displayed width, pixels
    height: int  # displayed height, pixels


def email_image(image, display_width):
    """An ``EmailImage`` of a Wagtail image for a slot ``display_width`` pixels wide, or None without image.

    The rendition is up to twice the slot's width (never upscaled); the displayed size keeps the aspect ratio and never
    exceeds the image's own width.
    """
    if image is None:
        return None
    rendition_width = min(display_width * 2, MAX_RENDITION_WIDTH)
    rendition = image.get_rendition(f"width-{rendition_width}")
    width = min(display_width, rendition.width)
    height = round(rendition.height * width / rendition.width) if rendition.width else rendition.height
    return EmailImage(url=absolute_url(rendition.url), width=width, height=height)


def site_name(page):
    site = page.get_site()
    return (site.site_name if site else "") or getattr(settings, "WAGTAIL_SITE_NAME", "")


def render_email_document(page, request=None):
    """The whole HTML email document of newsletter ``page`` (a page or a page revision's object) as a str.

    Theme CSS sits in a ``<style>`` block (with its ``@media`` rules); merge tags are left exactly as typed; the footer
    links are the merge tags ``{{ unsubscribe_url }}`` and ``{{ web_version_url }}``. Texts of the template are in the
    newsletter's language.
    """
    theme = get_theme(page.theme)
    context = {
        "page": page,
        "theme": theme,
        "content_width": theme.content_width,
        "site_name": site_name(page),
    }
    with override(page.language or settings.LANGUAGE_CODE):
        context["theme_css"] = render_to_string(theme.css_template, {"theme": theme})
        return render_to_string("wagtail_newsletter/compose/email_document.html", context)
