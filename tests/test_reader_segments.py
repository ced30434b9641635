"""Segment behaviours of growth/reader_conditions.py: device type, mail client and country of people's opens and
clicks, and conversions. Compared with the plain-Python oracle for every scope and their NOT, machines' hits never
count, invalid values are refused with a clear message, one query, and the builder's catalogue and live count."""

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from wagtail.models import Page

from tests.segment_oracle import NOW, World, generate
from tests.track_fixtures import make_campaign
from wagtail_newsletter.admin.growth.segment_builder import catalogue
from wagtail_newsletter.growth.conditions import ConditionError, validate
from wagtail_newsletter.growth.goals import Conversion, Goal
from wagtail_newsletter.growth.segment_sql import segment_subscribers
from wagtail_newsletter.growth.segments import Segment
from wagtail_newsletter.models import Subscriber
from wagtail_newsletter.send.models import Agent, Delivery, DeviceType, Event, EventKind
from wagtail_newsletter.track.aggregate import aggregate

pytestmark = pytest.mark.django_db
LATER = NOW + datetime.timedelta(hours=1)


def _sql(conditions):
    return set(segment_subscribers(validate(conditions), now=NOW).values_list("pk", flat=True))


def _fold():
    aggregate(now=timezone.now() + datetime.timedelta(days=1))


def test_reader_behaviours_match_plain_python_for_every_scope():
    ids = generate(11, subscribers=120)
    _fold()
    world = World()
    scopes = [{}, {"campaign": ids["campaigns"][0]}, {"last_campaigns": 2}, {"last_days": 40}]
    nodes = [
        {"behaviour": "device", "devices": ["phone"]},
        {"behaviour": "device", "devices": ["computer", "tablet"]},
        {"behaviour": "client", "clients": ["Gmail"]},
        {"behaviour": "client", "clients": ["Apple Mail", "Thunderbird"]},
        {"behaviour": "client", "clients": ["Apple Mail (privacy proxy)"]},  # a machine's name: nobody
        {"behaviour": "country", "countries": ["fr"]},
        {"behaviour": "country", "countries": ["DE", "US"]},
        {"behaviour": "converted"},
        {"behaviour": "converted", "goal": ids["goals"][0]},
        {"behaviour": "converted", "goal": ids["goals"][1]},
    ]
    sizes = set()
    for node in nodes:
        for scope in scopes:
            conditions = validate({**node, "scope": scope})
            expected = world.matching(conditions)
            assert _sql(conditions) == expected, conditions
            assert _sql({"not": conditions}) == world.matching({"not": conditions}), conditions
            sizes.add(len(expected))
    assert _sql({"behaviour": "client", "scope": {}, "clients": ["Apple Mail (privacy proxy)"]}) == set()
    assert len(sizes) > 10  # neither all empty nor all the same: the comparison means something


@pytest.fixture
def reader():
    person = Subscriber.objects.create(email="reader@example.org", status="subscribed")
    other = Subscriber.objects.create(email="other@example.org", status="subscribed")
    campaign = make_campaign(started_at=NOW)
    delivery = Delivery.objects.create(campaign=campaign, subscriber=person, status=2, sent_at=NOW)
    Delivery.objects.create(campaign=campaign, subscriber=other, status=2, sent_at=NOW)
    return person, other, campaign, delivery


def _hit(delivery, kind, at, agent=Agent.BROWSER, **values):
    Event.objects.create(campaign_id=delivery.campaign_id, delivery=delivery, kind=kind, at=at, agent=agent,
                         link=0 if kind == EventKind.CLICK else None, **values)  # fmt: skip


PHONE_IN_FRANCE = {"device": DeviceType.PHONE, "client": "Gmail", "country": "FR"}
CONDITIONS = [
    {"behaviour": "device", "scope": {}, "devices": ["phone"]},
    {"behaviour": "client", "scope": {}, "clients": ["Gmail"]},
    {"behaviour": "country", "scope": {}, "countries": ["FR"]},
]


