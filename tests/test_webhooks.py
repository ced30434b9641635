"""Outbound webhooks against a real HTTP receiver on 127.0.0.1 (tests/webhook_receiver.py) that verifies signatures
with its own code: fan-out from the logs, campaign events, delivery with random 500s, timeouts and an outage (nothing
lost, order per subscriber kept), secret rotation, giving up, disabling with a mail to the owner, replay."""

import datetime
import re
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from wagtail_newsletter.api.webhooks import delivery, endpoints, fanout, signing
from wagtail_newsletter.api.webhooks.models import EventType, OutboxStatus, WebhookEndpoint, WebhookMessage
from wagtail_newsletter.audience.models import Source, Status, Subscriber
from wagtail_newsletter.audience.services import (
    change_status,
    erase_forgotten,
    forget_subscribers,
    record_status_events,
)
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import CampaignStatus, Event

from .webhook_fixtures import (
    add_clicks,
    arrival_order_is_kept,
    audience_with_deliveries,
    deliver_until_done,
    fast_settings,
    register,
)
from .webhook_receiver import InvalidSignature, Receiver, verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def test_signature_is_verified_by_the_receivers_own_code_and_rotation_signs_with_both():
    endpoint = WebhookEndpoint(secret=signing.new_secret())
    body = b'{"type":"message.clicked"}'
    now = int(time.time())
    sent = signing.headers(signing.signing_keys(endpoint), "msg_1", now, body)
    assert verify(endpoint.secret, sent, body)["type"] == "message.clicked"
    with pytest.raises(InvalidSignature):
        verify(endpoint.secret, sent, body + b" ")  # altered body
    with pytest.raises(InvalidSignature):
        verify(endpoint.secret, {**sent, "webhook-id": "msg_2"}, body)
    with pytest.raises(InvalidSignature):
        verify(endpoint.secret, {**sent, "webhook-timestamp": str(now - 3600)}, body)  # replayed later

    old = endpoint.secret
    endpoint.previous_secret, endpoint.secret = old, signing.new_secret()
    endpoint.previous_secret_until = timezone.now() + datetime.timedelta(hours=1)
    rotated = signing.headers(signing.signing_keys(endpoint), "msg_1", now, body)
    assert len(rotated["webhook-signature"].split(" ")) == 2
    verify(old, rotated, body)  # a receiver not switched yet
    verify(endpoint.secret, rotated, body)  # one switched already
    endpoint.previous_secret_until = timezone.now() - datetime.timedelta(seconds=1)
    after = signing.headers(signing.signing_keys(endpoint), "msg_1", now, body)
    with pytest.raises(InvalidSignature):
        verify(old, after, body)  # the grace period is over


def test_fan_out_reads_the_logs_once_for_the_endpoints_that_want_each_event():
    campaign, deliveries = audience_with_deliveries(3)
    add_clicks(deliveries, 1)  # before any endpoint: never sent
    clicks = register("http://127.0.0.1:9/a", [EventType.CLICKED, EventType.UNSUBSCRIBED])
    opens = register("http://127.0.0.1:9/b", [EventType.OPENED])
    add_clicks(deliveries, 2)
    change_status([deliveries[0].subscriber_id], Status.UNSUBSCRIBED, Source.UNSUBSCRIBE_LINK)

    assert fanout.fan_out() == 7  # 6 clicks and 1 unsubscribe, all for the first endpoint
    assert fanout.fan_out() == 0  # read once
    rows = WebhookMessage.objects.filter(endpoint=clicks)
    assert sorted(rows.values_list("event_type", flat=True)) == ["message.clicked"] * 6 + ["subscriber.unsubscribed"]
    assert not WebhookMessage.objects.filter(endpoint=opens).exists()
    assert set(rows.values_list("order_key", flat=True)) == {d.subscriber_id for d in deliveries}
    assert all(row.expires_at > timezone.now() + datetime.timedelta(hours=71) for row in rows)


