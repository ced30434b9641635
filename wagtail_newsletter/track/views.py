"""Public views a sent message links to (thin: the logic is in ``unsubscribe`` and ``links``).

None of them needs a login, reads a cookie or sets one (no session, no CSRF cookie) — except that growth's conversions
may add their own cookie to a click's redirect, with the visitor's consent (``signals.link_followed``) — and none
redirects except the click redirect itself. A forged or altered token gets a plain 404 and writes nothing. The open
pixel and the click redirect are the hot paths: a token check (HMAC), one INSERT, and a response with headers set once.
"""

import contextlib

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ..conf import newsletter_settings
from ..send.links import preferences_path
from . import links
from .signals import link_followed
from .unsubscribe import (
    delivery_for_token,
    delivery_language,
    is_unsubscribed,
    live_subscriber,
    mask_email,
    unsubscribe_delivery,
)


def _private(response):
    # Personal pages behind a secret URL: never cached by proxies, never indexed, never leaking the URL onwards.
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _page(request, template, context, language):
    context = {"base_template": newsletter_settings.BASE_TEMPLATE, **context}
    with translation.override(language) if language else contextlib.nullcontext():
        response = render(request, f"wagtail_newsletter/public/{template}", context)
        response["Content-Language"] = translation.get_language()
    return _private(response)


def _is_one_click(request):
    """Whether the body is RFC 8058's ``List-Unsubscribe=One-Click`` (either form encoding). Only noted in the
    history: the token alone authorises, and a body Django can't parse must not stop an unsubscribe."""
    try:
        return request.POST.get("List-Unsubscribe") == "One-Click"
    except (MultiPartParserError, SuspiciousOperation):
        return False


@csrf_exempt  # mailbox providers POST without any cookie or CSRF token (RFC 8058)
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """GET/HEAD: a page whose one button unsubscribes (a GET alone never does: link scanners open every link).
    POST: unsubscribe at once and say so with 200, never a redirect; repeating it changes nothing."""
    delivery = delivery_for_token("unsubscribe", token)
    if delivery is None:
        raise Http404
    language = delivery_language(delivery)
    if request.method == "POST":
        unsubscribe_delivery(delivery, one_click=_is_one_click(request))
    elif not is_unsubscribed(delivery):
        subscriber = live_subscriber(delivery)
        context = {"token": token, "masked_email": mask_email(subscriber.email)}
        context["preferences_url"] = preferences_path(delivery.pk)  # a pause or fewer topics, rather than leaving
        return _page(request, "unsubscribe.html", context, language)
    subscriber = live_subscriber(delivery)
    return _page(
        request,
        "unsubscribe_done.html",
        {"masked_email": mask_email(subscriber.email) if subscriber else ""},
        language,
    )


# A 1×1 transparent GIF (43 bytes) and the headers of every tracking answer: never cached (each fetch is an open),
# never indexed, no referrer onwards.
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
_TRACKING_HEADERS = {
    "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    "X-Robots-Tag": "noindex",
    "Referrer-Policy": "no-referrer",
}


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token):
    """The open pixel: records an open (a HEAD request as a machine one) and answers the GIF; 404 for a bad token."""
    if not links.open_pixel(token, request):
        raise Http404
    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=_TRACKING_HEADERS)


@require_http_methods(["GET", "HEAD"])
def click(request, token):
    """302 to the URL of the campaign's link table that the token names, once the click is recorded (a HEAD
    request too: link checkers are told apart when the events are aggregated)."""
    url = links.click(token, request)
    if url is None:
        raise Http404
    response = HttpResponseRedirect(url, headers=_TRACKING_HEADERS)
    if link_followed.receivers:  # a plain list: no lookup at all when nothing listens
        link_followed.send(sender=None, request=request, response=response, token=token, url=url)
    return response


@require_http_methods(["GET", "HEAD"])
def web_version(request, token):
    """The message as the subscriber received it, personalised, for reading in a browser."""
    message = links.web_version(token)
    if message is None:
        raise Http404
    response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    # The email's HTML has no scripts, forms or plugins: refuse them anyway.
    response["Content-Security-Policy"] = "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    return _private(response)