def test_machines_hits_never_count_and_not_is_their_complement(reader):
    person, other, campaign, delivery = reader
    # A pre-fetch within a second, Apple's privacy proxy and a scanner's click, each naming a device, client, country.
    _hit(delivery, EventKind.OPEN, NOW + datetime.timedelta(seconds=1), **PHONE_IN_FRANCE)
    _hit(delivery, EventKind.OPEN, LATER, agent=Agent.PRIVACY_PROXY, **PHONE_IN_FRANCE)
    _hit(delivery, EventKind.CLICK, LATER, agent=Agent.SCANNER, **PHONE_IN_FRANCE)
    _fold()
    for node in CONDITIONS:
        assert _sql(node) == set(), node
        assert _sql({"not": node}) == {person.pk, other.pk}, node
    _hit(delivery, EventKind.CLICK, LATER + datetime.timedelta(hours=1), **PHONE_IN_FRANCE)  # now a person's click
    _fold()
    for node in CONDITIONS:
        assert _sql(node) == {person.pk}, node
        assert _sql({"not": node}) == {other.pk}, node
    assert _sql({"behaviour": "device", "scope": {}, "devices": ["computer", "tablet"]}) == set()
    assert _sql({"behaviour": "country", "scope": {"campaign": campaign.pk}, "countries": ["de"]}) == set()
    assert _sql({"behaviour": "client", "scope": {"campaign": campaign.pk}, "clients": ["gmail"]}) == set()  # exact


@pytest.fixture
def goals():
    root = Page.objects.get(depth=1)
    return Goal.objects.create(name="Ticket", page=root), Goal.objects.create(name="Form", page=root, trigger="form")


def test_converted_by_goal_and_by_campaign(reader, goals):
    person, other, campaign, delivery = reader
    ticket, form = goals
    second = make_campaign(name="Second", started_at=NOW + datetime.timedelta(days=1))
    other_delivery = Delivery.objects.create(campaign=second, subscriber=other, status=2, sent_at=NOW)
    Conversion.objects.create(delivery=delivery, campaign=campaign, goal=ticket, link=0)
    Conversion.objects.create(delivery=other_delivery, campaign=second, goal=form, link=1)
    assert _sql({"behaviour": "converted", "scope": {}}) == {person.pk, other.pk}
    assert _sql({"behaviour": "converted", "scope": {}, "goal": ticket.pk}) == {person.pk}
    assert _sql({"behaviour": "converted", "scope": {"campaign": second.pk}}) == {other.pk}
    assert _sql({"behaviour": "converted", "scope": {"campaign": second.pk}, "goal": ticket.pk}) == set()
    assert _sql({"behaviour": "converted", "scope": {"last_campaigns": 1}}) == {other.pk}
    assert _sql({"not": {"behaviour": "converted", "scope": {}, "goal": form.pk}}) == {person.pk}
    # A segment saved with a goal deleted since matches nobody (its conversions went with it), and NOT everybody.
    saved = validate({"behaviour": "converted", "scope": {}, "goal": form.pk})
    form.delete()
    assert set(segment_subscribers(saved).values_list("pk", flat=True)) == set()
    assert set(segment_subscribers({"not": saved}).values_list("pk", flat=True)) == {person.pk, other.pk}


def test_reader_segment_is_one_query(reader, goals):
    conditions = validate({"or": [*CONDITIONS, {"behaviour": "converted", "scope": {"last_days": 30}}]})
    queryset = segment_subscribers(conditions, now=NOW)  # (reads the custom fields' catalogue first)
    with CaptureQueriesContext(connection) as queries:
        list(queryset.values_list("pk", flat=True))
    assert len(queries) == 1
    assert queries[0]["sql"].upper().count("EXISTS") >= 8  # each behaviour: a delivery in scope with its row


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"behaviour": "device", "scope": {}}, "devices: a list of 1 to"),
        ({"behaviour": "device", "scope": {}, "devices": []}, "devices: a list of 1 to"),
        ({"behaviour": "device", "scope": {}, "devices": "phone"}, "devices: a list of 1 to"),
        ({"behaviour": "device", "scope": {}, "devices": ["phone", "laptop"]}, "devices[1]: “laptop” is not one of"),
        ({"behaviour": "device", "scope": {}, "devices": [2]}, "devices[0]: “2” is not one of"),
        ({"behaviour": "client", "scope": {}, "clients": [""]}, "clients[0]: a mail client's name of 1 to 40"),
        ({"behaviour": "client", "scope": {}, "clients": ["G" * 41]}, "clients[0]: a mail client's name"),
        ({"behaviour": "client", "scope": {}, "clients": ["Gmail", "a\nb"]}, "clients[1]: a mail client's name"),
        ({"behaviour": "client", "scope": {}, "clients": [7]}, "clients[0]: a mail client's name"),
        ({"behaviour": "client", "scope": {}, "clients": ["x"] * 501}, "clients: a list of 1 to 500"),
        ({"behaviour": "country", "scope": {}, "countries": ["FRA"]}, "countries[0]: “FRA” is not a two-letter"),
        ({"behaviour": "country", "scope": {}, "countries": ["F1"]}, "is not a two-letter country code"),
        ({"behaviour": "country", "scope": {}, "countries": ["É"]}, "is not a two-letter country code"),
        ({"behaviour": "country", "scope": {}, "countries": [None]}, "is not a two-letter country code"),
        ({"behaviour": "converted", "scope": {}, "goal": 999999}, "goal: unknown goal 999999"),
        ({"behaviour": "converted", "scope": {}, "goal": "1"}, "goal: unknown goal 1"),
        ({"behaviour": "converted", "scope": {}, "goal": True}, "goal: unknown goal True"),
        ({"behaviour": "converted", "scope": {"campaign": 999999}}, "unknown campaign"),
        ({"behaviour": "device", "scope": {}, "devices": ["phone"], "goal": 1}, "unknown keys: goal"),
        ({"behaviour": "converted", "scope": {}, "countries": ["FR"]}, "unknown keys: countries"),
    ],
)
def test_invalid_reader_conditions_are_refused_with_a_clear_message(conditions, message):
    with pytest.raises(ConditionError) as error:
        validate(conditions)
    assert any(message in text for text in error.value.messages), error.value.messages