def test_subscriber_events_subscribed_confirmed_bounced_complained():
    endpoint = register("http://127.0.0.1:9/", [t.value for t in EventType])
    subscriber = Subscriber.objects.create(email="ada@example.net", status=Status.PENDING)
    record_status_events([(subscriber.pk, "", Status.PENDING)], Source.FORM)
    change_status([subscriber.pk], Status.SUBSCRIBED, Source.CONFIRMATION)
    change_status([subscriber.pk], Status.BOUNCED, Source.BOUNCE)
    change_status([subscriber.pk], Status.COMPLAINED, Source.COMPLAINT)
    fanout.fan_out()
    types = list(WebhookMessage.objects.filter(endpoint=endpoint).order_by("id").values_list("event_type", flat=True))
    assert types == ["subscriber.subscribed", "subscriber.confirmed", "subscriber.bounced", "subscriber.complained"]


def test_a_gap_filled_by_a_late_transaction_is_still_sent():
    """An id range that was empty when read (a transaction not committed yet) is read again by the next ticks."""
    _campaign, deliveries = audience_with_deliveries(2)
    endpoint = register("http://127.0.0.1:9/", [EventType.CLICKED])
    add_clicks(deliveries, 2)
    late = Event.objects.order_by("id")[1]
    late_copy = {f.attname: getattr(late, f.attname) for f in Event._meta.concrete_fields}
    late.delete()  # as if its INSERT had not committed yet when the tick read the log
    assert fanout.fan_out() == 3
    Event.objects.create(**late_copy)  # …and now it has
    assert fanout.fan_out() == 1
    assert WebhookMessage.objects.filter(endpoint=endpoint, source=late_copy["id"]).count() == 1


def test_campaign_events_are_written_with_the_status_change():
    endpoint = register("http://127.0.0.1:9/", [EventType.CAMPAIGN_STARTED, EventType.CAMPAIGN_PAUSED,
                                               EventType.CAMPAIGN_FINISHED])  # fmt: skip
    campaign, _deliveries = audience_with_deliveries(1)
    campaign.status = CampaignStatus.SENDING
    campaign.save()
    campaigns.pause(campaign)
    campaigns.resume(campaign)  # no new "started"
    campaigns.cancel(campaign)
    rows = WebhookMessage.objects.filter(endpoint=endpoint).order_by("id")
    assert list(rows.values_list("event_type", flat=True)) == ["campaign.paused", "campaign.finished"]
    assert set(rows.values_list("order_key", flat=True)) == {-campaign.pk}


def test_a_campaign_event_is_queued_once_per_endpoint_and_change():
    endpoint = register("http://127.0.0.1:9/", [EventType.CAMPAIGN_STARTED, EventType.CAMPAIGN_PAUSED,
                                               EventType.CAMPAIGN_FINISHED])  # fmt: skip
    campaign, _deliveries = audience_with_deliveries(1)
    campaign.status = CampaignStatus.SENDING
    campaign.save()
    fanout.record_campaign_event(campaign, EventType.CAMPAIGN_STARTED)
    fanout.record_campaign_event(campaign, EventType.CAMPAIGN_STARTED)  # the same change signalled twice
    campaign = campaigns.pause(campaign)
    fanout.record_campaign_event(campaign, EventType.CAMPAIGN_PAUSED)  # the same pause again
    campaigns.resume(campaign)
    campaigns.pause(campaign)  # a second pause is a new event
    campaigns.cancel(campaign)
    fanout.record_campaign_event(campaign, EventType.CAMPAIGN_FINISHED)
    rows = WebhookMessage.objects.filter(endpoint=endpoint).order_by("id")
    assert [(row.event_type, row.source) for row in rows] == [
        ("campaign.started", campaign.pk),
        ("campaign.paused", (campaign.pk << 20) + 1),
        ("campaign.paused", (campaign.pk << 20) + 2),
        ("campaign.finished", campaign.pk),
    ]
    # The database itself refuses a second row of one change (what holds when two transactions race).
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookMessage.objects.create(
            endpoint=endpoint, event_type=EventType.CAMPAIGN_STARTED, source=campaign.pk,
            occurred_at=timezone.now(), expires_at=timezone.now(),
        )  # fmt: skip
    assert rows.count() == 4


