"""Segments: conditions compiled to one SQL query give exactly what a plain-Python evaluation of the same conditions
over the same generated data gives (many random nested segments), operator by operator; invalid conditions are
refused with clear messages and nothing saved."""

import datetime
import random

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.segment_oracle import NOW, World, generate, random_conditions, random_field
from wagtail_newsletter.audience.models import Field, Subscriber
from wagtail_newsletter.growth.conditions import ConditionError, validate
from wagtail_newsletter.growth.segment_sql import anniversary_days, segment_subscribers
from wagtail_newsletter.growth.segments import Segment
from wagtail_newsletter.send.models import Agent, Delivery, Event, EventKind
from wagtail_newsletter.track.aggregate import aggregate

pytestmark = pytest.mark.django_db


def _world(seed, **sizes):
    ids = generate(seed, **sizes)
    aggregate(now=timezone.now() + datetime.timedelta(days=1))
    return ids, World()


def _sql(conditions):
    return set(segment_subscribers(validate(conditions), now=NOW).values_list("pk", flat=True))


@pytest.mark.parametrize("seed", [1, 2])
def test_random_nested_segments_match_plain_python(seed):
    ids, world = _world(seed)
    rng = random.Random(seed * 1000)
    sizes = []
    for _ in range(120):
        conditions = random_conditions(rng, ids)
        expected = world.matching(validate(conditions))
        assert _sql(conditions) == expected, conditions
        sizes.append(len(expected))
    # The generated segments are neither all empty nor all everybody: the comparison means something.
    assert len(set(sizes)) > 20


def test_every_field_operator_matches_plain_python():
    ids, world = _world(3)
    rng = random.Random(7)
    seen = set()
    for _ in range(400):
        node = random_field(rng)
        seen.add((node["field"], node["op"]))
        assert _sql(node) == world.matching(validate(node)), node
    assert len(seen) >= 50  # every field with (nearly) every operator of its type


def test_behaviours_match_plain_python_for_every_scope():
    ids, world = _world(4)
    behaviours = ["received", "opened", "clicked", "not_opened", "not_clicked", "bounced"]
    scopes = [{}, {"campaign": ids["campaigns"][0]}, {"last_campaigns": 2}, {"last_days": 40}]
    for kind in behaviours:
        for scope in scopes:
            node = {"behaviour": kind, "scope": scope}
            assert _sql(node) == world.matching(node), node
            assert _sql({"not": node}) == world.matching({"not": node}), node
    for node in (
        {"behaviour": "bounced", "scope": {}, "hard": True},
        {"behaviour": "unengaged", "scope": {"last_campaigns": 3}},
        {"behaviour": "clicked_link", "scope": {"campaign": ids["campaigns"][1]}, "link": 1},
        {"behaviour": "clicked_link_containing", "scope": {}, "text": "CONCERT"},
        {"behaviour": "clicked_link_containing", "scope": {"last_campaigns": 2}, "text": "shop"},
    ):
        assert _sql(node) == world.matching(node), node


def test_segment_is_one_query():
    ids, _world_ = _world(5, subscribers=30)
    conditions = validate(
        {"and": [{"field": "data.city", "op": "is", "value": "Lyon"}, {"groups": "none", "ids": ids["groups"][:1]},
                 {"or": [{"behaviour": "opened", "scope": {"last_campaigns": 3}},
                         {"not": {"behaviour": "bounced", "scope": {}}}]}]}
    )  # fmt: skip
    queryset = segment_subscribers(conditions, now=NOW)
    with CaptureQueriesContext(connection) as queries:
        list(queryset.values_list("pk", flat=True))
    assert len(queries) == 1
    assert "EXISTS" in queries[0]["sql"].upper()


def test_machine_opens_and_scanner_clicks_never_count():
    Field.objects.create(key="city", label="City")
    person = Subscriber.objects.create(email="reader@example.org", status="subscribed")
    from tests.track_fixtures import make_campaign

    campaign = make_campaign(started_at=NOW)
    delivery = Delivery.objects.create(campaign=campaign, subscriber=person, status=2, sent_at=NOW)
    Event.objects.bulk_create(
        [
            Event(campaign=campaign, delivery=delivery, kind=EventKind.OPEN, at=NOW + datetime.timedelta(hours=1),
                  agent=Agent.PRIVACY_PROXY),
            Event(campaign=campaign, delivery=delivery, kind=EventKind.OPEN, at=NOW + datetime.timedelta(seconds=1)),
            Event(campaign=campaign, delivery=delivery, kind=EventKind.CLICK, link=0, agent=Agent.SCANNER,
                  at=NOW + datetime.timedelta(hours=1)),
        ]
    )  # fmt: skip
    aggregate(now=timezone.now() + datetime.timedelta(days=1))
    for kind in ("opened", "clicked"):
        assert _sql({"behaviour": kind, "scope": {}}) == set()
    assert _sql({"behaviour": "not_opened", "scope": {}}) == {person.pk}
    Event.objects.create(campaign=campaign, delivery=delivery, kind=EventKind.CLICK, link=0,
                         at=NOW + datetime.timedelta(hours=3))  # fmt: skip
    aggregate(now=timezone.now() + datetime.timedelta(days=1))
    assert _sql({"behaviour": "opened", "scope": {}}) == {person.pk}  # a person's click means they opened it
    assert _sql({"behaviour": "clicked_link", "scope": {"campaign": campaign.pk}, "link": 0}) == {person.pk}


