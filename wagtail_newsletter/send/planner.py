"""Who receives a campaign: the recipients query, and one set-based ``INSERT … SELECT`` of the deliveries."""

from django.db import connection
from django.db.models import Exists, F, OuterRef

from ..audience.models import Membership, Status, Subscriber
from .models import Delivery, DeliveryStatus


def recipients(all_subscribers, include_group_ids=(), exclude_group_ids=()):
    """Subscribed, not deleted subscribers of the audience, each once whatever their number of groups."""
    queryset = Subscriber.objects.filter(status=Status.SUBSCRIBED)
    if not all_subscribers:
        queryset = queryset.filter(
            Exists(Membership.objects.filter(subscriber=OuterRef("pk"), group_id__in=list(include_group_ids)))
        )
    if exclude_group_ids:
        queryset = queryset.exclude(
            Exists(Membership.objects.filter(subscriber=OuterRef("pk"), group_id__in=list(exclude_group_ids)))
        )
    return queryset


def count_recipients(all_subscribers, include_group_ids=(), exclude_group_ids=()):
    if not all_subscribers and not include_group_ids:
        return 0
    return recipients(all_subscribers, include_group_ids, exclude_group_ids).count()


def plan_deliveries(campaign):
    """Create a queued Delivery per recipient of ``campaign`` in one statement; return how many were created.

    Idempotent: the unique (campaign, subscriber) constraint makes a second run add only newcomers.
    """
    from .campaigns import campaign_recipients

    query = campaign_recipients(campaign).order_by().values(recipient_id=F("pk")).query
    select_sql, params = query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    # "WHERE true" keeps SQLite from reading "ON CONFLICT" as a join constraint of the SELECT.
    sql = (
        f"INSERT INTO {table} (campaign_id, subscriber_id, status, attempts, error) "
        f"SELECT %s, recipient.recipient_id, %s, 0, '' FROM ({select_sql}) recipient WHERE true "
        "ON CONFLICT (campaign_id, subscriber_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.pk, DeliveryStatus.QUEUED, *params])
        return cursor.rowcount
