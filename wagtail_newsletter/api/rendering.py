"""The message a subscriber gets from a campaign, as bytes, made by the send worker's own code."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from ..audience.models import Subscriber
from ..send.campaigns import STARTABLE
from ..send.claims import delivery_row
from ..send.models import Campaign
from ..send.worker import CampaignSender
from .errors import InvalidInput, InvalidState
from .lookup import get_campaign, get_subscriber


def render_message(
    campaign: Campaign | int, subscriber: Subscriber | int | str, *, at: datetime.datetime | None = None
) -> bytes:
    """The bytes the send worker hands the relay for ``subscriber`` in ``campaign``, made by the worker's own
    ``CampaignSender``: the same MIME (the campaign's boundary), translation, personalisation, signed link and
    unsubscribe tokens, Message-ID and DKIM signature.

    ``at``: the time of sending (now by default) — the one thing in the bytes that depends on when: the Date header
    and the DKIM signature's t= tag (whole seconds). Given the Date of a message that was sent, the result is that
    message, byte for byte. With an email backend other than SMTP, the worker hands Django a message instead (the
    service signs it): this returns what that message serialises to.

    The campaign must have started (its deliveries, whose ids are in the Message-ID and the links, are planned when
    it starts) and ``subscriber`` (object, id or address) must be one of its recipients: InvalidState otherwise.
    Nothing is written or sent.
    """
    campaign = get_campaign(campaign)
    person = get_subscriber(subscriber, hidden=True)
    if at is not None and (not isinstance(at, datetime.datetime) or timezone.is_naive(at)):
        raise InvalidInput(_("Give the time as an aware datetime (with its time zone)."), field="at")
    row = delivery_row(campaign.pk, person.pk)
    if row is None:
        if campaign.status in STARTABLE:
            raise InvalidState(_("The campaign has not started: its messages are made when it starts (use a test "
                                 "send or the preview until then)."))  # fmt: skip
        raise InvalidState(_("%(email)s is not a recipient of this campaign.") % {"email": person.email})
    if at is not None:  # what the worker's clock gives: whole seconds in the site's zone
        at = datetime.datetime.fromtimestamp(int(at.timestamp()), timezone.get_default_timezone())
    sender = CampaignSender(campaign)
    try:
        _envelope, raw, build = sender.message_of_row(row, date=at)
    finally:
        sender.close()
    if raw is not None:
        return raw
    return build().message().as_bytes(linesep="\r\n")
