"""The NinjaAPI object: its routers, its problem handlers and its OpenAPI document.

Every answer that is not a success is a problem (``problems``); the OpenAPI document says so: each operation lists
its error statuses as ``application/problem+json``, the write operations their ``Idempotency-Key`` header, and links
lead from what a create returns to the operations on it (for clients, and for schemathesis' stateful tests).
"""

import logging
from http import HTTPStatus

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from ..errors import NewsletterError
from . import campaigns, events, groups, subscribers, subscription
from .keys import KeyRefused, RateLimited
from .problems import CONTENT_TYPE, ApiProblem, Problem, from_exception, problem_response, validation_errors

logger = logging.getLogger(__name__)

WRITE_METHODS = ("post", "put", "patch", "delete")
# The statuses an operation may answer besides its successes.
_ERRORS = {
    "400": "The request can't be read (not JSON, a bad cursor, a bad Idempotency-Key).",
    "401": "No API key, or one that is malformed, unknown, forged or expired.",
    "403": "The API key lacks the scope, or its user the permission.",
    "404": "No such object.",
    "405": "The path does not take this method.",
    "409": "The request conflicts with the current state (the object exists, the campaign has started…).",
    "413": "The body is too large.",
    "422": "A value is not valid (each one named in errors), or an Idempotency-Key reused for another request.",
    "429": "Too many requests: try again after Retry-After seconds.",
}
_LINKS = {
    ("/subscribers", "201"): {
        "GetSubscriber": ("get", "/subscribers/{email}", {"email": "$response.body#/email"}),
        "UpdateSubscriber": ("patch", "/subscribers/{email}", {"email": "$response.body#/email"}),
        "Unsubscribe": ("post", "/subscribers/{email}/unsubscribe", {"email": "$response.body#/email"}),
        "Forget": ("post", "/subscribers/{email}/forget", {"email": "$response.body#/email"}),
    },
    ("/groups", "201"): {
        "GetGroup": ("get", "/groups/{group_id}", {"group_id": "$response.body#/id"}),
        "UpdateGroup": ("patch", "/groups/{group_id}", {"group_id": "$response.body#/id"}),
        "DeleteGroup": ("delete", "/groups/{group_id}", {"group_id": "$response.body#/id"}),
    },
    ("/fields", "201"): {"GetField": ("get", "/fields/{key}", {"key": "$response.body#/key"})},
    ("/campaigns", "201"): {
        name: (method, f"/campaigns/{{campaign_id}}{suffix}", {"campaign_id": "$response.body#/id"})
        for name, method, suffix in (
            ("GetCampaign", "get", ""),
            ("Schedule", "post", "/schedule"),
            ("Pause", "post", "/pause"),
            ("Resume", "post", "/resume"),
            ("Cancel", "post", "/cancel"),
            ("Progress", "get", "/progress"),
            ("Statistics", "get", "/statistics"),
        )  # fmt: skip
    },
}


class NewsletterApi(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        prefix = self.get_root_path(path_params or {}) if path_prefix is None else path_prefix
        document_problems(schema, prefix.rstrip("/"))
        return schema


def document_problems(schema, prefix):
    """Errors as problem+json, the Idempotency-Key header of writes, and the links between operations."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    schema["components"]["schemas"].update(schema["components"]["schemas"]["Problem"].pop("$defs", {}))
    problem = {CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    operation_ids = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            operation_ids[(method, path.removeprefix(prefix) or "/")] = operation["operationId"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status, description in _ERRORS.items():
                entry = {"description": description, "content": problem}
                if status == "429":
                    entry["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": _("Seconds.")}}
                responses[status] = entry
            if method in WRITE_METHODS and operation.get("security"):
                operation.setdefault("parameters", []).append({
                    "in": "header", "name": "Idempotency-Key", "required": False,
                    "description": "Any unique string (a UUID): the same key with the same request within 24 h "
                                   "gets the first answer again, without doing the work twice.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
                })  # fmt: skip
            for (source, status), links in _LINKS.items():
                success = responses.get(int(status), responses.get(status))  # django-ninja keys them as numbers
                if path.removeprefix(prefix) == source and method == "post" and success is not None:
                    success["links"] = {
                        name: {"operationId": operation_ids[(target_method, target)], "parameters": parameters}
                        for name, (target_method, target, parameters) in links.items()
                        if (target_method, target) in operation_ids
                    }
    return schema


api = NewsletterApi(
    title="wagtail_newsletter",
    version="1",
    description="Subscribers, groups, custom fields, sign-ups, campaigns and events of the newsletter "
    "(docs/developers/rest-api.md). Authenticate with an API key made in the admin: Authorization: Bearer wn_….",
    urls_namespace="wagtail_newsletter_api",
)
for _router in (subscribers.router, groups.router, subscription.router, campaigns.router, events.router):
    api.add_router("/", _router)


@api.exception_handler(ApiProblem)
def _problem(request, exc):
    return from_exception(exc)


@api.exception_handler(ValidationError)
def _invalid(request, exc):
    errors = validation_errors(exc.errors)
    detail = _("The request is not valid: %(where)s: %(message)s") % {
        "where": ".".join(str(part) for part in errors[0][0]) if errors else "?",
        "message": errors[0][1] if errors else "",
    }
    return problem_response(422, "validation", detail, errors)


@api.exception_handler(AuthenticationError)
def _no_key(request, exc):
    detail = _("Send an API key made in the admin: Authorization: Bearer wn_<prefix>_<secret>.")
    return problem_response(401, "unauthenticated", detail, headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(KeyRefused)
def _key_refused(request, exc):
    return problem_response(401, "unauthenticated", str(exc), headers={"WWW-Authenticate": "Bearer"})


@api.exception_handler(RateLimited)
def _rate_limited(request, exc):
    detail = _("This API key sent too many requests: try again in %(seconds)d seconds.") % {"seconds": exc.retry_after}
    return problem_response(429, "rate_limited", detail, headers={"Retry-After": str(exc.retry_after)})


@api.exception_handler(NewsletterError)
def _newsletter_error(request, exc):
    """The Python API's refusals (``api.errors``): their status, their code as the problem's type."""
    errors = [(["body", exc.field], exc.message)] if exc.field else None
    return problem_response(exc.status if exc.status < 500 else 409, exc.code, exc.message, errors)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return problem_response(404, "not_found", _("Nothing is found at this address."))


@api.exception_handler(HttpError)
def _http_error(request, exc):
    if exc.status_code == 400:
        detail = _("The body can't be read: send JSON with Content-Type: application/json.")
    else:
        detail = HTTPStatus(exc.status_code).description or str(exc)
    return problem_response(exc.status_code, "http_error", detail)


@api.exception_handler(Exception)
def _server_error(request, exc):
    logger.exception("REST API error on %s %s", request.method, request.path)
    return problem_response(500, "server_error", _("Something went wrong on our side; it has been logged."))
