"""Webhook endpoints in the admin: registered with a secret and its owner, a bad URL or event refused with nothing
written, the secret rotated, enabled again after being disabled; the delivery log lists messages with their status,
shows the body sent and the answer, and replays a message."""

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from wagtail_newsletter.api.webhooks import fanout
from wagtail_newsletter.api.webhooks.delivery import disable
from wagtail_newsletter.api.webhooks.models import EventType, OutboxStatus, WebhookEndpoint, WebhookMessage
from wagtail_newsletter.audience.models import Subscriber

from .webhook_fixtures import add_clicks, audience_with_deliveries, deliver_until_done, fast_settings, register
from .webhook_receiver import Receiver

pytestmark = pytest.mark.django_db


def test_register_an_endpoint_with_its_secret_and_owner(admin_client, admin_user):
    response = admin_client.post(
        reverse("newsletter_webhooks:add"),
        {"name": "CRM", "url": "https://crm.example.org/hooks", "events": ["message.clicked", "subscriber.confirmed"],
         "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.created_by == admin_user and endpoint.secret.startswith("whsec_")
    assert endpoint.events == ["message.clicked", "subscriber.confirmed"]
    html = admin_client.get(reverse("newsletter_webhooks:edit", args=[endpoint.pk])).content.decode()
    assert endpoint.secret in html

    old = endpoint.secret
    admin_client.post(reverse("newsletter_webhooks:rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old and endpoint.previous_secret_until


def test_bad_input_is_refused_and_writes_nothing(admin_client):
    response = admin_client.post(
        reverse("newsletter_webhooks:add"), {"name": "x", "url": "ftp://example.org/", "events": ["nonsense"]}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) == {"url", "events"}
    assert not WebhookEndpoint.objects.exists()


def test_delivery_log_shows_status_body_and_answer_and_replays(admin_client, settings):
    fast_settings(settings)
    receiver = Receiver()
    _campaign, deliveries = audience_with_deliveries(1)
    endpoint = register(receiver.url, [EventType.CLICKED])
    receiver.secrets = [endpoint.secret]
    receiver.start()
    try:
        add_clicks(deliveries, 1)
        fanout.fan_out()
        assert deliver_until_done([endpoint.pk])
    finally:
        receiver.stop()
    message = WebhookMessage.objects.get()
    # The exact body posted is kept for a delivered message too, with the answer.
    assert json.loads(message.body) == receiver.accepted[0][1] and message.response_body == "ok"
    Subscriber.objects.update(email="renamed@example.net")  # the log shows what was sent, not today's rows
    listing = admin_client.get(reverse("newsletter_webhook_log:index"), {"endpoint": endpoint.pk}).content.decode()
    assert message.webhook_id in listing and "Delivered" in listing
    detail = admin_client.get(reverse("newsletter_webhook_log:detail", args=[message.pk])).content.decode()
    assert "message.clicked" in detail and "reader0@example.net" in detail and ">ok<" in detail
    assert "renamed@example.net" not in detail and "Not sent yet" not in detail

    admin_client.post(reverse("newsletter_webhook_log:detail", args=[message.pk]))
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and message.attempts == 0


def test_a_disabled_endpoint_is_enabled_again_from_its_page(admin_client):
    endpoint = register("http://127.0.0.1:9/", [EventType.CLICKED])
    disable(endpoint, "Every delivery failed.")
    html = admin_client.get(reverse("newsletter_webhooks:edit", args=[endpoint.pk])).content.decode()
    assert "This endpoint is disabled" in html
    admin_client.post(reverse("newsletter_webhooks:enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_at is None


def test_editors_without_permission_see_no_log(client, django_user_model):
    user = django_user_model.objects.create_user("editor", "e@example.org", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    response = client.get(reverse("newsletter_webhook_log:index"))
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")  # Wagtail's "no permission"