def test_invalid_reader_segment_is_not_saved():
    segment = Segment(name="Bad", conditions={"and": [{"behaviour": "country", "scope": {}, "countries": ["XYZ"]}]})
    with pytest.raises(Exception) as error:
        segment.full_clean()
    assert "and[0].countries[0]" in str(error.value)
    assert not Segment.objects.exists()


def test_values_are_normalised(goals):
    node = validate({"and": [
        {"behaviour": "country", "scope": {}, "countries": ["fr", " FR ", "de"]},
        {"behaviour": "client", "scope": {}, "clients": [" Gmail ", "Gmail"]},
        {"behaviour": "device", "scope": {}, "devices": ["phone", "phone"]},
        {"behaviour": "converted", "scope": {}, "goal": None},
    ]})  # fmt: skip
    assert node["and"] == [
        {"behaviour": "country", "scope": {}, "countries": ["FR", "DE"]},
        {"behaviour": "client", "scope": {}, "clients": ["Gmail"]},
        {"behaviour": "device", "scope": {}, "devices": ["phone"]},
        {"behaviour": "converted", "scope": {}},
    ]


def test_builder_offers_fixed_devices_and_the_clients_countries_and_goals_there_are(reader, goals, admin_client):
    person, other, campaign, delivery = reader
    data = catalogue()
    assert [value for value, _label in data["devices"]] == ["computer", "phone", "tablet"]
    assert data["clients"] == [] and data["countries"] == []
    assert [name for _pk, name in data["goals"]] == ["Form", "Ticket"]
    _hit(delivery, EventKind.OPEN, LATER, **PHONE_IN_FRANCE)
    _hit(delivery, EventKind.OPEN, NOW + datetime.timedelta(seconds=1), device=1, client="Scanner", country="CN")
    _fold()
    data = catalogue()
    assert data["clients"] == [["Gmail", "Gmail"]]  # the pre-fetch's values are no one's
    assert data["countries"] == [["FR", "🇫🇷 France"]]  # the code, and its name in the editor's language
    assert {b[0] for b in data["behaviours"]} >= {"device", "client", "country", "converted"}
    page = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_segment:add"))
    assert page.status_code == 200
    assert re.search(rb'"countries": \[\["FR", "[^"]*France"\]\]', page.content)  # the flag may be JSON-escaped
    response = admin_client.post(
        reverse("wagtailsnippets_wagtail_newsletter_segment:count"),
        json.dumps({"conditions": {"not": CONDITIONS[2]}}),
        content_type="application/json",
    )
    assert response.json()["count"] == 1
    assert [row["email"] for row in response.json()["sample"]] == ["other@example.org"]
    bad = admin_client.post(
        reverse("wagtailsnippets_wagtail_newsletter_segment:count"),
        json.dumps({"conditions": {"behaviour": "country", "scope": {}, "countries": ["France"]}}),
        content_type="application/json",
    )
    assert any("countries[0]" in e and "two-letter" in e for e in bad.json()["errors"]), bad.json()
