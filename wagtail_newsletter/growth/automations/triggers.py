"""How people enter automations.

Signals of the floors below start the event triggers at once, inside the transaction of what happened (so an
enrolment exists exactly when the confirmation or membership does): ``audience.optin.subscription_confirmed`` and
``audience.services.joined_group``, connected by ``connect()`` (called from ``AppConfig.ready``).

The tick polls the rest (``poll``): anniversaries of a date field at a local hour, people entering a segment, and
human clicks on a link. Clicks are read from tracking's aggregated ``LinkActivity`` — not from the click signal —
because only the aggregation tells a person's click from a security scanner's, and scanners click every link.
"""

import datetime
import logging

from django.db import connection, transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from ...audience.models import Subscriber
from ...audience.optin import subscription_confirmed
from ...audience.services import joined_group
from ...send.models import Campaign
from ...track.models import LinkActivity
from .enrol import enrol, enrol_rows
from .models import Automation, SegmentMember, Trigger

logger = logging.getLogger(__name__)

SEGMENT_CHECK_MINUTES = 5  # a segment query can take a second on a million subscribers: not every minute
ANNIVERSARY_CATCH_UP_DAYS = 1  # after a stop, yesterday's birthdays still go (late) — not older ones


def _safely(receiver):
    """A receiver runs inside the sender's transaction: in a savepoint, so that a failing automation never undoes a
    confirmation or a membership (it is logged)."""

    def run(sender, **kwargs):
        try:
            with transaction.atomic():
                receiver(**kwargs)
        except Exception:  # noqa: BLE001
            logger.exception("automation trigger %s failed", receiver.__name__)

    run.__name__ = receiver.__name__
    return run


def on_subscription_confirmed(consent_id, subscriber_id, form_id, group_ids, **kwargs):
    automations = Automation.objects.filter(active=True, trigger=Trigger.CONFIRMED)
    for automation in automations:
        by_form = automation.form_id is not None and automation.form_id == form_id
        by_group = automation.form_id is None and automation.group_id in group_ids
        if by_form or by_group:
            enrol(automation, Subscriber.objects.filter(pk=subscriber_id), f"consent:{consent_id}")


def on_joined_group(group, subscriber_ids, **kwargs):
    when = timezone.now().strftime("%Y%m%d%H%M%S%f")  # a new membership each time: leaving and joining again counts
    for automation in Automation.objects.filter(active=True, trigger=Trigger.JOINED_GROUP, group_id=group.pk):
        enrol(automation, Subscriber.objects.filter(pk__in=subscriber_ids), f"group:{group.pk}:{when}")


_confirmed_receiver = _safely(on_subscription_confirmed)
_joined_receiver = _safely(on_joined_group)


def connect():
    subscription_confirmed.connect(_confirmed_receiver, dispatch_uid="wagtail_newsletter.automations.confirmed")
    joined_group.connect(_joined_receiver, dispatch_uid="wagtail_newsletter.automations.joined_group")


# The polled triggers ------------------------------------------------------------------------------------------------


def anniversary_moment(day, hour):
    """``day`` at ``hour`` o'clock in the site's time zone, as an aware datetime (zoneinfo: the right UTC offset on
    either side of a daylight-saving change; an hour that doesn't exist that night is read with the offset before)."""
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_default_timezone())


def month_days(day):
    """The "-MM-DD" endings celebrated on ``day``: 29 February counts on 28 February in other years."""
    endings = [day.strftime("-%m-%d")]
    if day.month == 2 and day.day == 28 and (day + datetime.timedelta(days=1)).month == 3:
        endings.append("-02-29")
    return endings


