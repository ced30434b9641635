"""CORS for the public sign-up endpoints: browsers on the origins of ``API_CORS_ALLOWED_ORIGINS`` may call them.

Only those endpoints: the others are called with an API key, which never belongs in a page's script.
"""

from django.http import HttpResponse

from ...conf import newsletter_settings

_MAX_AGE = str(24 * 3600)


def _allowed_origin(origin):
    allowed = newsletter_settings.API_CORS_ALLOWED_ORIGINS
    if not origin:
        return None
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


def with_cors(view):
    def wrapped(request, *args, **kwargs):
        origin = _allowed_origin(request.META.get("HTTP_ORIGIN", ""))
        if request.method == "OPTIONS" and request.META.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"):
            response = HttpResponse(status=204)
            if origin:
                response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response["Access-Control-Allow-Headers"] = "Content-Type"
                response["Access-Control-Max-Age"] = _MAX_AGE
        else:
            response = view(request, *args, **kwargs)
        if origin:
            response["Access-Control-Allow-Origin"] = origin
            if origin != "*":
                response["Vary"] = "Origin"
        return response

    wrapped.csrf_exempt = True
    return wrapped
