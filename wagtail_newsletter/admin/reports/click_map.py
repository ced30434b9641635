"""The click map: the campaign's newsletter as recipients saw it, with each tracked link's share of human clicks
drawn next to it.

The HTML is the campaign's compiled email (``send.links.campaign_compiled``) personalised for the sample recipient,
with every link of the link table replaced by a marker that carries its index, so that links are matched to their
``LinkRow`` by index even when two links go to the same URL. Then every link loses its ``href`` (nothing in the map
navigates anywhere), scripts and other active content are dropped, and the view serves it under a CSP that allows no
script at all (``CLICK_MAP_CSP``) inside a sandboxed iframe.
"""

import re

from bs4 import BeautifulSoup
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.translation import gettext as _

from ...compose.personalise import personalise, sample_recipient
from ...send.links import campaign_compiled

# Images may come from the site or elsewhere (as in the mail); nothing else loads, nothing runs, nothing submits.
CLICK_MAP_CSP = (
    "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; font-src http: https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
)

_MARKER = re.compile(r"#wn-link-(\d+)")
# Elements that could run, embed, submit or redirect: not part of a newsletter, dropped if present.
_ACTIVE = ("script", "noscript", "iframe", "frame", "object", "embed", "applet", "form", "base", "link", "meta")

BADGE_STYLE = (
    "display:inline-block;margin:0 0 0 4px;padding:1px 6px;border-radius:9px;background:#cc4400;color:#fff;"
    "font:bold 12px/16px system-ui,sans-serif;text-decoration:none;vertical-align:middle;white-space:nowrap"
)
PAGE_STYLE = "a[data-link-index]{cursor:default}a:not([data-link-index]){cursor:not-allowed}"


class MarkedLinks:
    """``personalise``'s links: each link of the table becomes ``#wn-link-<index>``; the other links are inert."""

    unsubscribe_url = "#wn-unsubscribe"
    web_version_url = "#wn-web-version"
    open_pixel_url = ""  # no open pixel in the map

    def click_url(self, link_index, final_url):
        return f"#wn-link-{link_index}"


def percent(share):
    """0.6667 → "66.7 %" in the active language (rounded first: number_format cuts off extra decimals)."""
    return number_format(round(100 * (share or 0), 1), decimal_pos=1) + "\u00a0%"


def _badge(soup, row):
    badge = soup.new_tag("span")
    badge["class"] = "wn-click-badge"
    badge["data-link-index"] = str(row.index)
    badge["data-link-share"] = f"{row.share or 0:.4f}"
    badge["style"] = BADGE_STYLE
    badge["title"] = _("%(share)s of human clicks (clicks: %(clicks)s, recipients who clicked: %(people)s)") % {
        "share": percent(row.share),
        "clicks": row.clicks,
        "people": row.unique_clicks,
    }
    badge.string = percent(row.share)
    return badge


def _highlight(anchor, share):
    """An outline whose strength follows the link's share, so the busy links stand out at a glance."""
    alpha = 0.25 + 0.75 * (share or 0)
    style = anchor.get("style", "").strip().rstrip(";")
    anchor["style"] = f"{style};outline:2px solid rgba(204,68,0,{alpha:.2f});outline-offset:2px".lstrip(";")


def _neutralise(soup):
    for element in soup.find_all(_ACTIVE):
        element.decompose()
    for element in soup.find_all(True):
        for attribute in [name for name in element.attrs if name.lower().startswith("on")]:
            del element[attribute]
    for element in soup.find_all(["area", "a"]):
        for attribute in ("href", "target", "ping", "download"):
            element.attrs.pop(attribute, None)


def click_map_html(campaign, rows):
    """The campaign's HTML with a badge after each tracked link (``rows``: ``track.stats.link_rows``)."""
    compiled = campaign_compiled(campaign)
    if compiled is None:
        message = escape(_("This campaign has no compiled newsletter yet: it has not been sent."))
        return f'<!DOCTYPE html><html><body><p style="font-family:sans-serif">{message}</p></body></html>'
    recipient = sample_recipient(compiled.language, compiled.base_url)
    html = personalise(compiled, recipient, links=MarkedLinks()).html
    soup = BeautifulSoup(html, "html.parser")
    by_index = {row.index: row for row in rows}
    for anchor in soup.find_all("a", href=True):
        match = _MARKER.fullmatch(anchor["href"])
        row = by_index.get(int(match.group(1))) if match else None
        if row is None:
            continue
        anchor["data-link-index"] = str(row.index)
        anchor["title"] = row.url
        _highlight(anchor, row.share)
        anchor.insert_after(_badge(soup, row))
    _neutralise(soup)
    style = soup.new_tag("style")
    style.string = PAGE_STYLE
    (soup.head or soup).insert(0, style)
    return str(soup)
