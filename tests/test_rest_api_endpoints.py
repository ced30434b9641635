"""REST API: groups, custom fields, campaigns (create from a page, send, schedule, pause, resume, cancel, progress,
statistics), the events export, the public sign-up (the forms' checks, CORS), idempotent writes and the admin's
API keys."""

import datetime
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.api.rest.models import ApiKey, IdempotentResponse
from wagtail_newsletter.audience.abuse import make_render_stamp
from wagtail_newsletter.audience.models import Consent, Field, Group, Subscriber
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, Event, EventKind

from .campaign_admin_fixtures import audience_fixture  # noqa: F401
from .rest_api_fixtures import (  # noqa: F401
    ApiClient,
    api_as_fixture,
    api_fixture,
    api_user_fixture,
    assert_problem,
    make_key_fixture,
)

pytestmark = pytest.mark.django_db


# --- groups and fields ----------------------------------------------------------------------------------------------


def test_groups_crud(api, audience):
    listed = api.get("/groups").json()
    assert {group["name"]: group["subscribers"] for group in listed} == {"Friends": 2, "Readers": 3}
    created = api.post("/groups", {"name": "VIP", "public": True})
    assert created.status_code == 201
    group_id = created.json()["id"]
    assert_problem(api.post("/groups", {"name": "VIP"}), 409, "exists")
    assert_problem(api.post("/groups", {"name": "  "}), 422)
    assert api.patch(f"/groups/{group_id}", {"description": "Best"}).json()["description"] == "Best"
    assert_problem(api.patch(f"/groups/{group_id}", {"name": "Readers"}), 409, "exists")
    assert api.delete(f"/groups/{group_id}").status_code == 204
    assert_problem(api.get(f"/groups/{group_id}"), 404, "not_found")
    assert_problem(api.get(f"/groups/{2**63}"), 422, "validation")


def test_fields(api, db):
    created = api.post("/fields", {"key": "colour", "label": "Colour", "type": "choice", "choices": ["Red", "Blue"]})
    assert created.status_code == 201, created.content
    assert api.get("/fields/colour").json()["choices"] == ["Red", "Blue"]
    assert_problem(api.post("/fields", {"key": "colour", "label": "Again"}), 409, "exists")
    assert_problem(api.post("/fields", {"key": "email", "label": "Built-in"}), 422, "invalid_value")
    assert_problem(api.post("/fields", {"key": "size", "label": "Size", "type": "choice"}), 422, "invalid_value")
    assert [field["key"] for field in api.get("/fields").json()] == ["colour"]
    assert_problem(api.get("/fields/nope"), 404)
    assert Field.objects.count() == 1


# --- campaigns ----------------------------------------------------------------------------------------------------


def test_campaign_lifecycle(api, audience, newsletter):
    readers = audience["readers"].pk
    response = api.post("/campaigns", {"page_id": newsletter.pk, "groups": [readers]})
    assert response.status_code == 201, response.content
    campaign = response.json()
    assert campaign["status"] == "draft" and campaign["groups"] == [readers]
    path = f"/campaigns/{campaign['id']}"
    assert_problem(api.post(f"{path}/pause"), 409, "invalid_state")
    sent = api.post(f"{path}/schedule", {})
    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "sending" and sent.json()["recipient_count"] == 2
    assert_problem(api.post(f"{path}/schedule", {}), 409, "invalid_state")
    assert api.post(f"{path}/pause").json()["status"] == "paused"
    assert api.post(f"{path}/resume").json()["status"] == "sending"
    progress = api.get(f"{path}/progress").json()
    assert progress["total"] == 2 and progress["queued"] == 2
    assert api.post(f"{path}/cancel").json()["status"] == "cancelled"
    assert set(Delivery.objects.filter(campaign_id=campaign["id"]).values_list("status", flat=True)) == {4}
    statistics = api.get(f"{path}/statistics").json()
    assert statistics["recipients"] == 2 and statistics["sent"] == 0
    assert [item["id"] for item in api.get("/campaigns").json()["items"]] == [campaign["id"]]


