"""Every error of the REST API is a problem document (RFC 9457) served as ``application/problem+json``.

``type`` names the kind of problem (``urn:wagtail-newsletter:problem:<kind>``, listed in docs/developers/rest-api.md),
``title`` says it in a few words, ``detail`` says what to do about this occurrence; validation problems list each
wrong value in ``errors`` with its location (``["body", "email"]``).
"""

import json
from http import HTTPStatus

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Schema

CONTENT_TYPE = "application/problem+json"


class FieldError(Schema):
    loc: list[str | int]
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class ApiProblem(Exception):
    """Raised by an endpoint to answer with a problem: ``ApiProblem(404, "not_found", "No subscriber …")``."""

    def __init__(self, status, kind, detail, errors=None, headers=None):
        super().__init__(detail)
        self.status, self.kind, self.detail, self.errors, self.headers = status, kind, str(detail), errors, headers


def problem_response(status, kind, detail, errors=None, headers=None):
    body = {
        "type": f"urn:wagtail-newsletter:problem:{kind}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": str(detail),
    }
    if errors:
        body["errors"] = [{"loc": [str(part) if not isinstance(part, int) else part for part in loc], "message": str(m)}
                          for loc, m in errors]  # fmt: skip
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_exception(exc):
    return problem_response(exc.status, exc.kind, exc.detail, exc.errors, exc.headers)


def not_found(detail=None):
    return ApiProblem(404, "not_found", detail or _("Nothing is found at this address."))


def validation_errors(ninja_errors):
    """(loc, message) pairs from django-ninja's list of pydantic errors, with the request part first."""
    pairs = []
    for error in ninja_errors:
        loc = [part for part in error.get("loc", ()) if part != "__root__"]
        message = error.get("msg", "")
        if error.get("type") == "missing":
            message = _("This value is required.")
        pairs.append((loc, message))
    return pairs