def poll_anniversaries(automation, now):
    """Let in the people whose date field's anniversary came at the automation's hour since the last poll (a day
    is never done twice: ``anniversaries_done_on``). Occurrence and round: the year."""
    if automation.date_field is None:
        return 0
    today = now.astimezone(timezone.get_default_timezone()).date()
    first = today - datetime.timedelta(days=ANNIVERSARY_CATCH_UP_DAYS)
    if automation.anniversaries_done_on is not None:
        first = max(first, automation.anniversaries_done_on + datetime.timedelta(days=1))
    key = automation.date_field.key
    entered = 0
    day = first
    while day <= today:
        moment = anniversary_moment(day, automation.local_hour)
        if moment > now:
            break
        with transaction.atomic():
            lookup = f"data__{key}__endswith"
            people = Subscriber.objects.none()
            for ending in month_days(day):
                people |= Subscriber.objects.filter(**{lookup: ending})
            entered += enrol(
                automation, people, str(day.year), now=now, round_number=day.year, due_at=moment, run_soon=False
            )
            Automation.objects.filter(pk=automation.pk).update(anniversaries_done_on=day)
        automation.anniversaries_done_on = day
        day += datetime.timedelta(days=1)
    return entered


def poll_segment(automation, now):
    """People found in the segment who were not in it at the last check enter (the first check only notes who is
    in it: being in a segment when the automation starts isn't entering it)."""
    if automation.segment is None:
        return 0
    checked = automation.segment_checked_at
    if checked is not None and now - checked < datetime.timedelta(minutes=SEGMENT_CHECK_MINUTES):
        return 0
    members = automation.segment.subscribers(now).values(member_id=F("pk"))
    entered = 0
    with transaction.atomic():
        if checked is not None:
            known = SegmentMember.objects.filter(automation=automation).values("subscriber_id")
            newcomers = Subscriber.objects.filter(pk__in=members.values("pk")).exclude(pk__in=known)
            entered = enrol(automation, newcomers, f"segment:{now:%Y%m%d%H%M%S}", now=now, run_soon=False)
        gone = SegmentMember.objects.filter(automation=automation).exclude(subscriber_id__in=members.values("pk"))
        gone.delete()
        select_sql, params = members.order_by().query.sql_with_params()
        table = connection.ops.quote_name(SegmentMember._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (automation_id, subscriber_id) SELECT %s, m.member_id FROM ({select_sql}) m "
                "WHERE true ON CONFLICT (automation_id, subscriber_id) DO NOTHING",
                [automation.pk, *params],
            )
        Automation.objects.filter(pk=automation.pk).update(segment_checked_at=now)
    return entered


def _matching_links(text, campaign_ids):
    """{campaign id: [link indexes]} of the links whose address contains ``text`` (read from link tables)."""
    needle = text.lower()
    found = {}
    for pk, links in Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", "compiled__links"):
        indexes = [link[0] for link in links or () if any(needle in (part or "").lower() for part in link[1:3])]
        if indexes:
            found[pk] = indexes
    return found


def poll_clicks(automation, now):
    """People with a new human click (folded by tracking since the last poll) on a link whose address contains the
    automation's text enter, once per message clicked. The first poll starts from now: older clicks don't count."""
    if not automation.link_text:
        return 0
    last_seen = LinkActivity.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if automation.clicks_read_until is None:
        Automation.objects.filter(pk=automation.pk).update(clicks_read_until=last_seen)
        return 0
    fresh = LinkActivity.objects.filter(pk__gt=automation.clicks_read_until, pk__lte=last_seen)
    pairs = _matching_links(automation.link_text, set(fresh.values_list("campaign_id", flat=True).distinct()))
    entered = 0
    with transaction.atomic():
        for campaign_id, indexes in pairs.items():
            rows = fresh.filter(campaign_id=campaign_id, link__in=indexes, delivery__subscriber_id__isnull=False)
            rows = rows.values(
                sid=F("delivery__subscriber_id"),
                occ=Concat(Value("click:"), Cast("delivery_id", CharField()), output_field=CharField()),
            )
            entered += enrol_rows(automation.pk, rows, now)
        Automation.objects.filter(pk=automation.pk).update(clicks_read_until=last_seen)
    return entered


POLLERS = {
    Trigger.ANNIVERSARY: poll_anniversaries,
    Trigger.SEGMENT_ENTERED: poll_segment,
    Trigger.CLICKED_LINK: poll_clicks,
}


def poll(automation, now):
    poller = POLLERS.get(automation.trigger)
    return poller(automation, now) if poller else 0
