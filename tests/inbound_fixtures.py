"""Sent deliveries made directly in the database, and the mail that comes back about them (built with
wagtail_newsletter/deliverability/sample_mail.py the way MTAs build it), for the intake tests (mailbox, pipe,
benchmark)."""

from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.deliverability import sample_mail
from wagtail_newsletter.send.mime import MessageIds, unsubscribe_mailto, verp_return_path
from wagtail_newsletter.send.models import Delivery, DeliveryStatus

from .track_fixtures import make_campaign

BOUNCE_DOMAIN = "bounce.example.com"


def sent_deliveries(count, name="December news", prefix="reader", status="sent"):
    """A campaign sent to ``count`` new subscribers: its deliveries (with subscribers) in id order."""
    campaign = make_campaign(name=name, status=status)
    subscribers = Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{n}@example.net", status=Status.SUBSCRIBED) for n in range(count)]
    )
    if subscribers and subscribers[0].pk is None:  # backends that return no ids
        subscribers = list(Subscriber.objects.filter(email__startswith=prefix).order_by("id"))
    now = timezone.now()
    Delivery.objects.bulk_create(
        [Delivery(campaign=campaign, subscriber=s, status=DeliveryStatus.SENT, sent_at=now) for s in subscribers]
    )
    return list(Delivery.objects.filter(campaign=campaign).select_related("subscriber").order_by("id"))


def verp(delivery):
    return verp_return_path(delivery.pk, BOUNCE_DOMAIN)


def message_id(delivery):
    return MessageIds("news.example.com")(delivery.pk)


def sent(delivery):
    """The message we sent to ``delivery`` (its VERP Return-Path and Message-ID), as returned mail quotes it."""
    return sample_mail.Sent(delivery.subscriber.email, verp(delivery), message_id(delivery))


def original(delivery):
    return sent(delivery).message()


def hard_bounce(delivery, status="5.1.1", diagnostic="550 5.1.1 <{}>: Recipient address rejected: User unknown"):
    return sample_mail.hard_bounce(sent(delivery), status, diagnostic)


def soft_bounce(delivery):
    return sample_mail.soft_bounce(sent(delivery))


def delay_warning(delivery):
    return sample_mail.delay_warning(sent(delivery))


def complaint(delivery):
    return sample_mail.complaint(sent(delivery))


def auto_reply(delivery):
    return sample_mail.auto_reply(sent(delivery))


def unsubscribe_request(delivery, subject="unsubscribe", body="Please take me off this list."):
    """What a mail client sends when its user clicks the List-Unsubscribe mailto: (any subject and body)."""
    address = unsubscribe_mailto(delivery.pk, BOUNCE_DOMAIN).removeprefix("mailto:").split("?")[0]
    return address, sample_mail.unsubscribe_request(delivery.subscriber.email, address, subject, body)