def test_delivery_survives_random_500s_timeouts_and_an_outage(settings, receiver):
    """Nothing lost, no message accepted twice as new, each subscriber's events arrive in order, every signature
    verified by the receiver's own code."""
    fast_settings(settings)
    _campaign, deliveries = audience_with_deliveries(12)
    endpoint = register(receiver.url, [EventType.CLICKED, EventType.UNSUBSCRIBED])
    receiver.secrets = [endpoint.secret]
    receiver.start()
    receiver.fail_rate, receiver.slow_rate, receiver.slow_seconds = 0.25, 0.05, 0.8  # 0.8 s > the 0.5 s timeout
    add_clicks(deliveries, 5)
    change_status([d.subscriber_id for d in deliveries[:4]], Status.UNSUBSCRIBED, Source.UNSUBSCRIBE_LINK)
    fanout.fan_out()
    expected = WebhookMessage.objects.filter(endpoint=endpoint).count()
    assert expected == 12 * 5 + 4

    delivery.deliver(endpoint.pk, seconds=1.5)
    receiver.stop()  # down a while
    down_since = time.monotonic()
    while time.monotonic() - down_since < 2:
        delivery.deliver(endpoint.pk, seconds=0.5)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is not None
    receiver.start()
    assert deliver_until_done([endpoint.pk])

    assert receiver.rejected == 0
    assert WebhookMessage.objects.filter(status=OutboxStatus.DELIVERED).count() == expected
    assert len(receiver.accepted) == expected  # nothing lost, each once (duplicates of timed-out ones were deduped)
    assert {msg_id for msg_id, _payload in receiver.accepted} == {
        f"msg_{pk}" for pk in WebhookMessage.objects.values_list("pk", flat=True)
    }
    assert arrival_order_is_kept(receiver.accepted)
    assert receiver.requests > expected  # it did fail and time out on the way
    clicked = next(payload for _id, payload in receiver.accepted if payload["type"] == "message.clicked")
    assert clicked["data"]["link"]["url"].startswith("https://example.org/article-")
    assert clicked["data"]["subscriber"]["email"].endswith("@example.net")
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_a_message_given_up_lets_the_next_one_of_its_subscriber_go(settings, receiver):
    fast_settings(settings)
    _campaign, deliveries = audience_with_deliveries(1)
    endpoint = register(receiver.url, [EventType.CLICKED])
    receiver.secrets = [endpoint.secret]
    receiver.start()
    add_clicks(deliveries, 2)
    fanout.fan_out()
    first, second = WebhookMessage.objects.order_by("id")
    receiver.fail_rate = 1.0
    delivery.deliver(endpoint.pk, seconds=0.5)
    assert WebhookMessage.objects.get(pk=second.pk).attempts == 0  # held back behind the first
    WebhookMessage.objects.filter(pk=first.pk).update(expires_at=timezone.now())  # ~3 days later
    time.sleep(0.5)
    while WebhookMessage.objects.get(pk=first.pk).status != OutboxStatus.FAILED:
        delivery.deliver(endpoint.pk, seconds=0.5)  # it fails once more, and is given up
    receiver.fail_rate = 0.0
    assert deliver_until_done([endpoint.pk])
    assert WebhookMessage.objects.get(pk=first.pk).status == OutboxStatus.FAILED
    assert WebhookMessage.objects.get(pk=second.pk).status == OutboxStatus.DELIVERED
    assert [msg_id for msg_id, _p in receiver.accepted] == [f"msg_{second.pk}"]


def test_an_endpoint_that_keeps_failing_is_disabled_and_its_owner_told_then_enabled_again(
    settings, receiver, django_capture_on_commit_callbacks
):
    fast_settings(settings, WEBHOOK_DISABLE_AFTER_HOURS=1 / 3600)  # one second of failures
    owner = get_user_model().objects.create_user("hooks", "hooks@example.org", "x")
    _campaign, deliveries = audience_with_deliveries(2)
    endpoint = register(receiver.url, [EventType.CLICKED], user=owner)
    receiver.secrets = [endpoint.secret]
    receiver.start()
    receiver.fail_rate = 1.0
    add_clicks(deliveries, 2)
    fanout.fan_out()
    deadline = time.monotonic() + 10
    while WebhookEndpoint.objects.get(pk=endpoint.pk).enabled and time.monotonic() < deadline:
        with django_capture_on_commit_callbacks(execute=True):  # the mail goes once the disabling commits
            delivery.deliver(endpoint.pk, seconds=0.5)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_at is not None
    assert [message.to for message in mail.outbox] == [["hooks@example.org"]]
    assert "disabled" in mail.outbox[0].subject
    assert delivery.deliver(endpoint.pk, seconds=0.5) == (0, False)  # nothing goes to a disabled endpoint
    assert WebhookMessage.objects.filter(status=OutboxStatus.PENDING).count() == 4  # waiting, not lost

    receiver.fail_rate = 0.0
    endpoints.enable(endpoint)
    assert deliver_until_done([endpoint.pk])
    assert receiver.count() == 4 and arrival_order_is_kept(receiver.accepted)
    assert len(mail.outbox) == 1