def test_campaign_schedule_and_refusals(api, api_as, audience, newsletter, django_user_model):
    campaign = api.post("/campaigns", {"page_id": newsletter.pk, "all_subscribers": True}).json()
    path = f"/campaigns/{campaign['id']}"
    assert_problem(api.post(f"{path}/schedule", {"at": "2001-01-01T00:00:00Z"}), 409, "invalid_state")
    at = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    assert api.post(f"{path}/schedule", {"at": at}).json()["status"] == "scheduled"
    assert api.post(f"{path}/cancel").json()["status"] == "cancelled"
    assert_problem(api.post("/campaigns", {"page_id": 999999}), 422, "invalid_value")
    assert_problem(api.post("/campaigns", {"page_id": newsletter.pk}), 422, "invalid_value")  # no audience
    writer = api_as(scopes=["write"])
    other = writer.post("/campaigns", {"page_id": newsletter.pk, "all_subscribers": True}).json()
    assert_problem(writer.post(f"/campaigns/{other['id']}/schedule", {}), 403, "missing_scope")
    clerk = django_user_model.objects.create_user("clerk", "clerk@example.org", "pw")
    assert_problem(api_as(user=clerk).post(f"/campaigns/{other['id']}/schedule", {}), 403, "forbidden")
    assert Campaign.objects.get(pk=other["id"]).status == CampaignStatus.DRAFT
    assert_problem(api.get("/campaigns/999999"), 404)


# --- events ---------------------------------------------------------------------------------------------------------


