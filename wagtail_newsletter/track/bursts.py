"""Scanner bursts: a link checker clicks several different links of one message within seconds of each other.

How many different links make a burst depends on how many web links the campaign tracks (``rules.burst_size``); the
judged clicks are compared with every click of the same deliveries around them, chunk boundaries included.
"""

from collections import defaultdict

from django.db.models import Subquery

from ..send.links import campaign_compiled, is_web
from ..send.models import Campaign
from . import rules
from .bulk_sql import fetch
from .models import Event, EventKind

_WEB_LINKS = {}  # (campaign id, created_at): how many links of its link table are tracked web links


def burst_sizes(campaign_ids, burst_links):
    """{campaign id: how many different links clicked at once make a burst} (two queries at most; cached)."""
    keys = dict(Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", "created_at"))
    missing = [pk for pk, created_at in keys.items() if (pk, created_at) not in _WEB_LINKS]
    if missing:
        if len(_WEB_LINKS) > 1000:
            _WEB_LINKS.clear()
        for campaign in Campaign.objects.filter(pk__in=missing).only("pk", "created_at", "compiled"):
            compiled = campaign_compiled(campaign)
            links = compiled.links if compiled else ()
            _WEB_LINKS[campaign.pk, campaign.created_at] = sum(1 for link in links if is_web(link.final_url))
    return {pk: rules.burst_size(_WEB_LINKS[pk, created_at], burst_links) for pk, created_at in keys.items()}


def scanner_clicks(judged, earliest, latest, click_delivery_ids, thresholds):
    """Ids of the clicks that belong to a scanner burst. ``judged``: {delivery id: campaign id} of the clicks no
    simpler rule already calls machine, clicked between ``earliest`` and ``latest``; ``click_delivery_ids``: a
    queryset of the deliveries clicked in the chunk. One query."""
    window = thresholds.burst_window
    near = Event.objects.filter(
        kind=EventKind.CLICK,
        link__isnull=False,
        at__gte=earliest - window,
        at__lte=latest + window,
        delivery_id__in=Subquery(click_delivery_ids),
    ).values_list("delivery_id", "at", "link", "id")
    clicks = defaultdict(list)
    for delivery_id, at, link, event_id in fetch(near):
        if delivery_id in judged:
            clicks[delivery_id].append((at, link, event_id))
    sizes = burst_sizes(set(judged.values()), thresholds.burst_links)
    machine = set()
    for delivery_id, its_clicks in clicks.items():
        size = sizes.get(judged[delivery_id], 2)
        if len(its_clicks) >= size:
            machine |= rules.burst_clicks(its_clicks, size, window)
    return machine
