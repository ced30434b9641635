"""A newsletter rendered once: inlined HTML, plain text, link table and slots — ready to personalise per recipient.

``compile_email`` takes a full HTML document (from ``rendering.render_email_document``) and returns a
``CompiledEmail`` whose parts are flat lists of literal strings and slots; ``personalise`` only fills the slots.
"""

import html as html_lib
import re
from dataclasses import dataclass, field
from typing import NamedTuple

import css_inline
from bs4 import BeautifulSoup

from ..mail_text import html_to_text, prepare_for_text
from .links import LINK_MARKER_RE, Link, absolutise_images, mark_links
from .merge_tags import (
    HTML_TAG,
    PLAIN_TAG,
    Problem,
    available_variables,
    find_variables,
    malformed_tags,
    variable_problems,
)
from .rendering import base_url as configured_base_url
from .rendering import render_email_document


class VariableSlot(NamedTuple):
    """Where a variable's value goes; ``default`` (plain text) is used when the value is empty."""

    name: str
    default: str


class LinkSlot(NamedTuple):
    """Where the URL of link ``index`` of the link table goes (a tracking URL once click tracking is on)."""

    index: int


@dataclass(frozen=True)
class CompiledEmail:
    """An email compiled once per campaign. Each part is a tuple of literal strings and slots."""

    subject: tuple
    preheader: tuple
    html: tuple
    text: tuple
    links: tuple[Link, ...]
    variables: tuple[str, ...]  # names used, sorted
    problems: tuple  # merge_tags.Problem
    html_size: int  # bytes of the HTML with the tags as written
    language: str = ""
    base_url: str = ""
    web_url: str = ""  # the newsletter's public page, for previews and test sends
    # Prepared once for personalise: (literal parts with empty slots, variable slots, link slots) per part.
    plans: dict = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.plans is None:
            plans = {name: _plan(getattr(self, name)) for name in ("subject", "preheader", "text")}
            html, plans["html_pixel"] = _with_pixel_slot(self.html)
            plans["html"] = _plan(html)
            plans["text_urls"] = [link.final_url for link in self.links]
            plans["html_urls"] = [html_lib.escape(link.final_url) for link in self.links]
            object.__setattr__(self, "plans", plans)

    def source(self, part):
        """A part with its slots written back as tags / final URLs (for checks and debugging)."""
        return "".join(_slot_source(segment, self.links, part == "html") for segment in getattr(self, part))

    def to_dict(self):
        """A JSON-friendly form, so a campaign can store its compiled email."""

        def segments(part):
            return [s if isinstance(s, str) else {type(s).__name__: list(s)} for s in getattr(self, part)]

        return {
            "subject": segments("subject"),
            "preheader": segments("preheader"),
            "html": segments("html"),
            "text": segments("text"),
            "links": [[link.index, link.original_url, link.final_url, link.label] for link in self.links],
            "variables": list(self.variables),
            "problems": [[p.code, p.variable, p.message] for p in self.problems],
            "html_size": self.html_size,
            "language": self.language,
            "base_url": self.base_url,
            "web_url": self.web_url,
        }

    @classmethod
    def from_dict(cls, data):
        kinds = {"VariableSlot": VariableSlot, "LinkSlot": LinkSlot}

        def segments(items):
            return tuple(s if isinstance(s, str) else next(kinds[k](*v) for k, v in s.items()) for s in items)

        return cls(
            subject=segments(data["subject"]),
            preheader=segments(data["preheader"]),
            html=segments(data["html"]),
            text=segments(data["text"]),
            links=tuple(Link(*link) for link in data["links"]),
            variables=tuple(data["variables"]),
            problems=tuple(Problem(*p) for p in data["problems"]),
            html_size=data["html_size"],
            language=data.get("language", ""),
            base_url=data.get("base_url", ""),
            web_url=data.get("web_url", ""),
        )


# Where the open pixel goes: three empty slots (the tag's start, its URL, its end) just before the document's last
# </body>, computed with the plan and never stored. ``personalise`` fills them with two constant strings and the URL,
# so that the MIME builder encodes the constant parts once per campaign like the other literals.
_PIXEL_SLOTS = (object(), object(), object())
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def _with_pixel_slot(segments):
    """``segments`` with the pixel slots inserted before the last ``</body>`` (at the end when there is none), and
    the position of the first."""
    for position in range(len(segments) - 1, -1, -1):
        segment = segments[position]
        if isinstance(segment, str):
            ends = [match.start() for match in _BODY_END.finditer(segment)]
            if ends:
                at = ends[-1]
                split = (segment[:at], *_PIXEL_SLOTS, segment[at:])
                return segments[:position] + split + segments[position + 1 :], position + 1
    return (*segments, *_PIXEL_SLOTS), len(segments)


def _plan(segments):
    """(literals with empty slots, ((name, default, positions), …) per variable, ((position, link index), …))."""
    literals = [s if isinstance(s, str) else "" for s in segments]
    variables = {}  # grouped, so that personalise converts (escapes) each variable once per message
    for i, s in enumerate(segments):
        if isinstance(s, VariableSlot):
            variables.setdefault((s.name, s.default), []).append(i)
    variable_slots = tuple((name, default, tuple(positions)) for (name, default), positions in variables.items())
    link_slots = tuple((i, s.index) for i, s in enumerate(segments) if isinstance(s, LinkSlot))
    return literals, variable_slots, link_slots


def _slot_source(segment, links, in_html):
    if isinstance(segment, str):
        return segment
    if isinstance(segment, LinkSlot):
        url = links[segment.index].final_url
        return html_lib.escape(url) if in_html else url
    if segment.default:
        default = html_lib.escape(segment.default) if in_html else segment.default
        return "{{ " + segment.name + '|default:"' + default + '" }}'
    return "{{ " + segment.name + " }}"


