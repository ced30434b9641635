"""REST API: subscribers — list with filters and cursors, get, create, update, bulk upsert, unsubscribe, forget —
and the rules every endpoint shares: API keys (missing, malformed, forged, expired, scopes), rate limits, problems."""

import datetime

import pytest
from django.utils import timezone

from wagtail_newsletter.api.rest.models import ApiKey
from wagtail_newsletter.audience.models import (
    Field,
    Group,
    Membership,
    Source,
    Status,
    StatusEvent,
    Subscriber,
    Suppression,
    email_digest,
)

from .rest_api_fixtures import (  # noqa: F401
    ApiClient,
    api_as_fixture,
    api_fixture,
    api_user_fixture,
    assert_problem,
    make_key_fixture,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    readers = Group.objects.create(name="Readers")
    Field.objects.create(key="city", label="City")
    Field.objects.create(key="age", label="Age", type=Field.Type.NUMBER)
    rows = []
    for index, (email, status) in enumerate(
        [("ann@example.org", Status.SUBSCRIBED), ("bob@example.org", Status.UNSUBSCRIBED),
         ("cid@example.org", Status.SUBSCRIBED), ("dan@example.org", Status.PENDING)]
    ):  # fmt: skip
        rows.append(Subscriber.objects.create(email=email, status=status, data={"city": f"City {index}"}))
    Membership.objects.create(subscriber=rows[0], group=readers)
    Membership.objects.create(subscriber=rows[2], group=readers)
    return {"readers": readers, "rows": rows}


# --- authentication ---------------------------------------------------------------------------------------------------


def test_no_key_malformed_forged_and_expired_keys_get_401(client, make_key, people):
    assert_problem(ApiClient(client, None).call("get", "/subscribers"), 401, "unauthenticated")
    assert_problem(ApiClient(client, "nonsense").get("/subscribers"), 401, "unauthenticated")
    good = make_key()
    prefix, secret = good.split("_", 2)[1], good.split("_", 2)[2]
    forged = f"wn_{prefix}_{'A' * len(secret)}"
    body = assert_problem(ApiClient(client, forged).get("/subscribers"), 401, "unauthenticated")
    unknown = assert_problem(ApiClient(client, f"wn_{'0' * 12}_{secret}").get("/subscribers"), 401)
    assert body["detail"] == unknown["detail"]  # nobody learns which prefixes exist
    expired = make_key(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert "expired" in assert_problem(ApiClient(client, expired).get("/subscribers"), 401)["detail"]
    response = ApiClient(client, good).get("/subscribers")
    assert response.status_code == 200
    assert ApiKey.objects.get(prefix=prefix).last_used_at is not None


def test_key_is_stored_hashed_only(make_key):
    plain = make_key()
    row = ApiKey.objects.get()
    assert plain.split("_", 2)[2] not in (row.secret_hash, row.prefix, row.name, row.scopes)
    assert row.secret_matches(plain.split("_", 2)[2]) and not row.secret_matches("x" * 43)


def test_scopes(api_as, people):
    reader = api_as(scopes=["read"])
    assert reader.get("/subscribers").status_code == 200
    body = assert_problem(reader.post("/subscribers", {"email": "new@example.org"}), 403, "missing_scope")
    assert "write" in body["detail"]
    writer = api_as(scopes=["write"])
    assert_problem(writer.get("/subscribers"), 403, "missing_scope")
    assert writer.post("/subscribers", {"email": "new@example.org"}).status_code == 201
    assert Subscriber.objects.filter(email="new@example.org").exists()


def test_inactive_user_key_is_refused(api_user, api, people):
    api_user.is_active = False
    api_user.save()
    assert_problem(api.get("/subscribers"), 401, "unauthenticated")


def test_rate_limit_per_key_with_retry_after(api, api_as, settings, people):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "API_RATE_LIMIT": (3, 60)}
    for _ in range(3):
        assert api.get("/groups").status_code == 200
    response = api.get("/groups")
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert api_as().get("/groups").status_code == 200  # another key counts on its own


def test_unknown_path_and_wrong_method_are_problems(api):
    assert_problem(api.get("/no-such-thing"), 404, "not_found")
    response = api.call("put", "/subscribers", {})
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_malformed_json_is_a_400_problem(api):
    assert_problem(api.post("/subscribers", "{not json"), 400)


# --- reading -------------------------------------------------------------------------------------------------------


def test_list_filters_and_cursor_pagination(api, people):
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = api.get("/subscribers", params).json()
        seen += [item["email"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["ann@example.org", "bob@example.org", "cid@example.org", "dan@example.org"]
    subscribed = api.get("/subscribers", {"status": "subscribed"}).json()["items"]
    assert [item["email"] for item in subscribed] == ["ann@example.org", "cid@example.org"]
    readers = people["readers"].pk
    members = api.get("/subscribers", {"group": readers}).json()["items"]
    assert [item["email"] for item in members] == ["ann@example.org", "cid@example.org"]
    assert members[0]["groups"] == [readers] and members[0]["fields"] == {"city": "City 0"}
    assert [i["email"] for i in api.get("/subscribers", {"email_contains": "BOB"}).json()["items"]] == [
        "bob@example.org"
    ]
    assert_problem(api.get("/subscribers", {"cursor": "garbage!"}), 400, "invalid_cursor")
    assert_problem(api.get("/subscribers", {"status": "nope"}), 422, "validation")
    assert_problem(api.get("/subscribers", {"limit": 0}), 422, "validation")


def test_list_costs_the_same_queries_whatever_the_page_size(api, people, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        assert len(api.get("/subscribers", {"limit": 100}).json()["items"]) == 4


def test_get_by_email_any_case(api, people):
    body = api.get("/subscribers/ANN@example.org").json()
    assert body["email"] == "ann@example.org" and body["status"] == "subscribed"
    assert_problem(api.get("/subscribers/nobody@example.org"), 404, "not_found")


# --- writing -------------------------------------------------------------------------------------------------------


def test_create_subscribed_with_fields_and_groups(api, people, api_user):
    readers = people["readers"].pk
    response = api.post(
        "/subscribers",
        {
            "email": " New@Example.org",
            "first_name": "Nia",
            "fields": {"city": "Oslo", "age": "41"},
            "groups": [readers],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new@example.org" and body["status"] == "subscribed"
    assert body["fields"] == {"city": "Oslo", "age": 41} and body["groups"] == [readers]
    event = StatusEvent.objects.get(subscriber__email="new@example.org")
    assert event.new_status == Status.SUBSCRIBED and event.actor == api_user


def test_create_refuses_bad_input_and_changes_nothing(api, people):
    before = Subscriber.all_objects.count()
    cases = [
        ({"email": "not an address"}, ["body", "email"]),
        ({"email": "x@example.org", "fields": {"nope": "1"}}, ["body", "fields", "nope"]),
        ({"email": "x@example.org", "fields": {"age": "many"}}, ["body", "fields", "age"]),
        ({"email": "x@example.org", "first_name": "a\nb"}, ["body", "first_name"]),
        ({"email": "x@example.org", "groups": [999999]}, ["body", "groups"]),
    ]
    for payload, location in cases:
        body = assert_problem(api.post("/subscribers", payload), 422)
        assert body["errors"][0]["loc"] == location, body
    body = assert_problem(api.post("/subscribers", {"first_name": "no address"}), 422, "validation")
    assert body["errors"][0]["loc"] == ["body", "payload", "email"]
    assert_problem(api.post("/subscribers", {"email": "ann@example.org"}), 409, "exists")
    assert Subscriber.all_objects.count() == before


def test_create_refuses_a_forgotten_address(api, people):
    Suppression.objects.create(email_sha256=email_digest("gone@example.org"))
    assert_problem(api.post("/subscribers", {"email": "gone@example.org"}), 422, "refused_address")
    assert not Subscriber.all_objects.filter(email="gone@example.org").exists()


def test_create_with_double_opt_in_sends_the_forms_mail(
    api, signup_snippet, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/subscribers", {"email": "opt@example.org", "first_name": "Ola", "double_opt_in": True,
                             "form_id": signup_snippet.pk}
        )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["opt@example.org"]
    assert_problem(api.post("/subscribers", {"email": "o2@example.org", "double_opt_in": True}), 422)


def test_update_merges_fields_replaces_groups_and_keeps_status(api, people):
    other = Group.objects.create(name="Other")
    response = api.patch(
        "/subscribers/bob@example.org",
        {"last_name": "Byrne", "fields": {"age": 30, "city": None}, "groups": [other.pk]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["last_name"] == "Byrne" and body["fields"] == {"age": 30} and body["groups"] == [other.pk]
    assert body["status"] == "unsubscribed"
    assert_problem(api.patch("/subscribers/bob@example.org", {"fields": {"age": "x"}}), 422)
    assert_problem(api.patch("/subscribers/zed@example.org", {"last_name": "Z"}), 404)
    assert Subscriber.objects.get(email="bob@example.org").data == {"age": 30}


def test_bulk_upsert_respects_statuses_and_reports_rejects(api, people, django_assert_max_num_queries):
    readers = people["readers"].pk
    Suppression.objects.create(email_sha256=email_digest("gone@example.org"))
    rows = [{"email": f"bulk{i}@example.org", "fields": {"age": i}} for i in range(500)]
    rows += [
        {"email": "bob@example.org", "first_name": "Bob"},  # unsubscribed: updated, never resubscribed
        {"email": "bad address"},
        {"email": "gone@example.org"},
        {"email": "x@example.org", "fields": {"age": "old"}},
    ]
    with django_assert_max_num_queries(40):  # a fixed number for 504 rows: never one per row
        response = api.post("/subscribers/bulk", {"subscribers": rows, "groups": [readers]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["rejected"]) == (500, 1, 3)
    assert [reject["index"] for reject in body["rejects"]] == [501, 502, 503]
    bob = Subscriber.objects.get(email="bob@example.org")
    assert bob.status == Status.UNSUBSCRIBED and bob.first_name == "Bob"
    assert Subscriber.objects.get(email="bulk7@example.org").data == {"age": 7}
    assert Membership.objects.filter(group_id=readers).count() == 2 + 501


def test_bulk_upsert_takes_at_most_10000_rows(api, people):
    rows = [{"email": f"b{i}@example.org"} for i in range(10_001)]
    assert_problem(api.post("/subscribers/bulk", {"subscribers": rows}), 422, "validation")
    assert not Subscriber.objects.filter(email="b1@example.org").exists()


def test_bulk_upsert_of_10000_rows(api, people):
    rows = [{"email": f"b{i}@example.org", "first_name": "B"} for i in range(10_000)]
    response = api.post("/subscribers/bulk", {"subscribers": rows})
    assert response.status_code == 200 and response.json()["created"] == 10_000
    assert Subscriber.objects.filter(email__startswith="b", first_name="B").count() == 10_000


def test_unsubscribe_and_forget(api, people, api_user):
    body = api.post("/subscribers/ann@example.org/unsubscribe").json()
    assert body == {"email": "ann@example.org", "changed": True}
    assert api.post("/subscribers/ann@example.org/unsubscribe").json()["changed"] is False
    event = StatusEvent.objects.filter(subscriber__email="ann@example.org").latest("id")
    assert (event.new_status, event.source, event.actor) == (Status.UNSUBSCRIBED, Source.API, api_user)
    assert api.post("/subscribers/ann@example.org/forget").json()["changed"] is True
    assert_problem(api.get("/subscribers/ann@example.org"), 404)
    assert Subscriber.all_objects.get(email="ann@example.org").erase_after is not None
    assert_problem(api.post("/subscribers/ann@example.org/forget"), 404)
    assert_problem(api.post("/subscribers/zed@example.org/unsubscribe"), 404)
