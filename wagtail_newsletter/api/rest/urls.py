"""The REST API's URLs; a site mounts them where it likes::

    path("newsletter/api/v1/", include("wagtail_newsletter.api.rest.urls")),

The OpenAPI document is ``openapi.json`` there, its browsable form ``docs``. Every path below the mount point that
the API does not know answers a 404 problem, and a wrong method a 405 problem.
"""

from django.urls import URLPattern, URLResolver, re_path

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
            view = problem_on_405(idempotent(pattern.callback))
            pattern.callback = with_cors(view) if route.startswith("subscription-forms/") else view
    return patterns


def problem_on_405(view):
    """django-ninja answers a wrong method with Django's empty 405: make it a problem, keeping ``Allow``."""

    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/"):
            allowed = response.get("Allow", "")
            response = problem_response(405, "method_not_allowed", f"This path takes: {allowed}.")
            response["Allow"] = allowed
        return response

    wrapped.csrf_exempt = True
    return wrapped


def unknown_path(request, path=""):
    return problem_response(404, "not_found", "The API has no such path: see openapi.json.")


_patterns, _ninja, _namespace = api.urls
app_name = _namespace  # reversed by django-ninja to find where the site mounted the API
urlpatterns = [*_wrap(_patterns), re_path(r"^(?P<path>.*)$", unknown_path)]
