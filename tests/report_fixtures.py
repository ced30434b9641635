"""Sent campaigns with a known set of opens, clicks, bounces, unsubscribes and complaints, for the report, people
list and export tests (tests/test_admin_reports.py, tests/test_report_exports.py)."""

from datetime import timedelta

from django.utils import timezone

from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.models import Agent, Event, EventKind

from .campaign_admin_fixtures import sending_campaign
from .compose_editor_fixtures import make_newsletter

LINKS = ("https://example.org/spring/", "https://example.org/summer/", "https://example.org/autumn/")


def body_with_links(urls=LINKS):
    paragraphs = "".join(f'<p><a href="{url}">Link {n}</a></p>' for n, url in enumerate(urls))
    footer = {"address": "1 Main St", "text": "", "unsubscribe_label": "", "web_version_label": ""}
    return [{"type": "rich_text", "value": {"text": paragraphs}}, {"type": "footer", "value": footer}]


def sent_campaign(archive, user, urls=LINKS, started_hours_ago=3, name="Spring", **fields):
    """A campaign to every subscribed person, every message sent ``started_hours_ago`` hours ago."""
    newsletter = make_newsletter(archive, title=name, slug=name.lower(), body=body_with_links(urls), **fields)
    campaign = sending_campaign(newsletter, user)
    started = timezone.now() - timedelta(hours=started_hours_ago)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENT, started_at=started, finished_at=started)
    Delivery.objects.filter(campaign=campaign).update(status=DeliveryStatus.SENT, sent_at=started)
    campaign.refresh_from_db()
    return campaign


def hit(campaign, delivery, kind, minutes, link=None, agent=Agent.BROWSER, detail=""):
    """An event ``minutes`` after the campaign started (well after the machine windows)."""
    at = campaign.started_at + timedelta(minutes=minutes)
    return Event.objects.create(
        campaign=campaign, delivery=delivery, kind=kind, link=link, at=at, agent=agent, detail=detail
    )


def fold():
    return aggregate(now=timezone.now() + timedelta(hours=1))  # every event has settled


def sample_activity(campaign, ann, bob, cid, dan):
    """Opens: ann 2, bob 1 (+ a privacy proxy's), cid: proxy only; clicks: ann on links 0 and 1, bob on 0 twice;
    a scanner's HEAD on link 2; dan hard-bounced, cid unsubscribed and complained. Then folded."""
    hit(campaign, ann, EventKind.OPEN, 10)
    hit(campaign, ann, EventKind.OPEN, 70)
    hit(campaign, bob, EventKind.OPEN, 20)
    hit(campaign, bob, EventKind.OPEN, 21, agent=Agent.PRIVACY_PROXY)
    hit(campaign, cid, EventKind.OPEN, 5, agent=Agent.PRIVACY_PROXY)
    hit(campaign, ann, EventKind.CLICK, 11, link=0)
    hit(campaign, ann, EventKind.CLICK, 75, link=1)
    hit(campaign, bob, EventKind.CLICK, 22, link=0)
    hit(campaign, bob, EventKind.CLICK, 90, link=0)
    hit(campaign, bob, EventKind.CLICK, 30, link=2, agent=Agent.HEAD)
    hit(campaign, dan, EventKind.HARD_BOUNCE, 1, detail="550 5.1.1 no such user")
    hit(campaign, cid, EventKind.UNSUBSCRIBE, 40)
    hit(campaign, cid, EventKind.COMPLAINT, 41, detail="abuse")
    fold()
