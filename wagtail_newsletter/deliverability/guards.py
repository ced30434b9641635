"""Sending guards: the hard-bounce and complaint rates that keep a sender's reputation (Amazon SES reviews an account
from a 5 % bounce rate; Gmail and Yahoo want spam complaints below 0.1 % and never at 0.3 %).

Before sending (``send_check``, consulted by ``send.campaigns.check_can_send``): a campaign is refused when its
audience's recent rates exceed GUARD_HARD_BOUNCE_RATE or GUARD_COMPLAINT_RATE. **The audience's recent rate**: among
the messages that went out (delivered to the relay, or refused by it) in campaigns started within the last
GUARD_WINDOW_DAYS days, to the people this campaign is aimed at — its groups minus its excluded groups (or every
subscriber), *whatever their status now* (someone who bounced is no longer subscribed, yet their bounce tells about
the list), for a follow-up the recipients of the earlier campaign — the share of messages that hard-bounced (at the
relay or in a bounce that came back later) and the share that drew a spam complaint, each message counted once.
Below GUARD_MIN_SENT messages there is no rate.

While sending (``campaign_crossing``, called after each bounce or complaint is applied): the campaign's own rates
over its messages that went out so far, once at least GUARD_MIN_SENT went out.

Counts are a few aggregate queries: messages from the delivery table, bounces and complaints from the event log.
"""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..audience.models import Membership
from ..conf import newsletter_settings
from ..send.models import Delivery, DeliveryStatus, Event, EventKind, PauseCause

WENT_OUT = (DeliveryStatus.SENT, DeliveryStatus.FAILED)


@dataclass(frozen=True)
class Rates:
    """Messages that went out, and how many of them hard-bounced or drew a complaint."""

    sent: int
    hard_bounces: int
    complaints: int

    def rate(self, count):
        """``count`` / ``sent``, or None below GUARD_MIN_SENT messages (too few to say anything)."""
        minimum = max(newsletter_settings.GUARD_MIN_SENT or 0, 1)
        return count / self.sent if self.sent >= minimum else None


@dataclass(frozen=True)
class Crossing:
    """A line crossed: which guard (a ``PauseCause``) and the message for people, with the numbers."""

    cause: str
    message: str
    rate: float
    count: int
    sent: int
    limit: float


def _counts(deliveries):
    """Rates of the ``deliveries`` that went out (two queries: the messages, then their events by kind)."""
    went_out = deliveries.filter(status__in=WENT_OUT)
    sent = went_out.count()
    if not sent:
        return Rates(0, 0, 0)
    kinds = (EventKind.HARD_BOUNCE, EventKind.COMPLAINT)
    events = (
        Event.objects.filter(kind__in=kinds, delivery_id__in=went_out.values("pk"))
        .order_by()
        .values_list("kind")
        .annotate(n=Count("delivery_id", distinct=True))
    )
    by_kind = dict(events)
    return Rates(sent, by_kind.get(EventKind.HARD_BOUNCE, 0), by_kind.get(EventKind.COMPLAINT, 0))


def campaign_rates(campaign_id):
    """The campaign's own rates so far."""
    return _counts(Delivery.objects.filter(campaign_id=campaign_id))


def audience_deliveries(campaign, now=None):
    """The deliveries of the last GUARD_WINDOW_DAYS days to the people ``campaign`` is aimed at (see above)."""
    now = now or timezone.now()
    since = now - datetime.timedelta(days=newsletter_settings.GUARD_WINDOW_DAYS)
    deliveries = Delivery.objects.filter(campaign__started_at__gte=since).exclude(campaign_id=campaign.pk)
    if campaign.follow_up_of_id:
        earlier = Delivery.objects.filter(campaign_id=campaign.follow_up_of_id).values("subscriber_id")
        return deliveries.filter(subscriber_id__in=earlier)
    if not campaign.all_subscribers:
        included = list(campaign.include_groups.values_list("pk", flat=True))
        deliveries = deliveries.filter(
            Exists(Membership.objects.filter(subscriber_id=OuterRef("subscriber_id"), group_id__in=included))
        )
    excluded = list(campaign.exclude_groups.values_list("pk", flat=True))
    if excluded:
        deliveries = deliveries.exclude(
            Exists(Membership.objects.filter(subscriber_id=OuterRef("subscriber_id"), group_id__in=excluded))
        )
    return deliveries


