"""The link table of an email: every web link, absolute, with its UTM parameters, marked as a slot.

Runs once per campaign at compile time (BeautifulSoup); per recipient only the slots are filled.
"""

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

from .merge_tags import PLAIN_TAG

# A link's position in the document while it is inlined and turned into text; ASCII so both keep it.
LINK_MARKER = "WN_LINK_{}_WN"
LINK_MARKER_RE = re.compile(r"WN_LINK_(\d+)_WN")
_SPACES = re.compile(r"\s+")
_MAX_LABEL = 100


@dataclass(frozen=True)
class Link:
    """One entry of the link table: its position, the URL as authored, the URL mailed, its visible label."""

    index: int
    original_url: str
    final_url: str
    label: str


def _host(url):
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def is_own_domain(url, base_url):
    """True when ``url`` is on the site's domain (or a subdomain of it)."""
    own, host = _host(base_url), _host(url)
    return bool(own) and (host == own or host.endswith("." + own))


def add_utm(url, utm, content):
    """``url`` with ``utm`` (``{"utm_source": …}``) and ``utm_content`` appended; the existing query and fragment kept.

    A URL that already carries any ``utm_*`` parameter is returned as it is: the author chose its campaign.
    Without a ``utm_source`` (required by analytics tools) nothing is added.
    """
    if not utm or not utm.get("utm_source"):
        return url
    parts = urlsplit(url)
    if any(key.lower().startswith("utm_") for key, _value in parse_qsl(parts.query, keep_blank_values=True)):
        return url
    params = [(key, value) for key, value in utm.items() if value]
    if content:
        params.append(("utm_content", content))
    if not params:
        return url
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return parts._replace(query=query).geturl()


def normalise_utm(utm):
    """``{"source": "x"}`` or ``{"utm_source": "x"}`` → ``{"utm_source": "x"}``, empty values dropped."""
    result = {}
    for key, value in (utm or {}).items():
        key = str(key).strip().lower()
        if not key.startswith("utm_"):
            key = "utm_" + key
        if value not in (None, ""):
            result[key] = str(value).strip()
    return result


def link_label(anchor):
    """The visible text of an ``<a>``, or the alt text of its image, on one line."""
    text = _SPACES.sub(" ", anchor.get_text(" ")).strip()
    if not text:
        text = " ".join(img.get("alt", "").strip() for img in anchor.find_all("img")).strip()
    return text[:_MAX_LABEL]


def absolute_url(href, base_url):
    """``href`` resolved against ``base_url`` (relative and protocol-relative links become absolute)."""
    if not base_url:
        return href
    return urljoin(base_url.rstrip("/") + "/", href)


def is_trackable(href):
    """Only web links go through the link table: not mailto:, tel:, anchors, or merge tags such as unsubscribe."""
    if not href or href.startswith("#") or "{{" in href or PLAIN_TAG.search(href):
        return False
    scheme = urlsplit(href).scheme.lower()
    return scheme in ("", "http", "https")


def mark_links(soup, base_url, utm=None, utm_all_domains=False):
    """Replace the href of every web link in ``soup`` by a slot marker; return the link table.

    UTM parameters go to links of the site's own domain, or to every web link with ``utm_all_domains``.
    """
    utm = normalise_utm(utm)
    table = []
    for anchor in soup.find_all("a", href=True):
        href = anchor["href"].strip()
        if not is_trackable(href):
            continue
        original = absolute_url(href, base_url)
        if urlsplit(original).scheme.lower() not in ("http", "https"):
            continue
        index = len(table)
        label = link_label(anchor)
        final = original
        if utm and (utm_all_domains or is_own_domain(original, base_url)):
            final = add_utm(original, utm, label or f"link-{index + 1}")
        table.append(Link(index, href, final, label))
        anchor["href"] = LINK_MARKER.format(index)
    return table


def absolutise_images(soup, base_url):
    """Make every image source absolute: a mail client has no page to resolve a relative one against."""
    for img in soup.find_all("img", src=True):
        src = img["src"].strip()
        if src and "{{" not in src and not src.lower().startswith(("data:", "cid:")):
            img["src"] = absolute_url(src, base_url)
