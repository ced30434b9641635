"""The mail that comes back about the demo's sample campaigns — bounces, a delay warning, a spam complaint, a vacation
notice, a mail to the List-Unsubscribe address — built the way mail systems build it
(``wagtail_newsletter.deliverability.sample_mail``) about real deliveries (their VERP Return-Path, Message-ID,
sender and subject) and taken in by the real intake, as a bounce mailbox or a pipe transport would hand it over.

Each message is the same bytes on every run (dated from its delivery), so running ``demo_activity`` again takes
nothing twice: the intake knows each message by its digest.
"""

from dataclasses import dataclass
from email.utils import formataddr

from django.db.models import Exists, OuterRef

from wagtail_newsletter.compose.personalise import personalise
from wagtail_newsletter.conf import newsletter_settings
from wagtail_newsletter.deliverability import sample_mail
from wagtail_newsletter.deliverability.intake import take_message
from wagtail_newsletter.deliverability.models import InboundVia
from wagtail_newsletter.send.links import campaign_compiled
from wagtail_newsletter.send.mime import unsubscribe_mailto
from wagtail_newsletter.send.models import Delivery, DeliveryStatus
from wagtail_newsletter.send.outgoing import domain_of, envelope_sender, message_id_for, sender_of
from wagtail_newsletter.track.models import Event, EventKind

HARD, SOFT, DELAYED, COMPLAINT, AWAY, UNSUBSCRIBE = "hard", "soft", "delayed", "complaint", "away", "unsubscribe"
# What comes back about the sample campaign, in order, one quiet recipient each (see ``quiet_deliveries``).
FIRST_RETURNS = (HARD, HARD, SOFT, SOFT, SOFT, DELAYED, COMPLAINT, AWAY, UNSUBSCRIBE)
# The follow-up goes to non-openers: the first two full mailboxes are full again, the one away is still away.
FOLLOW_UP_REPEATS = ((SOFT, 2), (AWAY, 1))


@dataclass(frozen=True)
class Return:
    what: str  # one of HARD … UNSUBSCRIBE
    delivery: Delivery


def quiet_deliveries(campaign, leave_out=()):
    """The campaign's messages the relay accepted that nobody opened or clicked (not even a machine), in id order:
    the mailboxes that bounce, complain unread or are away. Taking their returned mail does not change the list (it
    adds no open or click), so a second run picks the same ones."""
    lively = Event.objects.filter(delivery_id=OuterRef("pk"), kind__in=(EventKind.OPEN, EventKind.CLICK))
    return list(
        Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT)
        .exclude(Exists(lively))
        .exclude(subscriber_id__in=leave_out)
        .select_related("campaign", "subscriber")
        .order_by("id")
    )


def first_returns(campaign):
    """The returns of the sample campaign: FIRST_RETURNS on its first quiet deliveries."""
    return [Return(what, delivery) for what, delivery in zip(FIRST_RETURNS, quiet_deliveries(campaign), strict=False)]


def _repeating(earlier):
    """(what, subscriber id) of the ``earlier`` returns that come back again about the follow-up."""
    return [
        (what, returned.delivery.subscriber_id)
        for what, count in FOLLOW_UP_REPEATS
        for returned in [r for r in earlier if r.what == what][:count]
    ]


def repeating_subscribers(earlier):
    """The subscribers whose mail comes back again about the follow-up (so they neither open nor click it)."""
    return {subscriber_id for _what, subscriber_id in _repeating(earlier)}


def follow_up_returns(follow_up, earlier):
    """The returns of the follow-up: FOLLOW_UP_REPEATS of ``earlier``, on the same people's follow-up deliveries."""
    repeating = _repeating(earlier)
    deliveries = {
        delivery.subscriber_id: delivery
        for delivery in Delivery.objects.filter(
            campaign=follow_up, status=DeliveryStatus.SENT, subscriber_id__in=[pk for _what, pk in repeating]
        ).select_related("campaign", "subscriber")
    }
    return [Return(what, deliveries[pk]) for what, pk in repeating if pk in deliveries]


def sent_message(delivery):
    """The message ``delivery`` was: its recipient, Return-Path, Message-ID, sender and subject, as the send worker
    made them (``send.outgoing``), dated when it was sent."""
    campaign = delivery.campaign
    name, address = sender_of(campaign.from_name, campaign.from_email)
    from_domain = domain_of(address)
    compiled = campaign_compiled(campaign)
    return sample_mail.Sent(
        to=delivery.subscriber.email,
        return_path=envelope_sender(delivery.pk, from_domain),
        message_id=message_id_for(delivery.pk, from_domain),
        from_=formataddr((name, address)),
        subject=personalise(compiled, delivery.subscriber).subject if compiled else campaign.subject,
        date=delivery.sent_at,
    )


def unsubscribe_address(delivery, sent):
    """The List-Unsubscribe mailto: address of ``delivery`` (its domain chosen as the send worker chooses it)."""
    domain = newsletter_settings.UNSUBSCRIBE_MAILTO_DOMAIN or domain_of(sent.return_path)
    return unsubscribe_mailto(delivery.pk, domain).removeprefix("mailto:").split("?")[0]


def raw_message(returned):
    """(raw bytes, envelope recipients) of a return: bounces and auto-replies go to the VERP Return-Path; the
    feedback loop's report to the postmaster; the unsubscribe request to the List-Unsubscribe address."""
    sent = sent_message(returned.delivery)
    if returned.what == UNSUBSCRIBE:
        address = unsubscribe_address(returned.delivery, sent)
        return sample_mail.unsubscribe_request(sent.to, address, body="Please stop sending me this."), [address]
    if returned.what == COMPLAINT:
        return sample_mail.complaint(sent), []
    if returned.what == AWAY:
        return sample_mail.auto_reply(sent, reply_to=sent.return_path), [sent.return_path]
    build = {HARD: sample_mail.hard_bounce, SOFT: sample_mail.soft_bounce, DELAYED: sample_mail.delay_warning}
    return build[returned.what](sent), [sent.return_path]


def take(returns):
    """Hand ``returns`` to the intake, one message each; how many it took (0 for those it had taken already)."""
    taken = 0
    for returned in returns:
        raw, recipients = raw_message(returned)
        if take_message(raw, InboundVia.COMMAND, envelope_recipients=recipients) is not None:
            taken += 1
    return taken
