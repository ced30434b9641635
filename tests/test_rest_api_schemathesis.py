"""schemathesis against the served OpenAPI document, in-process through Django's WSGI app, on the test database:
every operation fuzzed (positive cases: schema-valid but arbitrary values), then stateful sequences following the
document's links (create -> get / update / unsubscribe / forget / schedule / pause …). No answer may be a 5xx, and
every answer must match the document: status code, content type (problems are application/problem+json), headers
and body schema. Sized for CI (a minute or two per database): WN_SCHEMATHESIS_EXAMPLES raises it."""

import os

import hypothesis
import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from wagtail_newsletter.audience.models import Field, Group, Subscriber

from .rest_api_fixtures import BASE, api_user_fixture, make_key_fixture  # noqa: F401

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("WN_SCHEMATHESIS_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run and both databases: a failure reproduces
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
)


@pytest.fixture
def wsgi_app(settings):
    """Django's WSGI app on the test's own connection: as the test client does, requests must not close it."""
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "API_RATE_LIMIT": (1_000_000, 60)}
    settings.ALLOWED_HOSTS = ["*"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def data(newsletter):
    """Something for the fuzzer to find: groups, fields, subscribers, a newsletter page."""
    Group.objects.create(name="Readers")
    Field.objects.create(key="city", label="City")
    for index in range(3):
        Subscriber.objects.create(email=f"person{index}@example.org", status="subscribed")
    return newsletter


@pytest.fixture
def api_schema(wsgi_app, data):
    return schemathesis.openapi.from_wsgi(f"{BASE}/openapi.json", wsgi_app)


def test_every_operation_fuzzed(api_schema, make_key):
    headers = {"Authorization": f"Bearer {make_key()}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @SETTINGS
        @hypothesis.given(case=operation.as_strategy())
        def fuzz(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        fuzz()


def test_stateful_sequences(api_schema, make_key):
    key = make_key()
    workflow = api_schema.as_state_machine()
    answered = []  # (method, path template, status) of every call

    class Workflow(workflow):
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {key}"}}

        def after_call(self, response, case):
            answered.append((case.method, case.path, response.status_code))

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))

    Workflow.run(
        settings=hypothesis.settings(
            SETTINGS, max_examples=max(EXAMPLES // 2, 5), stateful_step_count=6, phases=[hypothesis.Phase.generate]
        )
    )
    # The sequences did follow links: something was created, then an operation on it answered with a success.
    assert any(method == "POST" and status == 201 for method, _path, status in answered)
    assert any("{" in path and status < 300 for _method, path, status in answered), answered[:50]
