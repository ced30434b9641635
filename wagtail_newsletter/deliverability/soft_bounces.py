"""Soft bounces counted the way the soft-bounce rule counts them: among a subscriber's last SOFT_BOUNCE_CAMPAIGNS
deliveries that went out, how many soft-bounced (each delivery once, whatever its number of soft-bounce events)."""

from collections import Counter

from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Subquery, Window
from django.db.models.functions import Coalesce, RowNumber

from ..audience.models import Subscriber
from ..conf import newsletter_settings
from ..send.models import Delivery, DeliveryStatus, Event, EventKind

WENT_OUT = (DeliveryStatus.SENT, DeliveryStatus.FAILED)


def _recent_deliveries(subscriber):
    """The last SOFT_BOUNCE_CAMPAIGNS deliveries that went out to ``subscriber`` (an id or an ``OuterRef``)."""
    return (
        Delivery.objects.filter(subscriber_id=subscriber, status__in=WENT_OUT)
        .order_by("-id")
        .values("pk")[: newsletter_settings.SOFT_BOUNCE_CAMPAIGNS]
    )


def recent_soft_bounces(subscriber_id):
    """How many of the subscriber's recent deliveries soft-bounced."""
    return recent_soft_bounces_of([subscriber_id])[subscriber_id]


def recent_soft_bounces_of(subscriber_ids):
    """{subscriber id: how many of its recent deliveries soft-bounced}, for a batch of subscribers in one query (each
    subscriber's deliveries ranked newest first, at most SOFT_BOUNCE_CAMPAIGNS of them read)."""
    ids = set(subscriber_ids)
    soft = Event.objects.filter(delivery_id=OuterRef("pk"), kind=EventKind.SOFT_BOUNCE)
    newest_first = Window(RowNumber(), partition_by=F("subscriber_id"), order_by=F("id").desc())
    rows = (
        Delivery.objects.filter(subscriber_id__in=ids, status__in=WENT_OUT)
        .annotate(rank=newest_first, soft=Exists(soft))
        .filter(rank__lte=newsletter_settings.SOFT_BOUNCE_CAMPAIGNS)
        .values_list("subscriber_id", "soft")
    )
    counts = Counter(subscriber_id for subscriber_id, soft in rows if soft)
    return {subscriber_id: counts[subscriber_id] for subscriber_id in ids}


def repeated_soft_bounces(minimum=2):
    """Subscribers with at least ``minimum`` soft bounces among their recent deliveries, annotated with
    ``recent_soft_bounces``, ``soft_bounces`` (ever) and ``last_soft_bounce_at``; most first.

    One query: only subscribers with a soft bounce at all are looked at (the event log's index on kind), and for
    each of them the count among its recent deliveries is a correlated subquery."""
    soft_events = Event.objects.filter(kind=EventKind.SOFT_BOUNCE)
    bounced_ids = Delivery.objects.filter(Exists(soft_events.filter(delivery_id=OuterRef("pk")))).values(
        "subscriber_id"
    )
    recent = (
        soft_events.filter(delivery_id__in=_recent_deliveries(OuterRef(OuterRef("pk"))))
        .order_by()
        .values("kind")
        .annotate(n=Count("delivery_id", distinct=True))
        .values("n")
    )
    ever = (
        soft_events.filter(delivery__subscriber_id=OuterRef("pk"))
        .order_by()
        .values("kind")
        .annotate(n=Count("delivery_id", distinct=True), last=Max("at"))
    )
    return (
        Subscriber.objects.filter(pk__in=bounced_ids)
        .annotate(
            recent_soft_bounces=Coalesce(Subquery(recent, output_field=IntegerField()), 0),
            soft_bounces=Subquery(ever.values("n"), output_field=IntegerField()),
            last_soft_bounce_at=Subquery(ever.values("last")),
        )
        .filter(recent_soft_bounces__gte=minimum)
        .order_by("-recent_soft_bounces", "-last_soft_bounce_at", "pk")
    )
