"""Unsubscribing from a sent message's link: token → delivery → subscriber, recorded in the status history.

Plain functions, testable without HTTP. A token is trusted only when its signature is valid for its purpose;
a forged, altered or other-purpose token finds nothing and changes nothing.
"""

from django.conf import settings
from django.db import transaction

from ..audience import services
from ..audience.models import Source, Status
from ..send.links import campaign_compiled
from ..send.models import Delivery
from ..tokens import InvalidToken, LinkSigner
from .events import record_event
from .models import EventKind


def delivery_for_token(purpose, token, with_number=False):
    """The Delivery (with its campaign and subscriber) a link token names, or None.

    ``with_number``: the token must carry a second number (the link index of a click token); the result is then
    ``(delivery, number)``. None for a forged, altered, other-purpose or malformed token, and for a delivery that
    no longer exists.
    """
    try:
        ident, number = LinkSigner(purpose).read(token)
    except InvalidToken:
        return None
    if (number is not None) != with_number:
        return None
    delivery = Delivery.objects.select_related("campaign", "subscriber").filter(pk=ident).first()
    if delivery is None:
        return None
    return (delivery, number) if with_number else delivery


def live_subscriber(delivery):
    """The delivery's subscriber, or None once erased (or asked to be forgotten: their data is not shown again)."""
    subscriber = delivery.subscriber if delivery.subscriber_id else None
    if subscriber is None or subscriber.erase_after is not None:
        return None
    return subscriber


def is_unsubscribed(delivery):
    """True when there is nobody left to unsubscribe (erased) or the subscriber is unsubscribed already."""
    subscriber = live_subscriber(delivery)
    return subscriber is None or subscriber.status == Status.UNSUBSCRIBED


def unsubscribe_delivery(delivery, one_click=False, how=None):
    """Unsubscribe the subscriber a delivery went to, at once; return True when their status changed.

    Idempotent: an unsubscribed subscriber is left alone (no second history entry), an erased one is nothing to do.
    The history entry's note names the campaign and says whether it came from a mailbox provider's one-click POST
    (RFC 8058) or the unsubscribe page's button; ``how`` names another way (``"mailto"``: a mail to the
    List-Unsubscribe address).
    """
    if not delivery.subscriber_id:
        return False
    campaign = delivery.campaign
    how = how or ("one-click" if one_click else "unsubscribe page")
    note = f"{how}, campaign #{campaign.pk} {campaign.name}"
    # services.unsubscribe locks the row and skips it when already unsubscribed, so two racing POSTs write one history
    # entry — and one UNSUBSCRIBE event, written in the same transaction.
    with transaction.atomic():
        changed = services.unsubscribe([delivery.subscriber_id], source=Source.UNSUBSCRIBE_LINK, note=note)
        if changed:
            record_event(delivery, EventKind.UNSUBSCRIBE, detail=how)
    if changed and delivery.subscriber is not None:
        delivery.subscriber.status = Status.UNSUBSCRIBED
    return bool(changed)


def mask_email(address):
    """``jane.doe@example.org`` → ``j•••e@e•••.org``: enough for its owner to recognise, little for anyone else."""
    local, at, domain = (address or "").rpartition("@")
    if not at:
        return ""

    def mask(part):
        if len(part) <= 2:
            return part[:1] + "•••"
        return part[0] + "•••" + part[-1]

    name, dot, rest = domain.partition(".")
    return f"{mask(local)}@{name[:1]}•••{dot}{rest.rsplit('.', 1)[-1] if dot else ''}"


def delivery_language(delivery):
    """The language to answer in: the subscriber's, else the campaign's, when the site offers it (else None)."""
    offered = {code for code, _name in settings.LANGUAGES}
    subscriber = live_subscriber(delivery)
    compiled = campaign_compiled(delivery.campaign)
    for code in (subscriber.language if subscriber else "", compiled.language if compiled else ""):
        code = (code or "").lower()
        for candidate in (code, code.split("-")[0]):
            if candidate and candidate in offered:
                return candidate
    return None
