"""Pre-flight checklist of a compiled email: what would hurt delivery or readers, each with a hint how to fix it.

Errors should block a send; warnings are shown and may be accepted. Plain functions over a CompiledEmail.
"""

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..conf import newsletter_settings
from .compiled import VariableSlot

ERROR = "error"
WARNING = "warning"

# Gmail cuts messages whose HTML is larger than this ("[Message clipped]"), hiding the footer and its unsubscribe link.
GMAIL_CLIP_BYTES = 102 * 1024
# Link shorteners hide the destination; spam filters distrust them.
URL_SHORTENERS = frozenset({
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly",
    "shorturl.at", "tiny.cc", "rb.gy", "t.ly", "s.id", "v.gd", "lnkd.in", "bl.ink", "soo.gd", "shorte.st", "adf.ly",
    "qrco.de", "short.io", "tiny.one",
})  # fmt: skip
# At most one image per this many words of text, and at least this much text when there are images.
WORDS_PER_IMAGE = 100
MIN_TEXT_WITH_IMAGES = 500
_URL = re.compile(r"https?://\S+")
_INERT_SCHEMES = ("mailto:", "tel:", "sms:")


@dataclass(frozen=True)
class Check:
    """One finding of the checklist; ``message`` and ``hint`` are translated for people."""

    code: str
    level: str  # ERROR or WARNING
    message: str
    hint: str


def _is_loopback(url):
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host(url):
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def check_size(compiled):
    if compiled.html_size > GMAIL_CLIP_BYTES:
        kb = compiled.html_size // 1024
        return [
            Check(
                "html-too-large",
                WARNING,
                _("The HTML is %(kb)d KB: Gmail clips messages over 102 KB and hides the rest.") % {"kb": kb},
                _("Shorten the newsletter, or move long articles to the website and link to them."),
            )
        ]
    return []


def check_images_alt(soup):
    missing = [img for img in soup.find_all("img") if not (img.get("alt") or "").strip() and not _is_pixel(img)]
    if not missing:
        return []
    return [
        Check(
            "image-without-alt",
            WARNING,
            ngettext("%(count)d image has no alt text.", "%(count)d images have no alt text.", len(missing))
            % {"count": len(missing)},
            _("Describe each image in its alt text: many mail clients block images, and screen readers read it."),
        )
    ]


def _is_pixel(img):
    return str(img.get("width", "")).strip() in ("0", "1") and str(img.get("height", "")).strip() in ("0", "1")


def check_unsubscribe(compiled):
    if any(isinstance(s, VariableSlot) and s.name == "unsubscribe_url" for s in compiled.html):
        return []
    return [
        Check(
            "missing-unsubscribe",
            ERROR,
            _("The email has no unsubscribe link."),
            _("Add a footer block, or a link to {{ unsubscribe_url }}: the law and the mailbox providers require it."),
        )
    ]


def check_variables(compiled):
    checks = []
    for problem in compiled.problems:
        if problem.code == "missing-default":
            checks.append(
                Check(
                    "variable-without-default",
                    WARNING,
                    problem.message,
                    _('Write a default, e.g. {{ %(name)s|default:"there" }}, for subscribers without a value.')
                    % {"name": problem.variable},
                )
            )
        else:
            checks.append(
                Check(
                    "unknown-variable" if problem.code == "unknown-variable" else "malformed-variable",
                    ERROR,
                    problem.message,
                    _("Insert variables from the list of available variables; check the spelling and the braces."),
                )
            )
    return checks


def check_subject(compiled):
    if "".join(s if isinstance(s, str) else "x" for s in compiled.subject).strip():
        return []
    return [
        Check(
            "empty-subject",
            ERROR,
            _("The subject is empty."),
            _("Write a subject in the Email tab: it is what readers see first in their inbox."),
        )
    ]


def check_links(compiled, soup):
    insecure, shortened = [], []
    loopback_ok = newsletter_settings.ALLOW_LOOPBACK_LINKS
    for anchor in soup.find_all("a", href=True):
        href = anchor["href"].strip()
        if not href or href.startswith("#") or href.lower().startswith(_INERT_SCHEMES) or "{{" in href:
            continue
        if urlsplit(href).scheme.lower() != "https" and not (loopback_ok and _is_loopback(href)):
            insecure.append(href)
        if _host(href) in URL_SHORTENERS:
            shortened.append(href)
    checks = []
    if insecure:
        checks.append(
            Check(
                "link-not-https",
                WARNING,
                ngettext(
                    "%(count)d link is not an absolute HTTPS address, e.g. %(url)s",
                    "%(count)d links are not absolute HTTPS addresses, e.g. %(url)s",
                    len(insecure),
                )
                % {"count": len(insecure), "url": insecure[0]},
                _("Use full addresses starting with https://: mail clients warn about others, and some block them."),
            )
        )
    if shortened:
        checks.append(
            Check(
                "url-shortener",
                WARNING,
                ngettext(
                    "%(count)d link goes through a URL shortener (%(url)s).",
                    "%(count)d links go through a URL shortener, e.g. %(url)s.",
                    len(shortened),
                )
                % {"count": len(shortened), "url": shortened[0]},
                _("Link to the destination itself: spam filters distrust shortened links."),
            )
        )
    return checks


def check_image_text_ratio(compiled, soup):
    images = [img for img in soup.find_all("img") if not _is_pixel(img)]
    if not images:
        return []
    text = _URL.sub("", "".join(s for s in compiled.text if isinstance(s, str)))
    words = len(text.split())
    characters = len(" ".join(text.split()))
    if len(images) * WORDS_PER_IMAGE <= words and characters >= MIN_TEXT_WITH_IMAGES:
        return []
    return [
        Check(
            "image-text-ratio",
            WARNING,
            _("Mostly images, little text: %(images)d images for %(words)d words.")
            % {"images": len(images), "words": words},
            _(
                "Spam filters distrust image-heavy mail and many readers block images: "
                "write at least %(chars)d characters and about %(words)d words per image."
            )
            % {"chars": MIN_TEXT_WITH_IMAGES, "words": WORDS_PER_IMAGE},
        )
    ]


def preflight(compiled, page=None):
    """The checklist of ``compiled`` (a CompiledEmail): a list of Check, errors first. ``page`` is for future rules."""
    soup = BeautifulSoup(compiled.source("html"), "html.parser")
    checks = [
        *check_subject(compiled),
        *check_unsubscribe(compiled),
        *check_variables(compiled),
        *check_size(compiled),
        *check_images_alt(soup),
        *check_links(compiled, soup),
        *check_image_text_ratio(compiled, soup),
    ]
    return sorted(checks, key=lambda check: check.level != ERROR)
