"""Webhooks delivered by a real ``qcluster`` whose whole process group is SIGKILLed mid-delivery: a new cluster takes
the dead one's claimed messages over once their lease runs out. Nothing is lost, each subscriber's events arrive in
order, and the only messages posted twice are those the dead workers had in flight (same ``webhook-id``: the
receiver dedupes them)."""

import os
import signal

import pytest

from wagtail_newsletter.api.webhooks import delivery, fanout
from wagtail_newsletter.api.webhooks.models import EventType, OutboxStatus, WebhookMessage

from .send_cluster import cluster_factory, cluster_log, wait_for  # noqa: F401 (fixture)
from .webhook_fixtures import add_clicks, arrival_order_is_kept, audience_with_deliveries, register
from .webhook_receiver import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLUSTER = {"workers": 2, "timeout": 60, "retry": 90, "poll": 0.1}
WEBHOOKS = {
    "WEBHOOK_LEASE_SECONDS": 4,
    "WEBHOOK_BATCH_SIZE": 25,
    "WEBHOOK_CONNECTIONS": 2,
    "WEBHOOK_TIMEOUT": 2,
    "WEBHOOK_RETRY_BASE_SECONDS": 0.2,
    "WEBHOOK_RETRY_MAX_SECONDS": 1,
    "WEBHOOK_TASK_SECONDS": 30,
}
SUBSCRIBERS, CLICKS = 40, 20


def test_a_killed_cluster_loses_no_webhook_and_keeps_the_order(cluster_factory, queue_for_real):  # noqa: F811
    receiver = Receiver()
    receiver.slow_rate, receiver.slow_seconds = 1.0, 0.01  # every answer after 10 ms: delivery lasts a few seconds
    _campaign, deliveries = audience_with_deliveries(SUBSCRIBERS)
    endpoint = register(receiver.url, [EventType.CLICKED])
    receiver.secrets = [endpoint.secret]
    receiver.start()
    try:
        add_clicks(deliveries, CLICKS)
        fanout.fan_out()
        expected = SUBSCRIBERS * CLICKS
        assert WebhookMessage.objects.count() == expected

        cluster = cluster_factory(0, CLUSTER, WEBHOOKS)
        delivery.tick()  # enqueues the delivery tasks (the schedule does it every minute)
        assert wait_for(lambda: receiver.count() > 150, 60), cluster_log(cluster)
        in_flight = WebhookMessage.objects.filter(status=OutboxStatus.CLAIMED).count()
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=10)
        at_kill = receiver.count()
        assert at_kill < expected - 200, "delivery ended before the kill"

        replacement = cluster_factory(0, CLUSTER, WEBHOOKS)
        delivery.tick()
        done = wait_for(
            lambda: not WebhookMessage.objects.exclude(status=OutboxStatus.DELIVERED).exists(), 90, interval=0.5
        )
        assert done, cluster_log(replacement)
    finally:
        receiver.stop()
    print(f"killed after {at_kill} of {expected}; {in_flight} claimed at the kill; {receiver.duplicates} duplicates")
    assert receiver.rejected == 0
    assert len(receiver.accepted) == expected  # nothing lost
    assert arrival_order_is_kept(receiver.accepted)
    assert receiver.duplicates <= in_flight + WEBHOOKS["WEBHOOK_BATCH_SIZE"] * 2  # only what was in flight
