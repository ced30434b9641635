"""Fixtures of the REST API tests: a user, API keys with chosen scopes, and a JSON client that sends a key.

Named with ``name=``: a test module imports ``*_fixture`` without its arguments shadowing the import."""

import json

import pytest

from wagtail_newsletter.api.rest.keys import create_key

BASE = "/newsletter/api/v1"
ALL_SCOPES = ("read", "write", "send")


class ApiClient:
    """Django's test client speaking JSON to the API with ``key`` (None: no Authorization header)."""

    def __init__(self, client, key):
        self.client, self.key = client, key

    def call(self, method, path, body=None, headers=None, **extra):
        headers = dict(headers or {})
        if self.key is not None:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        kwargs = {"headers": headers, **extra}
        if body is not None:
            kwargs["data"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method)(BASE + path, **kwargs)

    def get(self, path, params=None, **kwargs):
        return self.client.get(BASE + path, params or {}, headers={"Authorization": f"Bearer {self.key}"}, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.call("post", path, body if body is not None else {}, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.call("patch", path, body if body is not None else {}, **kwargs)

    def delete(self, path, **kwargs):
        return self.call("delete", path, **kwargs)


@pytest.fixture(name="api_user")
def api_user_fixture(django_user_model):
    return django_user_model.objects.create_superuser("integrator", "integrator@example.org", "pw")


@pytest.fixture(name="make_key")
def make_key_fixture(api_user):
    def make(scopes=ALL_SCOPES, user=None, expires_at=None, name="test key"):
        return create_key(name, user or api_user, scopes, expires_at=expires_at)[1]

    return make


@pytest.fixture(name="api")
def api_fixture(client, make_key):
    """A client with a key of every scope."""
    return ApiClient(client, make_key())


@pytest.fixture(name="api_as")
def api_as_fixture(client, make_key):
    """``api_as(scopes=…)``: a client with a key of those scopes."""

    def make(**kwargs):
        return ApiClient(client, make_key(**kwargs))

    return make


def assert_problem(response, status, kind=None):
    """The answer is an RFC 9457 problem of ``status`` (and ``kind``); return its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if kind:
        assert body["type"] == f"urn:wagtail-newsletter:problem:{kind}", body
    return body
