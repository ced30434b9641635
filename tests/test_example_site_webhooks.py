"""The example site shows webhooks: ``setup_demo`` registers the site's own receiver as an endpoint; someone who
signs up on the demo's home page form makes a signed ``subscriber.subscribed`` message that the receiver verifies and
keeps, and the admin lists what it kept. A message with a wrong signature is refused and nothing is kept."""

import json
import os
import time

from django.core.management import call_command
from django.urls import reverse
from outbox.webhooks import DEMO_ENDPOINT_NAME, RECEIVER_PATH, received_webhooks

from wagtail_newsletter.api.webhooks import fanout, signing
from wagtail_newsletter.api.webhooks.models import EventType, OutboxStatus, WebhookEndpoint, WebhookMessage
from wagtail_newsletter.models import SubscriptionForm

from .signup_fixtures import subscribe_url, valid_post
from .webhook_fixtures import deliver_until_done, fast_settings


def setup_demo(settings, tmp_path):
    settings.OUTBOX_DIR = tmp_path / "outbox"  # the received webhooks are kept beside it
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    return WebhookEndpoint.objects.get(name=DEMO_ENDPOINT_NAME)


def test_the_demo_receives_a_signed_subscribed_event_when_someone_signs_up(live_server, client, settings, tmp_path):
    fast_settings(settings)
    endpoint = setup_demo(settings, tmp_path)
    assert endpoint.url.endswith(RECEIVER_PATH) and EventType.SUBSCRIBED in endpoint.events
    call_command("setup_demo", stdout=open(os.devnull, "w"))  # run again: the same endpoint, secret kept
    assert WebhookEndpoint.objects.get().secret == endpoint.secret
    # The site as it runs in this test (by address: "localhost" may not resolve here).
    endpoint.url = live_server.url.replace("localhost", "127.0.0.1") + RECEIVER_PATH
    endpoint.save(update_fields=["url"])

    form = SubscriptionForm.objects.get(name="Home page form")
    response = client.post(subscribe_url(form), valid_post(form, email="grace@example.org"))
    assert response.status_code == 303 and response.url.endswith("/thanks/")  # signed up (confirmation mailed)
    fanout.fan_out()
    assert deliver_until_done([endpoint.pk])

    received = received_webhooks()
    assert [record["payload"]["type"] for record in received] == ["subscriber.subscribed"]
    assert received[0]["payload"]["data"]["subscriber"]["email"] == "grace@example.org"
    message = WebhookMessage.objects.get(endpoint=endpoint)
    assert message.status == OutboxStatus.DELIVERED and message.response_body == "ok"
    assert received[0]["webhook_id"] == message.webhook_id and json.loads(message.body) == received[0]["payload"]


def test_the_demo_receiver_refuses_a_wrong_signature_and_keeps_nothing_and_lists_what_it_got(
    db, client, settings, tmp_path
):
    endpoint = setup_demo(settings, tmp_path)
    body = b'{"type":"subscriber.subscribed","data":{}}'
    now = int(time.time())
    forged = signing.headers([signing.secret_bytes(signing.new_secret())], "msg_1", now, body)
    stale = signing.headers(signing.signing_keys(endpoint), "msg_1", now - 3600, body)
    for headers in (forged, stale, {}):
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        response = client.post(RECEIVER_PATH, body, content_type="application/json", **extra)
        assert response.status_code == 401
    assert received_webhooks() == []
    good = signing.headers(signing.signing_keys(endpoint), "msg_2", now, body)
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in good.items()}
    assert client.post(RECEIVER_PATH, body, content_type="application/json", **extra).status_code == 200
    assert [record["webhook_id"] for record in received_webhooks()] == ["msg_2"]
    assert client.login(username="admin", password="admin")  # the demo's admin
    page = client.get(reverse("outbox:webhooks")).content.decode()
    assert "subscriber.subscribed" in page and "msg_2" in page
