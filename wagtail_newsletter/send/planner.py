"""Who receives a campaign: the recipients query, and one set-based ``INSERT … SELECT`` of the deliveries."""

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from ..audience.models import Membership, Status, Subscriber
from .models import Delivery, DeliveryStatus
from .translations import language_expression, planned_languages


def recipients(all_subscribers, include_group_ids=(), exclude_group_ids=(), include_q=None, exclude_q=None):
    """Subscribed, not deleted, not paused subscribers of the audience, each once whatever their number of groups.

    A pause ends by itself: it is compared with the time the query is built (planning, or the wizard's count).
    """
    queryset = Subscriber.objects.filter(
        Q(paused_until__isnull=True) | Q(paused_until__lte=timezone.now()), status=Status.SUBSCRIBED
    )
    # ``include_q`` / ``exclude_q``: people the campaign's segments add to its groups / leave out (a ``Q`` over
    # subscribers from the growth floor, made of EXISTS subqueries: the planner stays one INSERT … SELECT).
    if not all_subscribers:
        members = Exists(Membership.objects.filter(subscriber=OuterRef("pk"), group_id__in=list(include_group_ids)))
        queryset = queryset.filter(members if include_q is None else members | include_q)
    if exclude_group_ids:
        queryset = queryset.exclude(
            Exists(Membership.objects.filter(subscriber=OuterRef("pk"), group_id__in=list(exclude_group_ids)))
        )
    if exclude_q is not None:
        queryset = queryset.exclude(exclude_q)
    return queryset


# A follow-up goes to part of an earlier campaign's audience, chosen by what people did with it: tracking data, two
# floors up. The growth floor computes it and hands its function here (``AppConfig.ready``).
_follow_up_recipients = None


def set_follow_up_audience(recipients_of):
    """``recipients_of(campaign)``: the subscribers a follow-up campaign goes to, as a queryset."""
    global _follow_up_recipients
    _follow_up_recipients = recipients_of


# Segments (saved conditions over subscribers and their tracking) live on the growth floor too; it hands the planner
# a function giving a campaign's segments as filters (``AppConfig.ready``).
_segment_audience = None


def set_segment_audience(audience_of):
    """``audience_of(campaign) -> (include Q or None, exclude Q or None)``: who a campaign's segments add and leave
    out."""
    global _segment_audience
    _segment_audience = audience_of


def campaign_recipients(campaign):
    """Who ``campaign`` goes to if it starts now: its groups, or its part of an earlier campaign's audience."""
    include_q, exclude_q = _segment_audience(campaign) if _segment_audience else (None, None)
    if campaign.follow_up:
        if _follow_up_recipients is None:
            raise ImproperlyConfigured("wagtail_newsletter is not ready: its AppConfig.ready() sets the follow-ups")
        return narrowed(_follow_up_recipients(campaign), include_q, exclude_q)
    return recipients(
        campaign.all_subscribers,
        list(campaign.include_groups.values_list("pk", flat=True)),
        list(campaign.exclude_groups.values_list("pk", flat=True)),
        include_q=include_q,
        exclude_q=exclude_q,
    )


def narrowed(subscribers, only_q=None, exclude_q=None):
    """A follow-up's audience narrowed by its segments: only the people of ``only_q``, without those of
    ``exclude_q`` (still one query)."""
    if only_q is not None:
        subscribers = subscribers.filter(only_q)
    if exclude_q is not None:
        subscribers = subscribers.exclude(exclude_q)
    return subscribers


def count_recipients(all_subscribers, include_group_ids=(), exclude_group_ids=(), include_q=None, exclude_q=None):
    if not all_subscribers and not include_group_ids and include_q is None:
        return 0
    return recipients(all_subscribers, include_group_ids, exclude_group_ids, include_q, exclude_q).count()


def plan_deliveries(campaign):
    """Create a queued Delivery per recipient of ``campaign`` in one statement; return how many were created.

    Idempotent: the unique (campaign, subscriber) constraint makes a second run add only newcomers. Each delivery's
    language is the translation its subscriber reads (one the campaign was compiled in), else "" (the default).
    """
    language = language_expression(planned_languages(campaign))
    query = campaign_recipients(campaign).order_by().values(recipient_id=F("pk"), recipient_language=language).query
    select_sql, params = query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    # "WHERE true" keeps SQLite from reading "ON CONFLICT" as a join constraint of the SELECT.
    sql = (
        f"INSERT INTO {table} (campaign_id, subscriber_id, status, attempts, error, language) "
        "SELECT %s, recipient.recipient_id, %s, 0, '', recipient.recipient_language "
        f"FROM ({select_sql}) recipient WHERE true "
        "ON CONFLICT (campaign_id, subscriber_id) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.pk, DeliveryStatus.QUEUED, *params])
        return cursor.rowcount