def audience_rates(campaign, now=None):
    return _counts(audience_deliveries(campaign, now))


def percent(value):
    """A rate for people: "4.2 %", "0.15 %", "5 %" (as many decimals as it needs, at most 2)."""
    number = round(value * 100, 6)  # 0.05 * 100 is 5.000000000000001
    decimals = 0 if number == int(number) else 1 if number >= 1 or round(number, 1) == round(number, 2) else 2
    text = formats.number_format(round(number, decimals), decimal_pos=decimals, use_l10n=True)
    return _("%(number)s %%") % {"number": text}


def _number(value):
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def _crossings(rates, audience):
    """The lines ``rates`` cross (hard bounces first)."""
    settings = newsletter_settings
    lines = (
        (PauseCause.BOUNCE_GUARD, rates.hard_bounces, settings.GUARD_HARD_BOUNCE_RATE),
        (PauseCause.COMPLAINT_GUARD, rates.complaints, settings.GUARD_COMPLAINT_RATE),
    )
    crossings = []
    for cause, count, limit in lines:
        rate = rates.rate(count)
        if limit is None or rate is None or rate <= limit:
            continue
        values = {
            "rate": percent(rate),
            "count": _number(count),
            "sent": _number(rates.sent),
            "limit": percent(limit),
            "days": settings.GUARD_WINDOW_DAYS,
        }
        crossings.append(Crossing(cause, _message(cause, audience) % values, rate, count, rates.sent, limit))
    return crossings


def _message(cause, audience):
    if audience and cause == PauseCause.BOUNCE_GUARD:
        return _(
            "%(rate)s of this audience's messages hard-bounced in the last %(days)s days (%(count)s of %(sent)s); "
            "the limit is %(limit)s. Remove the dead addresses (they are marked bounced) or wait before sending."
        )
    if audience:
        return _(
            "%(rate)s of this audience's messages were reported as spam in the last %(days)s days (%(count)s of "
            "%(sent)s); the limit is %(limit)s. Sending again now would harm the sender's reputation."
        )
    if cause == PauseCause.BOUNCE_GUARD:
        return _(
            "Paused by the bounce guard: %(rate)s of this campaign's messages hard-bounced (%(count)s of %(sent)s); "
            "the limit is %(limit)s. Check where the addresses came from before resuming."
        )
    return _(
        "Paused by the complaint guard: %(rate)s of this campaign's messages were reported as spam (%(count)s of "
        "%(sent)s); the limit is %(limit)s. Check that these people asked for it before resuming."
    )


def audience_crossings(campaign, now=None):
    """The lines the audience's recent rates cross (empty: the guard lets it go)."""
    return _crossings(audience_rates(campaign, now), audience=True)


def send_check(campaign, count):
    """``send.campaigns`` send check: the messages of the lines the audience's recent rates cross."""
    return [crossing.message for crossing in audience_crossings(campaign)]


def campaign_crossing(campaign_id):
    """The first line the campaign's own rates cross (None: below them, or too few messages out yet)."""
    crossings = _crossings(campaign_rates(campaign_id), audience=False)
    return crossings[0] if crossings else None


def blocked_and_delayed(campaign_id):
    """(messages refused for the sender's sake, messages reported delayed) of a campaign, each message once: the
    returns that are not counted as bounces in its report."""
    rows = (
        Event.objects.filter(campaign_id=campaign_id, kind__in=(EventKind.POLICY_BOUNCE, EventKind.TRANSIENT_BOUNCE))
        .order_by()
        .values_list("kind")
        .annotate(n=Count("delivery_id", distinct=True))
    )
    counts = dict(rows)
    return counts.get(EventKind.POLICY_BOUNCE, 0), counts.get(EventKind.TRANSIENT_BOUNCE, 0)
