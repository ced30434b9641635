"""Fill a CompiledEmail's slots for one recipient: string joins only — no template, no database query.

Values are HTML-escaped in the HTML, left plain in the text part, and stripped of line breaks and control
characters in the subject and preheader (no header injection through a subscriber's name).
"""

import re
from dataclasses import dataclass
from html import escape

from .merge_tags import LINK_VARIABLES, available_variables, today_text

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class PersonalisedEmail:
    subject: str
    preheader: str
    html: str
    text: str


class InertLinks:
    """Links for previews and test sends: clicks go straight to the final URL, unsubscribe does nothing.

    The unsubscribe link points to the site root with ``?preview-unsubscribe``; the web version to the newsletter's
    public page (``web_url``) when it has one; the preference link to ``preferences_url`` (test sends: a preview of
    the preference page that saves nothing), else the site root with ``?preview-preferences``.
    """

    open_pixel_url = ""  # nothing is tracked

    def __init__(self, base_url="", web_url="", preferences_url=""):
        root = (base_url or "").rstrip("/")
        self.unsubscribe_url = f"{root}/?preview-unsubscribe"
        self.web_version_url = web_url or f"{root}/?preview-web-version"
        self.preferences_url = preferences_url or f"{root}/?preview-preferences"

    def click_url(self, link_index, final_url):
        return final_url


def recipient_values(recipient):
    """The variables' values for a Subscriber or a mapping (email, first_name, last_name, language, data)."""
    if isinstance(recipient, dict):
        get = recipient.get
        first, last = get("first_name") or "", get("last_name") or ""
        values = dict(get("data") or {})
        values["email"] = get("email") or ""
        values["language"] = get("language") or ""
        values["full_name"] = get("full_name") or " ".join(part for part in (first, last) if part)
    else:
        first, last = recipient.first_name or "", recipient.last_name or ""
        values = dict(recipient.data or {})
        values["email"] = recipient.email or ""
        values["language"] = recipient.language or ""
        values["full_name"] = " ".join(part for part in (first, last) if part)
    values["first_name"] = first
    values["last_name"] = last
    return values


def _text(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return str(value)


def _one_line(value):
    return _CONTROL.sub(" ", value).strip() if _CONTROL.search(value) else value


def _fill_pieces(plan, values, link_urls, convert):
    literals, variable_slots, link_slots = plan
    parts = literals.copy()
    for name, default, positions in variable_slots:  # a variable used many times is converted (escaped) once
        value = _text(values.get(name))
        text = convert(value if value.strip() else default)
        for position in positions:
            parts[position] = text
    for position, index in link_slots:
        parts[position] = link_urls[index]
    return parts


def _fill(plan, values, link_urls, convert):
    return "".join(_fill_pieces(plan, values, link_urls, convert))


def _same(value):
    return value


# The open pixel: a 1×1 image, invisible, that layouts don't make room for (its URL goes between the two parts).
PIXEL_START = '<img src="'
PIXEL_END = '" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0" />'


def personalise(compiled, recipient, links=None, pieces=False):
    """``compiled`` (a CompiledEmail) for ``recipient`` → PersonalisedEmail(subject, preheader, html, text).

    ``links`` gives this recipient's ``unsubscribe_url``, ``web_version_url``, ``click_url(index, final_url)`` and
    optionally ``open_pixel_url`` (when not empty, the pixel goes just before ``</body>``); None: ``InertLinks``
    (final URLs, inert unsubscribe, no pixel), as in previews and test sends. With ``pieces``, html and
    text are lists of strings to join — the compiled literals (the same objects for every recipient) and the values
    between them — so that the MIME builder encodes the literals once per campaign.
    """
    if links is None:
        links = InertLinks(compiled.base_url, compiled.web_url)
        text_urls, html_urls = compiled.plans["text_urls"], compiled.plans["html_urls"]
    else:
        if hasattr(links, "click_urls"):
            text_urls = links.click_urls(compiled.links)
        else:
            text_urls = [links.click_url(link.index, link.final_url) for link in compiled.links]
        html_urls = [escape(url) for url in text_urls]
    values = recipient_values(recipient)
    values["unsubscribe_url"] = links.unsubscribe_url
    values["web_version_url"] = links.web_version_url
    if "preferences_url" in compiled.variables:  # signed only when the email links to it
        # Link objects made before the preference centre (the click map's) lead to their unsubscribe link instead.
        values["preferences_url"] = getattr(links, "preferences_url", links.unsubscribe_url)
    if "date" in compiled.variables:
        values["date"] = today_text(compiled.language)
    plans = compiled.plans
    html = _fill_pieces(plans["html"], values, html_urls, escape)
    open_url = getattr(links, "open_pixel_url", "")
    if open_url:
        position = plans["html_pixel"]
        html[position : position + 3] = PIXEL_START, escape(open_url), PIXEL_END
    body = _fill_pieces if pieces else _fill
    return PersonalisedEmail(
        subject=_fill(plans["subject"], values, text_urls, _one_line),
        preheader=_fill(plans["preheader"], values, text_urls, _one_line),
        html=html if pieces else "".join(html),
        text=body(plans["text"], values, text_urls, _same),
    )


def sample_recipient(language="", base_url=""):
    """A recipient mapping made of the registry's sample values (one query for the custom fields)."""
    variables = available_variables(language, base_url)
    data = {
        name: variable.sample
        for name, variable in variables.items()
        if name not in ("email", "first_name", "last_name", "full_name", "language", "date", *LINK_VARIABLES)
    }
    return {
        "email": variables["email"].sample,
        "first_name": variables["first_name"].sample,
        "last_name": variables["last_name"].sample,
        "language": language or variables["language"].sample,
        "data": data,
    }
