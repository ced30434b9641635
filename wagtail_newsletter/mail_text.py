"""The text of every mail the app writes, on the ground floor so that ``audience`` (confirmation mails) and
``compose`` (newsletters) share it: the merge-tag syntax, HTML to plain text, one-line header values, and domain names
in ASCII, and the Date header.

Plain functions over plain data.
"""

import html
import re
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

import idna
from bs4 import NavigableString
from django.utils.timezone import get_default_timezone
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

# --- Merge tags: ``{{ name }}`` / ``{{ name|default:"text" }}`` -------------------------------------------------

# Whitespace as typed, or as a rich text editor may write it.
_WS = r"(?:\s|&nbsp;|&#160;|&#xa0;)*"
_NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
# In plain text (subject, preheader, text part) quotes are quotes.
_PLAIN_QUOTE = r"""(?P<quote>["'])"""
# In HTML a rich text editor may have escaped them.
_HTML_QUOTE = r"""(?P<quote>"|'|&quot;|&\#34;|&\#x22;|&\#39;|&\#x27;|&apos;)"""


def _tag_pattern(quote):
    return (
        r"\{\{" + _WS + _NAME + _WS + r"(?:\|" + _WS + r"default" + _WS + ":" + _WS + quote
        + r"(?P<default>.*?)(?P=quote))?" + _WS + r"\}\}"
    )  # fmt: skip


PLAIN_TAG = re.compile(_tag_pattern(_PLAIN_QUOTE), re.DOTALL)
HTML_TAG = re.compile(_tag_pattern(_HTML_QUOTE), re.DOTALL)
_ANY_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)


@dataclass(frozen=True)
class FoundTag:
    """A merge tag found in a text: the variable's name, its default (None without one), its span."""

    name: str
    default: str | None
    span: tuple[int, int]


def find_variables(text, in_html=False):
    """The merge tags in ``text`` as FoundTag(name, default, span), in order.

    In HTML (``in_html=True``) the quotes of a default may be escaped (``&quot;``); the default comes back unescaped.
    """
    pattern = HTML_TAG if in_html else PLAIN_TAG
    found = []
    for match in pattern.finditer(text):
        default = match.group("default")
        if default is not None and in_html:
            default = html.unescape(default)
        found.append(FoundTag(match.group("name"), default, match.span()))
    return found


def malformed_tags(text, in_html=False):
    """Texts between ``{{`` and ``}}`` that are not a valid merge tag (a typo would otherwise reach readers)."""
    pattern = HTML_TAG if in_html else PLAIN_TAG
    return [match.group(0) for match in _ANY_TAG.finditer(text) if not pattern.fullmatch(match.group(0))]


# An empty tag just before punctuation takes the space before it along: "Hello {{ first_name }}," -> "Hello,".
_SPACE_BEFORE = re.compile(r"(?:\s|&nbsp;|&#160;|&#xa0;)+$")
_PUNCTUATION = (",", ".", ";", ":", "!", "?", ")")


def fill_tags(text, values, in_html=False):
    """``text`` with the tags of the variables in ``values`` replaced by their value, or the tag's default when the
    value is empty (HTML-escaped when ``in_html``); tags of other names stay as written. A tag left empty drops the
    space before it when punctuation follows, so a form without a name field greets "Hello," and not "Hello ,"."""
    out, end = [], 0
    for tag in find_variables(text, in_html):
        if tag.name not in values:
            continue
        value = str(values[tag.name] or "")
        value = value if value.strip() else tag.default or ""
        before = text[end : tag.span[0]]
        if not value and text.startswith(_PUNCTUATION, tag.span[1]):
            before = _SPACE_BEFORE.sub("", before)
        out += [before, html.escape(value) if in_html else value]
        end = tag.span[1]
    return "".join(out) + text[end:]


# --- One-line values and domains ------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def one_line(text):
    """Text bound for a header (a subject, a sender): control characters (CR, LF…) and runs of spaces collapse to
    one space."""
    return " ".join(_CONTROL.sub(" ", str(text or "")).split())


def ascii_domain(domain):
    """A domain name in ASCII for headers, DKIM and DNS: IDNA 2008 with UTS 46 mapping (as email-validator reads
    addresses), so "straße.de" is "xn--strae-oqa.de", never IDNA 2003's "strasse.de". Raises ``idna.IDNAError``
    (a UnicodeError) for a name that can't be encoded."""
    return domain if domain.isascii() else idna.encode(domain, uts46=True).decode("ascii")


def date_header(moment=None):
    """A ``Date`` header value in the site's time zone (TIME_ZONE), e.g. ``Sun, 06 Dec 2026 07:14:00 +0100``: never
    UTC's ``-0000``, so every mail the app sends reads in one zone. ``moment``: a Unix time (now when None)."""
    moment = time.time() if moment is None else moment
    return format_datetime(datetime.fromtimestamp(int(moment), get_default_timezone()))


# --- HTML to plain text ----------------------------------------------------------------------------------------

_LAYOUT_TAGS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th")
_BLANK_LINES = re.compile(r"\n{3,}")
_TEXT_CONFIG = ParserConfig(css=CSS_PROFILES["strict"].copy(), display_images=False, display_links=False)


def _is_button(anchor):
    classes = " ".join(anchor.get("class", [])).lower()
    return anchor.get("role") == "button" or "button" in classes or "btn" in classes


def prepare_for_text(soup, describe=None):
    """Write each link's URL next to its label and flatten layout tables in ``soup`` (a BeautifulSoup, changed in
    place), so that its text reads top to bottom. ``describe(href)``: (label, final URL) of a link the caller knows
    (compose's link table), or None to use the anchor's own text and href."""
    for anchor in soup.find_all("a", href=True):
        href = anchor["href"]
        visible = anchor.get_text(" ").strip()
        label, final_url = (describe and describe(href)) or (visible, href)
        if href.startswith("#"):
            continue
        if href.lower().startswith(("mailto:", "tel:")) and label and label in href:
            continue
        if _is_button(anchor):
            anchor.clear()
            anchor.append(NavigableString(f"{label}: {href}" if label else href))
            anchor.wrap(soup.new_tag("p"))
        elif not label or label == final_url:
            anchor.clear()
            anchor.append(NavigableString(href))
        elif not visible:  # an image link: its alt text stands for it
            anchor.clear()
            anchor.append(NavigableString(f"{label} ({href})"))
        else:
            anchor.append(NavigableString(f" ({href})"))
    for element in soup.find_all(_LAYOUT_TAGS):
        element.name = "div"
    for img in soup.find_all("img"):
        img.decompose()


def html_to_text(document):
    """A readable plain-text version of ``document`` (inscriptis: Apache-2.0), ending with one newline."""
    text = get_text(document, _TEXT_CONFIG)
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"
