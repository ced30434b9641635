"""Subscription forms embedded on other sites: the form on a page made for an iframe, and a script
that inserts that iframe where it is placed and sizes it to its content.

Security model. The embed page may be framed by the origins in ``EMBED_ALLOWED_ORIGINS`` (a CSP
``frame-ancestors`` header; X-Frame-Options is lifted for these pages only). Its POST is exempt from
CSRF: a page inside another site's iframe gets no CSRF cookie in today's browsers (third-party
cookies are blocked), and a sign-up acts on no session or account a forged request could abuse.
The same checks as on the site guard it instead (``views.process_signup``: signed render stamp with
fill time and maximum age bound to the form, honeypot, rate limits per IP network and per address,
length limits), and double opt-in means nobody is subscribed without clicking the link mailed to them.
"""

import functools
import json

from django.core.exceptions import ImproperlyConfigured
from django.db.models import F
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from ..conf import newsletter_settings
from .signup_form import SignupForm
from .subscription_form import SubscriptionForm
from .views import SignupOutcome, process_signup, rate_limited_message, too_large_message

# Height of the iframe until the embedded page reports its own (and of the plain <iframe> snippet).
INITIAL_HEIGHT = 560
LOADER_MAX_AGE = 3600  # seconds browsers and proxies may cache the loader script
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def embedding_enabled():
    return bool(newsletter_settings.EMBED_ALLOWED_ORIGINS)


def frame_ancestors():
    """The CSP ``frame-ancestors`` sources from ``EMBED_ALLOWED_ORIGINS`` ("*" or origins; the site
    itself may always frame its own forms)."""
    origins = [str(origin).strip().rstrip("/") for origin in newsletter_settings.EMBED_ALLOWED_ORIGINS]
    for origin in origins:
        # One source expression each: anything that could end the directive is a configuration error.
        if not origin or any(char in origin for char in " \t\r\n;,'\""):
            raise ImproperlyConfigured(f"EMBED_ALLOWED_ORIGINS: {origin!r} is not an origin")
    if "*" in origins:
        return "*"
    return " ".join(["'self'", *origins])


def embeddable(view):
    """Let other sites frame the responses of ``view``; answer 404 when embedding is turned off."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not embedding_enabled():
            raise Http404("embedding is turned off")
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = f"frame-ancestors {frame_ancestors()}"
        return response

    return xframe_options_exempt(wrapper)


def site_url(request):
    """``BASE_URL``, or this request's scheme and host, without a trailing slash."""
    return (newsletter_settings.BASE_URL or request.build_absolute_uri("/")).rstrip("/")


def embed_urls(request, form_id):
    """Absolute URLs of form ``form_id``: ``page`` (the iframe's source) and ``script`` (the loader)."""
    base = site_url(request)
    return {
        "page": base + reverse("wagtail_newsletter:embed", args=[form_id]),
        "script": base + reverse("wagtail_newsletter:embed_loader", args=[form_id]),
    }


def frame_title(snippet):
    """The iframe's accessible name."""
    return snippet.title or _("Newsletter subscription form")


def embed_codes(request, snippet):
    """The HTML an editor pastes into another site: ``script`` (auto-sized) and ``iframe`` (no JS)."""
    urls = embed_urls(request, snippet.pk)
    return {
        "script": render_to_string("wagtail_newsletter/embed/script_code.html", {"urls": urls}).strip(),
        "iframe": render_to_string(
            "wagtail_newsletter/embed/iframe_code.html",
            {"urls": urls, "title": frame_title(snippet), "height": INITIAL_HEIGHT},
        ).strip(),
    }


def _page(request, snippet, template, context=None, status=200):
    context = {"snippet": snippet, **(context or {})}
    return render(request, f"wagtail_newsletter/embed/{template}", context, status=status)


def _render_form(request, snippet, form, status=200):
    return _page(request, snippet, "form.html", {"signup_form": form, "embedded": True}, status=status)


def _message(request, snippet, title_and_text, status):
    title, text = title_and_text
    return _page(request, snippet, "message.html", {"title": title, "message": text}, status=status)


@csrf_exempt
@embeddable
@require_http_methods(["GET", "POST"])
def embed(request, form_id):
    """GET: the form alone, for an iframe on another site. POST: the site's sign-up pipeline; success
    goes to the "check your inbox" text inside the iframe (303), never to the top window."""
    snippet = get_object_or_404(SubscriptionForm, pk=form_id)
    if request.method == "GET":
        # One atomic UPDATE: a showing on another site counts as a view like one on a live page.
        SubscriptionForm.objects.filter(pk=snippet.pk).update(views=F("views") + 1)
        return _render_form(request, snippet, SignupForm(snippet))
    result = process_signup(request, snippet)
    if result.outcome == SignupOutcome.ACCEPTED:
        response = HttpResponseRedirect(reverse("wagtail_newsletter:embed_done", args=[snippet.pk]))
        response.status_code = 303  # the iframe follows with a GET: a reload never re-posts
        return response
    if result.outcome == SignupOutcome.INVALID:
        return _render_form(request, snippet, result.form, status=400)
    if result.outcome == SignupOutcome.RATE_LIMITED:
        response = _message(request, snippet, rate_limited_message(), status=429)
        response["Retry-After"] = str(result.retry_after)
        return response
    return _message(request, snippet, too_large_message(), status=413)


@embeddable
@require_GET
def embed_done(request, form_id):
    """The form's text after submitting, inside the iframe (its "page after submitting" is not used
    here: another site's iframe is no place for a page of this one)."""
    snippet = get_object_or_404(SubscriptionForm, pk=form_id)
    return _page(request, snippet, "done.html")


@require_GET
@cache_control(public=True, max_age=LOADER_MAX_AGE)
def embed_loader(request, form_id):
    """The script placed on another site's page: inserts the iframe where it stands, sizes it."""
    if not embedding_enabled():
        raise Http404("embedding is turned off")
    snippet = get_object_or_404(SubscriptionForm, pk=form_id)
    urls = embed_urls(request, snippet.pk)
    config = {
        "page": urls["page"],
        "script": urls["script"],
        "title": str(frame_title(snippet)),
        "height": INITIAL_HEIGHT,
    }
    # Escaped like Django's json_script, so the code stays inert even if someone inlines it in a page.
    config_json = json.dumps(config).translate(_JSON_ESCAPES)
    script = render_to_string("wagtail_newsletter/embed/loader.js", {"config": config_json})
    return HttpResponse(script, content_type="application/javascript; charset=utf-8")
