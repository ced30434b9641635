"""The JSON bodies of webhook messages, built for a whole batch at sending time: a handful of queries per batch
(source rows, subscribers, campaigns), none per message.

Built from the rows as they are when sent, not as they were when the event happened: a subscriber forgotten
meanwhile is sent without address (``"email": null``).
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

from ...audience.models import StatusEvent, Subscriber
from ...send.links import link_table
from ...send.models import Agent, Campaign, DeviceType, Event
from .models import EventType

MESSAGE_EVENTS = (EventType.OPENED, EventType.CLICKED)
SUBSCRIBER_EVENTS = (
    EventType.SUBSCRIBED,
    EventType.CONFIRMED,
    EventType.UNSUBSCRIBED,
    EventType.BOUNCED,
    EventType.COMPLAINED,
)
_AGENTS = {agent.value: agent.name.lower() for agent in Agent}
_DEVICES = {device.value: device.name.lower() for device in DeviceType}


def _by_id(queryset, ids, fields):
    return {row[0]: row for row in queryset.filter(pk__in=ids).values_list("pk", *fields)} if ids else {}


def _subscriber(row, subscriber_id):
    if row is None:
        return {"id": subscriber_id, "email": None}
    _pk, email, first, last, language, status, deleted_at, erase_after = row
    if erase_after is not None:  # forgotten: nothing that names the person
        return {"id": subscriber_id, "email": None}
    return {
        "id": subscriber_id,
        "email": email,
        "first_name": first,
        "last_name": last,
        "language": language,
        "status": status,
        "deleted": deleted_at is not None,
    }


def _campaign(row, campaign_id, full=False):
    if row is None:
        return {"id": campaign_id}
    _pk, name, subject, status, recipients, started, finished, paused, note, cause = row
    data = {"id": campaign_id, "name": name, "subject": subject}
    if full:
        data.update(
            status=status,
            recipient_count=recipients,
            started_at=started,
            paused_at=paused,
            finished_at=finished,
            note=note,
            paused_by=cause,
        )
    return data


def build_bodies(messages):
    """{message id: body bytes} for outbox rows (objects with event_type, source, subscriber_id, campaign_id,
    occurred_at)."""
    event_ids = [m.source for m in messages if m.event_type in MESSAGE_EVENTS]
    status_ids = [m.source for m in messages if m.event_type in SUBSCRIBER_EVENTS]
    events = _by_id(Event.objects, event_ids, ("delivery_id", "link", "agent", "device", "client", "country", "detail"))
    statuses = _by_id(StatusEvent.objects, status_ids, ("old_status", "new_status", "source"))
    subscribers = _by_id(
        Subscriber.all_objects,
        {m.subscriber_id for m in messages if m.subscriber_id},
        ("email", "first_name", "last_name", "language", "status", "deleted_at", "erase_after"),
    )
    campaigns = _by_id(
        Campaign.objects,
        {m.campaign_id for m in messages if m.campaign_id},
        ("name", "subject", "status", "recipient_count", "started_at", "finished_at", "paused_at", "status_note",
         "pause_cause"),
    )  # fmt: skip
    bodies = {}
    for message in messages:
        data = {}
        if message.subscriber_id is not None or message.event_type in SUBSCRIBER_EVENTS + MESSAGE_EVENTS:
            data["subscriber"] = _subscriber(subscribers.get(message.subscriber_id), message.subscriber_id)
        if message.event_type in MESSAGE_EVENTS:
            data.update(_message_data(message, events.get(message.source), campaigns))
        elif message.event_type in SUBSCRIBER_EVENTS:
            row = statuses.get(message.source)
            if row is not None:
                data.update(old_status=row[1] or None, new_status=row[2], source=row[3])
        else:
            data["campaign"] = _campaign(campaigns.get(message.campaign_id), message.campaign_id, full=True)
        payload = {"type": message.event_type, "timestamp": message.occurred_at, "data": data}
        bodies[message.pk] = json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    return bodies


def _message_data(message, event, campaigns):
    data = {"campaign": _campaign(campaigns.get(message.campaign_id), message.campaign_id)}
    if event is None:  # pruned by EVENT_RETENTION_DAYS before it was sent
        return data
    _pk, delivery_id, link, agent, device, client, country, _detail = event
    data.update(
        delivery_id=delivery_id,
        agent=_AGENTS.get(agent, "unknown"),
        device=_DEVICES.get(device, "unknown"),
        client=client or None,
        country=country or None,
    )
    if message.event_type == EventType.CLICKED:
        table = link_table(message.campaign_id) or ()
        data["link"] = {"index": link, "url": table[link] if link is not None and link < len(table) else None}
    return data