def test_replay_sends_the_same_message_id_again(settings, receiver):
    fast_settings(settings)
    _campaign, deliveries = audience_with_deliveries(1)
    endpoint = register(receiver.url, [EventType.CLICKED])
    receiver.secrets = [endpoint.secret]
    receiver.start()
    add_clicks(deliveries, 1)
    fanout.fan_out()
    assert deliver_until_done([endpoint.pk])
    message = WebhookMessage.objects.get()
    assert message.response_status == 200 and message.response_body == "ok" and message.delivered_at
    assert endpoints.replay(WebhookMessage.objects.filter(pk=message.pk)) == 1
    assert deliver_until_done([endpoint.pk])
    assert receiver.duplicates == 1 and receiver.accepted[0][0] == message.webhook_id


def test_rotated_secret_is_accepted_by_a_receiver_that_knows_only_the_old_one(settings, receiver):
    fast_settings(settings)
    _campaign, deliveries = audience_with_deliveries(1)
    endpoint = register(receiver.url, [EventType.CLICKED])
    receiver.secrets = [endpoint.secret]  # not switched yet
    receiver.start()
    endpoints.rotate_secret(endpoint)
    add_clicks(deliveries, 1)
    fanout.fan_out()
    assert deliver_until_done([endpoint.pk])
    assert receiver.count() == 1 and receiver.rejected == 0


def test_tick_starts_delivery_where_messages_are_due(settings, receiver, django_capture_on_commit_callbacks):
    fast_settings(settings)
    _campaign, deliveries = audience_with_deliveries(2)
    endpoint = register(receiver.url, [EventType.CLICKED])
    receiver.secrets = [endpoint.secret]
    receiver.start()
    add_clicks(deliveries, 2)
    with django_capture_on_commit_callbacks(execute=True):
        delivery.tick()  # the task is enqueued on commit; django-q2 runs it inline in the tests
    assert receiver.count() == 4
    assert not WebhookMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists()


def test_the_documented_verification_example_accepts_our_messages_and_refuses_tampering():
    """docs/developers/webhooks.md's Python example, run as written."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "developers" / "webhooks.md").read_text()
    namespace = {}
    exec(re.search(r"```python\n(.*?)```", text, re.S).group(1), namespace)  # noqa: S102 (our own documentation)
    secret = signing.new_secret()
    body = b'{"type":"message.opened","data":{}}'
    sent = signing.headers([signing.secret_bytes(secret)], "msg_7", int(time.time()), body)
    assert namespace["verify"](secret, sent, body)["type"] == "message.opened"
    with pytest.raises(ValueError):
        namespace["verify"](secret, sent, body.replace(b"opened", b"clicked"))


def test_erasure_clears_the_bodies_kept_for_the_log_and_later_messages_go_without_the_address(settings, receiver):
    fast_settings(settings)
    _campaign, deliveries = audience_with_deliveries(1)
    endpoint = register(receiver.url, [EventType.CLICKED])
    receiver.secrets = [endpoint.secret]
    receiver.start()
    receiver.fail_rate = 1.0
    add_clicks(deliveries, 1)
    fanout.fan_out()
    delivery.deliver(endpoint.pk, seconds=0.3)
    assert "reader0@example.net" in WebhookMessage.objects.get().body  # the refused body, kept for the log
    subscriber = Subscriber.objects.get()
    forget_subscribers([subscriber])
    erase_forgotten(now=timezone.now() + datetime.timedelta(days=400))
    assert WebhookMessage.objects.get().body == ""
    receiver.fail_rate = 0.0
    time.sleep(0.5)
    assert deliver_until_done([endpoint.pk])
    assert receiver.accepted[0][1]["data"]["subscriber"] == {"id": subscriber.pk, "email": None}