def test_not_of_a_missing_custom_value_is_true():
    Field.objects.create(key="city", label="City")
    Field.objects.create(key="age", label="Age", type="number")
    empty = Subscriber.objects.create(email="empty@example.org")
    lyon = Subscriber.objects.create(email="lyon@example.org", data={"city": "Lyon", "age": "old"})
    assert _sql({"not": {"field": "data.city", "op": "is", "value": "lyon"}}) == {empty.pk}
    # A text in a number field never matches a number comparison (and PostgreSQL does not fail on it).
    assert _sql({"field": "data.age", "op": "gt", "value": 1}) == set()
    assert _sql({"not": {"field": "data.age", "op": "gt", "value": 1}}) == {empty.pk, lyon.pk}
    assert _sql({"field": "data.city", "op": "is_empty"}) == {empty.pk}


def test_anniversary_counts_29_february_on_the_28th():
    assert "02-29" in anniversary_days(datetime.date(2027, 2, 27), 2)
    assert "02-29" not in anniversary_days(datetime.date(2028, 2, 26), 2)
    assert anniversary_days(datetime.date(2026, 12, 30), 3) == ["01-01", "01-02", "12-30", "12-31"]


def test_deleted_custom_field_matches_nobody():
    Field.objects.create(key="city", label="City")
    Subscriber.objects.create(email="a@example.org", data={"city": "Lyon"})
    conditions = validate({"field": "data.city", "op": "is", "value": "Lyon"})
    Field.objects.all().delete()
    assert set(segment_subscribers(conditions)) == set()


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"field": "shoe_size", "op": "is", "value": "9"}, "field: unknown field"),
        ({"field": "email", "op": "gt", "value": "a"}, "op: unknown operator"),
        ({"field": "email", "op": "is", "value": ""}, "value: a text"),
        ({"field": "email", "op": "is", "value": "a\nb"}, "value: a text"),
        ({"field": "created_at", "op": "lt", "value": "2026-13-01"}, "value: a date"),
        ({"field": "created_at", "op": "between", "value": ["2026-02-01", "2026-01-01"]}, "not be above"),
        ({"field": "status", "op": "is_one_of", "value": ["gone"]}, "is not one of"),
        ({"field": "created_at", "op": "in_last_days", "value": -1}, "whole number of days"),
        ({"field": "created_at", "op": "in_last_days", "value": True}, "whole number of days"),
        ({"groups": "some", "ids": [1]}, "groups: must be one of"),
        ({"groups": "any", "ids": [999999]}, "unknown group"),
        ({"behaviour": "teleported", "scope": {}}, "unknown behaviour"),
        ({"behaviour": "opened", "scope": {"campaign": 999999}}, "unknown campaign"),
        ({"behaviour": "opened", "scope": {"last_days": 3, "last_campaigns": 2}}, "choose one"),
        ({"behaviour": "clicked_link", "scope": {}, "link": 0}, "must be one of"),
        ({"behaviour": "unengaged", "scope": {"last_days": 30}}, "must be one of"),
        ({"behaviour": "opened", "scope": {}, "sql": "1=1"}, "unknown keys: sql"),
        ({"and": []}, "non-empty list"),
        ({"and": [{"field": "email", "op": "is", "value": "a"}], "or": []}, "alone"),
        ({"where": "1=1; DROP TABLE x"}, "unknown condition"),
        ("email = 'a'", "must be an object"),
        (
            {
                "not": {
                    "not": {
                        "not": {
                            "not": {"not": {"not": {"not": {"not": {"not": {"field": "email", "op": "is_empty"}}}}}}
                        }
                    }
                }
            },
            "nested too deep",
        ),  # fmt: skip
    ],
)
def test_invalid_conditions_are_refused_with_a_clear_message(conditions, message):
    with pytest.raises(ConditionError) as error:
        validate(conditions)
    assert any(message in text for text in error.value.messages), error.value.messages


def test_invalid_segment_is_not_saved_and_error_says_where():
    segment = Segment(name="Bad", conditions={"and": [{"field": "email", "op": "is", "value": "a"},
                                                       {"field": "email", "op": "near", "value": "b"}]})  # fmt: skip
    with pytest.raises(ValidationError) as error:
        segment.full_clean()
    assert "and[1].op" in str(error.value.message_dict["conditions"])
    assert not Segment.objects.exists()


def test_validation_normalises_values():
    Field.objects.create(key="plan", label="Plan", type="choice", choices="Free\nPro")
    node = validate({"or": [{"field": "data.plan", "op": "is_one_of", "value": ["Pro", "Pro"]},
                            {"field": "email", "op": "contains", "value": "  lyon "}]})  # fmt: skip
    assert node == {"or": [{"field": "data.plan", "op": "is_one_of", "value": ["Pro"]},
                           {"field": "email", "op": "contains", "value": "lyon"}]}  # fmt: skip
    with pytest.raises(ConditionError):
        validate({"field": "data.plan", "op": "is_one_of", "value": ["Gold"]})
