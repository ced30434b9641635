"""Idempotency under a race: the same write with the same Idempotency-Key, sent by several clients at the same
moment (each its own thread and database connection), is done once; every client gets the first answer."""

import json

import pytest
from django.test import Client

from wagtail_newsletter.api.rest.models import IdempotentResponse
from wagtail_newsletter.audience.models import Group

from .rest_api_fixtures import BASE, api_user_fixture, make_key_fixture  # noqa: F401
from .threads import run_threads


@pytest.mark.django_db(transaction=True)
def test_racing_retries_do_the_work_once(make_key):
    key = make_key()
    answers = [None] * 4

    def post(index):
        answers[index] = Client().post(
            f"{BASE}/groups", json.dumps({"name": "Raced"}), content_type="application/json",
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "race-1"},
        )  # fmt: skip

    run_threads(4, post)
    assert Group.objects.filter(name="Raced").count() == 1
    assert [answer.status_code for answer in answers] == [201] * 4, [a.content for a in answers]
    assert len({answer.content for answer in answers}) == 1
    assert sum(answer.has_header("Idempotent-Replayed") for answer in answers) == 3
    assert IdempotentResponse.objects.count() == 1
