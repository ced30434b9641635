"""Every ``sh`` block of docs/developers/rest-api.md, run in order by bash and curl against a live example site: the
documentation's examples work as written (each curl fails the script on an error answer). And the command that makes
a key from the command line."""

import io
import os
import pathlib
import re
import subprocess

import pytest
from django.core.management import CommandError, call_command

from wagtail_newsletter.api.rest.models import ApiKey
from wagtail_newsletter.audience.models import Group, Subscriber
from wagtail_newsletter.send import dispatch, system_mail
from wagtail_newsletter.send.models import Campaign, CampaignStatus

from .rest_api_fixtures import BASE, ApiClient, api_user_fixture, make_key_fixture  # noqa: F401

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "developers" / "rest-api.md"


@pytest.mark.django_db(transaction=True)
def test_documented_curl_examples_run(live_server, make_key, signup_snippet, newsletter, monkeypatch):
    # The campaign example pauses and resumes a sending campaign: no worker may finish it meanwhile.
    monkeypatch.setattr(dispatch, "kick_on_commit", lambda *args, **kwargs: None)
    # The sign-up's confirmation mail is queued, not run inline in the live server's thread (django-q2's sync mode
    # closes that thread's database connections mid-request).
    queued = []
    monkeypatch.setattr(system_mail, "enqueue_on_commit", lambda *args: queued.append(args))
    group = Group.objects.create(name="Docs")
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 8
    env = {**os.environ, "API": live_server.url + BASE, "KEY": make_key(), "GROUP": str(group.pk),
           "FORM": str(signup_snippet.pk), "PAGE": str(newsletter.pk)}  # fmt: skip
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + "\n".join(blocks)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    grace = Subscriber.objects.get(email="grace@example.org")
    assert (grace.last_name, grace.data) == ("Hopper", {})
    assert Subscriber.all_objects.get(email="alan@example.org").erase_after is not None
    assert Subscriber.objects.get(email="lin@example.org").status == "pending"
    assert len(queued) == 1  # lin's confirmation mail
    assert Group.objects.filter(name="Partners").exists()
    assert Campaign.objects.get().status == CampaignStatus.SENDING  # sent, paused, resumed
    assert '"rejected": 1' in result.stdout and '"next_cursor"' in result.stdout


@pytest.mark.django_db
def test_key_from_the_command_line(api_user, client):
    out = io.StringIO()
    call_command("newsletter_api_key", "deploy", "--user", api_user.username, "--scope", "read", "--days", "2",
                 stdout=out)  # fmt: skip
    plain = out.getvalue().strip()
    key = ApiKey.objects.get()
    assert (key.name, key.scopes, key.user) == ("deploy", "read", api_user) and key.expires_at is not None
    assert ApiClient(client, plain).get("/groups").status_code == 200
    with pytest.raises(CommandError):
        call_command("newsletter_api_key", "x", "--user", "nobody")
    with pytest.raises(CommandError):
        call_command("newsletter_api_key", "x", "--user", api_user.username, "--days", "0")
    assert ApiKey.objects.count() == 1