def test_events_export_since_and_cursor(api, audience, newsletter):
    campaign = api.post("/campaigns", {"page_id": newsletter.pk, "all_subscribers": True}).json()
    api.post(f"/campaigns/{campaign['id']}/schedule", {})
    deliveries = list(Delivery.objects.filter(campaign_id=campaign["id"]).order_by("id"))
    old = timezone.now() - datetime.timedelta(days=2)
    Event.objects.create(campaign_id=campaign["id"], delivery=deliveries[0], kind=EventKind.OPEN, at=old)
    for delivery in deliveries:
        Event.objects.create(campaign_id=campaign["id"], delivery=delivery, kind=EventKind.CLICK, link=0)
    since = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    seen, cursor = [], None
    while True:
        page = api.get("/events", {"since": since, "limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == len(deliveries) and {item["kind"] for item in seen} == {"click"}
    assert {item["email"] for item in seen} == {d.subscriber.email for d in deliveries}
    assert len(api.get("/events", {"kind": "open"}).json()["items"]) == 1
    assert_problem(api.get("/events", {"kind": "nope"}), 422)
    assert_problem(api.get("/events", {"since": "yesterday"}), 422)


# --- the public sign-up -------------------------------------------------------------------------------------------


def _signup(client, form, origin=None, **body):
    payload = {"email": "ada@example.org", "consent": True, "rendered": make_render_stamp(form.pk),
               "fields": {"first_name": "Ada"}, **body}  # fmt: skip
    headers = {"Origin": origin} if origin else {}
    return client.post(f"/newsletter/api/v1/subscription-forms/{form.pk}/signups", json.dumps(payload),
                       content_type="application/json", headers=headers)  # fmt: skip


def test_signup_double_opt_in_and_checks(client, signup_snippet, mailoutbox, django_capture_on_commit_callbacks):
    form = client.get(f"/newsletter/api/v1/subscription-forms/{signup_snippet.pk}").json()
    assert form["fields"][0]["name"] == "email" and form["stamp"]
    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client, signup_snippet)
    assert response.status_code == 202, response.content
    assert Subscriber.objects.get(email="ada@example.org").status == "pending"
    assert len(mailoutbox) == 1
    assert _signup(client, signup_snippet, honeypot="http://spam").status_code == 202  # a bot: looks accepted
    body = assert_problem(_signup(client, signup_snippet, email="x@example.org", consent=False), 422)
    assert body["errors"][0]["loc"] == ["body", "consent"]
    assert_problem(_signup(client, signup_snippet, email="y@example.org", rendered="forged"), 422)
    assert_problem(_signup(client, signup_snippet, email="z@example.org", fields={}), 422)  # first name required
    assert Consent.objects.count() == 1 and Subscriber.all_objects.count() == 1


def test_signup_rate_limit_per_ip(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "RATE_LIMIT_PER_IP": (1, 600)}
    assert _signup(client, signup_snippet).status_code == 202
    response = _signup(client, signup_snippet, email="b@example.org")
    assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"] == "600"


def test_signup_cors(client, signup_snippet, settings):
    assert "Access-Control-Allow-Origin" not in _signup(client, signup_snippet, origin="https://partner.example")
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER,
                                   "API_CORS_ALLOWED_ORIGINS": ["https://partner.example"]}  # fmt: skip
    url = f"/newsletter/api/v1/subscription-forms/{signup_snippet.pk}/signups"
    preflight = client.options(url, headers={"Origin": "https://partner.example",
                                             "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "https://partner.example"
    response = _signup(client, signup_snippet, origin="https://partner.example", email="c@example.org")
    assert response["Access-Control-Allow-Origin"] == "https://partner.example"
    assert "Access-Control-Allow-Origin" not in _signup(client, signup_snippet, origin="https://evil.example")
    api_answer = client.get("/newsletter/api/v1/groups", headers={"Origin": "https://partner.example"})
    assert "Access-Control-Allow-Origin" not in api_answer  # keyed endpoints are not for browsers


# --- idempotency ----------------------------------------------------------------------------------------------------


def test_idempotent_writes(api, api_as, db):
    headers = {"Idempotency-Key": "create-vip-1"}
    first = api.post("/groups", {"name": "VIP"}, headers=headers)
    again = api.post("/groups", {"name": "VIP"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Group.objects.filter(name="VIP").count() == 1
    assert_problem(api.post("/groups", {"name": "Other"}, headers=headers), 422, "idempotency_key_reused")
    assert not Group.objects.filter(name="Other").exists()
    other_key = api_as().post("/groups", {"name": "VIP"}, headers=headers)  # another key: its own answer
    assert_problem(other_key, 409, "exists")
    assert_problem(api.post("/groups", {"name": "X"}, headers={"Idempotency-Key": "é"}), 400)
    IdempotentResponse.objects.update(created_at=timezone.now() - datetime.timedelta(hours=25))
    assert_problem(api.post("/groups", {"name": "VIP"}, headers=headers), 409, "exists")  # 24 h later: done again


def test_refused_writes_are_not_kept(api_as, db):
    reader = api_as(scopes=["read"])
    assert_problem(reader.post("/groups", {"name": "VIP"}, headers={"Idempotency-Key": "k"}), 403)
    assert IdempotentResponse.objects.count() == 0


# --- the admin ------------------------------------------------------------------------------------------------------


def test_admin_creates_a_key_shown_once(admin_client, admin_user, client):
    url = reverse("newsletter_api_keys:add")
    response = admin_client.post(url, {"name": "CRM", "scope_choices": ["read", "write"], "expires_at": ""})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    plain = response.context["plain_key"]
    assert plain in response.content.decode()
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.user) == ("CRM", "read write", admin_user)
    assert plain not in admin_client.get(reverse("newsletter_api_keys:edit", args=[key.pk])).content.decode()
    assert plain not in admin_client.get(reverse("newsletter_api_keys:index")).content.decode()
    assert ApiClient(client, plain).get("/groups").status_code == 200
    admin_client.post(reverse("newsletter_api_keys:delete", args=[key.pk]))
    assert_problem(ApiClient(client, plain).get("/groups"), 401)


def test_text_no_database_can_store_is_refused_before_any_query(api, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert_problem(api.post("/groups", '{"name": "a\\u0000b"}'), 422, "invalid_value")
        assert_problem(api.post("/groups", '{"name": "\\ud83d"}'), 422, "invalid_value")
        assert_problem(api.get("/subscribers", {"email_contains": "a\x00"}), 422, "invalid_value")
    assert api.post("/groups", '{"name": "Smile \\ud83d\\ude00"}').json()["name"] == "Smile \U0001f600"


def test_openapi_document_and_docs_page(client, db):
    document = client.get("/newsletter/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    create = document["paths"]["/newsletter/api/v1/subscribers"]["post"]
    assert create["responses"]["422"]["content"]["application/problem+json"]
    assert "GetSubscriber" in create["responses"]["201"]["links"]  # serialised: the status as a string
    assert any(parameter["name"] == "Idempotency-Key" for parameter in create["parameters"])
    assert client.get("/newsletter/api/v1/docs").status_code == 200


def test_a_post_to_a_malformed_path_is_a_404_problem_not_a_csrf_page(db):
    """schemathesis found it: ``campaigns/-1.1e-15/cancel`` matches no route, and the catch-all answered Django's CSRF
    page (HTML 403) to a POST from a client without cookies."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    for path in ("campaigns/-1.129996705792469e-15/cancel", "no/such/thing"):
        assert_problem(
            client.post(f"/newsletter/api/v1/{path}", "{}", content_type="application/json"), 404, "not_found"
        )


def test_times_with_any_offset_or_out_of_range_are_answered_not_crashed(api, db):
    """schemathesis found it on PostgreSQL: ``created_after=0003-01-28T21:41:24+18:06`` (an offset PostgreSQL refuses)
    was a 500. Times are turned into UTC first; one that has no UTC equivalent is a 422 problem."""
    far_offset = {"created_after": "0003-01-28T21:41:24+18:06", "updated_after": "2026-01-01T00:00:00-17:30"}
    assert api.get("/subscribers", far_offset).status_code == 200
    assert api.get("/events", {"since": "0003-01-28T21:41:24+18:06"}).status_code == 200
    assert_problem(api.get("/subscribers", {"created_after": "0001-01-01T00:00:00+01:00"}), 422, "invalid_value")
    assert_problem(api.get("/events", {"since": "0001-01-01T00:00:00+01:00"}), 422, "invalid_value")
