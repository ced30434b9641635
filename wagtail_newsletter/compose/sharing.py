"""Share links of a newsletter's web version, built on the server (no third-party script on our pages)."""

from urllib.parse import urlencode

from django.utils.translation import gettext_lazy as _


def share_links(page, request=None):
    """A list of ``{"network", "label", "url"}`` for sharing ``page``'s public URL."""
    url = page.get_full_url(request) or ""
    title = page.title
    return [
        {
            "network": "email",
            "label": _("Email"),
            "url": "mailto:?" + urlencode({"subject": title, "body": url}, quote_via=_quote),
        },
        {
            "network": "x",
            "label": "X",
            "url": "https://twitter.com/intent/tweet?" + urlencode({"url": url, "text": title}),
        },
        {
            "network": "linkedin",
            "label": "LinkedIn",
            "url": "https://www.linkedin.com/sharing/share-offsite/?" + urlencode({"url": url}),
        },
        {
            "network": "facebook",
            "label": "Facebook",
            "url": "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url}),
        },
    ]


def _quote(value, safe="", encoding=None, errors=None):
    # mailto: wants %20 for spaces, not "+" (mail clients show a literal "+").
    from urllib.parse import quote

    return quote(value, safe=safe, encoding=encoding, errors=errors)
