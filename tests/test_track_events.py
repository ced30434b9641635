"""Events that are not hits: one unsubscribe event however often the one-click POST comes, bounce and complaint
events (the worker's hard and soft bounces, once each), and erasure clearing IP prefixes and relays' answers."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience import services
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Delivery, DeliveryStatus
from wagtail_newsletter.tokens import LinkSigner
from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.events import record_bounce, record_complaint
from wagtail_newsletter.track.models import Activity, Event, EventKind

from .compose_editor_fixtures import make_newsletter
from .test_send_engine import make_subscribers, sending_settings  # noqa: F401 (fixtures)
from .test_track_hits import click_token, click_url, events, fresh_link_tables, open_token, open_url  # noqa: F401
from .test_track_unsubscribe import make_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery():
    return make_delivery(first_name="Jane")


def test_an_unsubscribe_is_one_event_however_often_it_is_posted(delivery):
    url = reverse("wagtail_newsletter:unsubscribe", args=[LinkSigner("unsubscribe").sign(delivery.pk)])
    for _ in range(3):
        assert (
            Client()
            .post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
            .status_code
            == 200
        )
    assert [(kind, delivery_id) for kind, delivery_id, *_rest in events()] == [(EventKind.UNSUBSCRIBE, delivery.pk)]
    Client().get(url)  # the page alone changes nothing
    assert Event.objects.count() == 1


def test_bounce_and_complaint_events(delivery):
    record_bounce(delivery, hard=True, detail="550 5.1.1 No such user")
    record_bounce(delivery, hard=False, detail="452 4.2.2 Mailbox full" + "x" * 600)
    record_complaint(delivery)
    rows = list(Event.objects.order_by("id").values_list("kind", "detail"))
    assert [kind for kind, _detail in rows] == [EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE, EventKind.COMPLAINT]
    assert rows[0][1] == "550 5.1.1 No such user" and len(rows[1][1]) == 500 and rows[2][1] == "abuse"


@pytest.mark.django_db(transaction=True)
def test_the_worker_records_hard_and_soft_bounces_once(archive, smtp_server, sending_settings):  # noqa: F811
    sending_settings.WAGTAIL_NEWSLETTER = {**sending_settings.WAGTAIL_NEWSLETTER, "SEND_MAX_ATTEMPTS": 2}
    subscribers = make_subscribers(4)
    answers = {
        subscribers[0].email: ["550 5.1.1 No such user"],
        subscribers[1].email: ["452 4.2.2 Mailbox full"] * 5,  # every attempt: given up after 2
        subscribers[2].email: ["451 4.3.0 Try again"],  # then accepted: no bounce
    }
    smtp_server.rcpt_answer = lambda address: answers.get(address, []).pop(0) if answers.get(address) else None
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, True)
    campaigns.send_now(campaign)
    deliveries = {d.subscriber_id: d for d in campaign.deliveries.all()}
    assert deliveries[subscribers[1].pk].status == DeliveryStatus.FAILED
    rows = sorted(Event.objects.values_list("delivery_id", "kind", "detail", "campaign_id"))
    assert rows == [
        (deliveries[subscribers[0].pk].pk, EventKind.HARD_BOUNCE, "550 5.1.1 No such user", campaign.pk),
        (deliveries[subscribers[1].pk].pk, EventKind.SOFT_BOUNCE, "452 4.2.2 Mailbox full", campaign.pk),
    ]


def test_erasure_clears_the_ip_prefix_of_the_erased_subscribers_events_only(delivery):
    other = make_delivery(campaign=delivery.campaign, email="other@example.org")
    for target in (delivery, other):
        Client().get(open_url(open_token(target)), REMOTE_ADDR="203.0.113.5")
        Client().get(click_url(click_token(target, 0)), REMOTE_ADDR="203.0.113.5")
        record_bounce(target, hard=False, detail=f"452 4.2.2 <{target.subscriber.email}>: mailbox full")
        Delivery.objects.filter(pk=target.pk).update(error=f"452 4.2.2 <{target.subscriber.email}>: mailbox full")
    aggregate(now=timezone.now() + datetime.timedelta(minutes=1))  # copies the answers into the activity rows
    services.forget_subscribers([delivery.subscriber_id])
    assert Event.objects.filter(ip_prefix="").count() == 2  # forgetting starts a grace period; erasure clears
    services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=365))
    kept = set(Event.objects.values_list("delivery_id", "kind", "ip_prefix", "detail"))
    assert kept == {
        (delivery.pk, EventKind.OPEN, "", ""),
        (delivery.pk, EventKind.CLICK, "", ""),
        (delivery.pk, EventKind.SOFT_BOUNCE, "", ""),
        (other.pk, EventKind.OPEN, "203.0.113.0/24", ""),
        (other.pk, EventKind.CLICK, "203.0.113.0/24", ""),
        (other.pk, EventKind.SOFT_BOUNCE, "", "452 4.2.2 <other@example.org>: mailbox full"),
    }
    answers = {"452 4.2.2 <other@example.org>: mailbox full"}
    assert set(Activity.objects.values_list("bounce_detail", flat=True)) == answers | {""}
    assert set(Delivery.objects.values_list("error", flat=True)) == answers | {""}
