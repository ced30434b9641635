"""Campaigns, deliveries and events made directly in the database for the aggregation and report tests."""

import datetime

from django.utils import timezone

from wagtail_newsletter.compose.compiled import compile_email
from wagtail_newsletter.compose.merge_tags import standard_variables
from wagtail_newsletter.send.models import Campaign, Delivery, DeliveryStatus
from wagtail_newsletter.track.models import Agent, Event, EventKind

BASE = "https://news.example.org"
T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def make_campaign(web_links=3, name="Weekly news", started_at=T0, status="sending", **fields):
    """A campaign whose compiled link table has ``web_links`` web links, and a mailto: link (not in the table)."""
    variables = {variable.name: variable for variable in standard_variables("en", BASE)}
    anchors = "".join(f'<p><a href="https://example.org/article-{n}">Article {n}</a></p>' for n in range(web_links))
    body = f'{anchors}<p><a href="mailto:editor@example.org">Write to us</a></p>'
    document = f"<!DOCTYPE html><html><head><title>News</title></head><body>{body}</body></html>"
    compiled = compile_email(document, subject="News", base_url=BASE, variables=variables, language="en")
    return Campaign.objects.create(
        name=name, compiled=compiled.to_dict(), subject="News", status=status, started_at=started_at, **fields
    )


def make_deliveries(campaign, count, sent_at=T0, status=DeliveryStatus.SENT, step=None):
    """``count`` deliveries without subscribers (none are needed to count events), sent at ``sent_at`` (+ ``step``
    for each next one)."""
    step = step or datetime.timedelta(0)
    Delivery.objects.bulk_create(
        Delivery(campaign=campaign, status=status, sent_at=sent_at + n * step if sent_at else None)
        for n in range(count)
    )
    return list(Delivery.objects.filter(campaign=campaign).order_by("id"))


def event(delivery, kind, at, agent=Agent.BROWSER, link=None, detail=""):
    return Event(
        campaign_id=delivery.campaign_id, delivery_id=delivery.pk, kind=kind, at=at, agent=agent, link=link,
        detail=detail,
    )  # fmt: skip


def add_events(*events):
    Event.objects.bulk_create(events)


def seconds(value):
    return datetime.timedelta(seconds=value)


def long_ago():
    """A clock far enough after T0 that every event made by the tests has settled."""
    return max(timezone.now(), T0 + datetime.timedelta(days=60))


OPEN, CLICK, UNSUBSCRIBE = EventKind.OPEN, EventKind.CLICK, EventKind.UNSUBSCRIBE
HARD_BOUNCE, SOFT_BOUNCE, COMPLAINT = EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE, EventKind.COMPLAINT
