"""The REST API's URLs; a site mounts them where it likes::

    path("newsletter/api/v1/", include("wagtail_newsletter.api.rest.urls")),

The OpenAPI document is ``openapi.json`` there, its browsable form ``docs``. Every path below the mount point that
the API does not know answers a 404 problem, and a wrong method a 405 problem.
"""

import re

from django.urls import URLPattern, URLResolver, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .app import api
from .cors import with_cors
from .idempotency import idempotent
from .problems import problem_response


def _wrap(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _wrap(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            route = str(pattern.pattern)
            view = guarded(idempotent(pattern.callback))
            pattern.callback = with_cors(view) if route.startswith("subscription-forms/") else view
    return patterns


# A NUL character (PostgreSQL text can't hold one) or half a surrogate pair (not UTF-8) in a JSON string.
_UNSTORABLE_ESCAPE = re.compile(
    rb"\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}",
    re.IGNORECASE,
)


def _unstorable(request):
    texts = [request.path, *request.GET.keys(), *(value for values in request.GET.lists() for value in values[1])]
    return any("\x00" in text for text in texts) or b"\x00" in request.body or _UNSTORABLE_ESCAPE.search(request.body)


def guarded(view):
    """Refuse text no database column can store (422, before any query), and make django-ninja's empty 405 for a wrong
    method a problem, keeping ``Allow``."""

    def wrapped(request, *args, **kwargs):
        if _unstorable(request):
            message = _("Text may not contain NUL characters or unpaired surrogates.")
            return problem_response(422, "invalid_value", message)
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/"):
            allowed = response.get("Allow", "")
            response = problem_response(
                405, "method_not_allowed", _("This path takes: %(methods)s.") % {"methods": allowed}
            )
            response["Allow"] = allowed
        return response

    wrapped.csrf_exempt = True
    return wrapped


@csrf_exempt  # a POST to an unknown path (e.g. a malformed id) is a 404 problem too, not Django's CSRF page
def unknown_path(request, path=""):
    return problem_response(404, "not_found", _("The API has no such path: see openapi.json."))


_patterns, _ninja, _namespace = api.urls
app_name = _namespace  # reversed by django-ninja to find where the site mounted the API
urlpatterns = [*_wrap(_patterns), re_path(r"^(?P<path>.*)$", unknown_path)]
