"""Sent deliveries made directly in the database, and the mail that comes back about them (built with
tests/bounce_messages.py the way MTAs build it), for the intake tests (mailbox, pipe, benchmark)."""

from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.send.mime import MessageIds, unsubscribe_mailto, verp_return_path
from wagtail_newsletter.send.models import Delivery, DeliveryStatus

from . import bounce_messages
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


def original(delivery):
    """The message we sent to ``delivery``, as a bounce returns it."""
    return bounce_messages.newsletter(delivery.subscriber.email, return_path=verp(delivery),
                                      message_id=message_id(delivery))  # fmt: skip


def hard_bounce(delivery, status="5.1.1", diagnostic="550 5.1.1 <{}>: Recipient address rejected: User unknown"):
    address = delivery.subscriber.email
    return bounce_messages.dsn([(address, "failed", status, diagnostic.format(address))], to=verp(delivery),
                               original=original(delivery))  # fmt: skip


def soft_bounce(delivery):
    return hard_bounce(delivery, "5.2.2", "552 5.2.2 <{}>: Mailbox full, quota exceeded")


def delay_warning(delivery):
    address = delivery.subscriber.email
    return bounce_messages.dsn([(address, "delayed", "4.4.1", "connect to mx.example.net: Connection timed out")],
                               to=verp(delivery), original=original(delivery), headers_only=True)  # fmt: skip


def complaint(delivery):
    return bounce_messages.arf(original(delivery), original_rcpt_to=delivery.subscriber.email,
                               mail_from=verp(delivery))  # fmt: skip


def auto_reply(delivery):
    raw = bounce_messages.vacation_reply(sender=delivery.subscriber.email)
    return raw.replace(b"<1a.abcdef@news.example.com>", message_id(delivery).encode())


def unsubscribe_request(delivery, subject="unsubscribe", body="Please take me off this list."):
    """What a mail client sends when its user clicks the List-Unsubscribe mailto: (any subject and body)."""
    address = unsubscribe_mailto(delivery.pk, BOUNCE_DOMAIN).removeprefix("mailto:").split("?")[0]
    text = f"From: {delivery.subscriber.email}\r\nTo: {address}\r\nSubject: {subject}\r\n"
    text += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
    return address, text.encode()