def cut_segments(text, tag_pattern, variables, with_links=True, unescape_defaults=False):
    """Cut ``text`` into literal strings and slots (merge tags, and link markers when ``with_links``)."""
    segments, position = [], 0
    pieces = [(m.start(), m.end(), m) for m in tag_pattern.finditer(text)]
    if with_links:
        pieces += [(m.start(), m.end(), m) for m in LINK_MARKER_RE.finditer(text)]
    for start, end, match in sorted(pieces, key=lambda piece: piece[0]):
        if start < position:  # a marker inside a tag's default: part of the tag
            continue
        if start > position:
            segments.append(text[position:start])
        if match.re is LINK_MARKER_RE:
            segments.append(LinkSlot(int(match.group(1))))
        else:
            default = match.group("default")
            if default is not None and unescape_defaults:
                default = html_lib.unescape(default)
            variable = variables.get(match.group("name"))
            effective = default if default else (variable.default if variable else "")
            segments.append(VariableSlot(match.group("name"), effective or ""))
        position = end
    if position < len(text):
        segments.append(text[position:])
    return tuple(segments)


_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False, minify_css=True)
# What no reader sees, in every message: the editor's block keys (Draftail's data-block-key on each paragraph) and
# the <tbody> the inliner's HTML5 parser adds to every table (the reader's parser adds it back).
_EDITOR_ATTRIBUTES = ("data-block-key",)
_IMPLIED_TBODY = re.compile(r"</?tbody>")


def compile_email(
    html_document,
    subject,
    preheader="",
    base_url="",
    utm=None,
    language="",
    web_url="",
    utm_all_domains=False,
    variables=None,
):
    """Compile a full HTML document (tags as written by editors) into a ``CompiledEmail``. Call it once per campaign.

    ``utm``: ``{"source": …, "medium": …, "campaign": …}`` (or ``utm_``-prefixed keys), appended to links of the
    site's domain (of every web link with ``utm_all_domains``). ``variables``: the registry (read from the database
    when None). CSS is inlined with css-inline, minified (``@media`` rules kept in a ``<style>``); the text part is made
    from the document before inlining.
    """
    if variables is None:
        variables = available_variables(language, base_url)
    soup = BeautifulSoup(html_document, "html.parser")
    links = mark_links(soup, base_url, utm=utm, utm_all_domains=utm_all_domains)
    absolutise_images(soup, base_url)
    for attribute in _EDITOR_ATTRIBUTES:
        for tag in soup.find_all(attrs={attribute: True}):
            del tag[attribute]
    inlined = _IMPLIED_TBODY.sub("", _INLINER.inline(str(soup)))
    prepare_for_text(soup, describe=lambda href: _described(href, links))
    text = html_to_text(str(soup))

    subject = " ".join((subject or "").split())
    preheader = " ".join((preheader or "").split())
    found = (
        find_variables(subject)
        + find_variables(preheader)
        + find_variables(inlined, in_html=True)
        + find_variables(text)
    )
    malformed = malformed_tags(subject) + malformed_tags(preheader) + malformed_tags(inlined, in_html=True)
    html_segments = cut_segments(inlined, HTML_TAG, variables, unescape_defaults=True)
    return CompiledEmail(
        subject=cut_segments(subject, PLAIN_TAG, variables, with_links=False),
        preheader=cut_segments(preheader, PLAIN_TAG, variables, with_links=False),
        html=html_segments,
        text=cut_segments(text, PLAIN_TAG, variables),
        links=tuple(links),
        variables=tuple(sorted({tag.name for tag in found})),
        problems=tuple(variable_problems(found, variables, malformed)),
        html_size=len(_restore_links(inlined, links).encode()),
        language=language or "",
        base_url=base_url or "",
        web_url=web_url or "",
    )


def _described(href, links):
    """(label, final URL) of a link of the table, which ``mark_links`` replaced by its marker; None for others."""
    match = LINK_MARKER_RE.fullmatch(href)
    if match is None:
        return None
    link = links[int(match.group(1))]
    return link.label, link.final_url


def _restore_links(document, links):
    return LINK_MARKER_RE.sub(lambda m: html_lib.escape(links[int(m.group(1))].final_url), document)


def page_base_url(page, request=None):
    """The absolute root the email's relative links are resolved against."""
    if configured_base_url():
        return configured_base_url()
    site = page.get_site() if hasattr(page, "get_site") else None
    if site is not None:
        return site.root_url.rstrip("/")
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return ""


def compile_page(page_or_revision, request=None, variables=None):
    """Render a NewsletterPage (or a revision of one) once and compile it with the page's email settings."""
    page = page_or_revision.as_object() if hasattr(page_or_revision, "as_object") else page_or_revision
    document = render_email_document(page, request=request)
    base_url = page_base_url(page, request)
    utm = {
        "source": getattr(page, "utm_source", ""),
        "medium": getattr(page, "utm_medium", ""),
        "campaign": page.get_utm_campaign() if hasattr(page, "get_utm_campaign") else "",
    }
    language = getattr(page, "language", "") or ""
    web_url = ""
    if getattr(page, "pk", None):
        path = page.get_url(request=request) if hasattr(page, "get_url") else ""
        web_url = path if not path or "://" in path else base_url + path
    return compile_email(
        document,
        subject=getattr(page, "subject", "") or "",
        preheader=getattr(page, "preheader", "") or "",
        base_url=base_url,
        utm=utm,
        language=language,
        web_url=web_url,
        utm_all_domains=getattr(page, "utm_all_domains", False),
        variables=variables,
    )
