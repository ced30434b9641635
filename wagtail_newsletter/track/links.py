"""Open pixels, click redirects and web versions of sent messages: plain functions behind the public views.

A click goes only to a URL of the campaign's link table, chosen by the index signed in the token (no open
redirect: the request never supplies a URL). Opens and clicks are validated by the token's HMAC alone, and
recorded by one INSERT … SELECT each (``events.record_hit``). The web version is the campaign's compiled HTML
personalised for the delivery's subscriber, exactly as ``personalise`` fills it for the mail.
"""

from django.urls import reverse

from ..compose.personalise import personalise
from ..send.links import CampaignLinks, compiled_for, compiled_for_campaign_id, is_web, link_table
from ..tokens import InvalidToken, LinkSigner
from .events import record_hit
from .models import EventKind
from .unsubscribe import delivery_for_token, live_subscriber

# Track's own endpoints by the names ``send.links`` uses (named one by one: track reverses no URL of a floor above).
_ENDPOINTS = {
    "unsubscribe": "wagtail_newsletter:unsubscribe",
    "web_version": "wagtail_newsletter:web_version",
    "click": "wagtail_newsletter:click",
    "open": "wagtail_newsletter:open",
}


def endpoint_path(name, token):
    """The site path of the public endpoint ``name`` for ``token``: the links ``send.links`` writes into mails."""
    return reverse(_ENDPOINTS[name], args=[token])


def read_token(purpose, token, count):
    """The ``count`` numbers a ``purpose`` token carries (HMAC only, no database), or None. Clicks: (delivery, link
    index, campaign); opens: (delivery, campaign)."""
    try:
        numbers = LinkSigner(purpose).read_all(token)
    except InvalidToken:
        return None
    return numbers if len(numbers) == count else None


def link_target(campaign_id, index):
    """The web URL at ``index`` of the campaign's link table (cached per process), or None. A translated mail's
    links have their own indexes in that table (``send.links.link_table``), signed into its click tokens with the
    delivery: a token made for a French delivery names a French link and no other."""
    compiled = compiled_for_campaign_id(campaign_id)
    if compiled is None:
        return None
    if index < len(compiled.links):  # the campaign's own language: no query once cached
        url = compiled.links[index].final_url
    else:
        table = link_table(campaign_id)
        url = table[index] if table is not None and index < len(table) else None
    if url is None or not is_web(url):
        return None
    return url


def click(token, request=None):
    """Record a click and return the URL to redirect to, or None (bad token, index not a web link of the table,
    or the delivery is not in the token's campaign) — then nothing is written."""
    found = read_token("click", token, 3)
    if found is None:
        return None
    delivery_id, index, campaign_id = found
    url = link_target(campaign_id, index)
    if url is None or not record_hit(EventKind.CLICK, delivery_id, campaign_id, link=index, request=request):
        return None
    return url


def open_pixel(token, request=None):
    """Record an open; False for a bad token (nothing written). A good token naming no delivery of its campaign
    writes nothing either, but still gets the image (True)."""
    found = read_token("open", token, 2)
    if found is None:
        return False
    delivery_id, campaign_id = found
    record_hit(EventKind.OPEN, delivery_id, campaign_id, request=request)
    return True


# The variables of an erased subscriber: empty values, so every variable shows its default.
_NOBODY = {"email": "", "first_name": "", "last_name": "", "language": "", "data": {}}


def web_version(token):
    """``PersonalisedEmail`` of the delivery a web-version token names, or None for a bad token or a campaign
    without compiled content. An erased (or forgotten) subscriber's version shows the variables' defaults."""
    delivery = delivery_for_token("web", token)
    if delivery is None:
        return None
    campaign = delivery.campaign
    compiled, offset = compiled_for(campaign, delivery.language)  # the translation the subscriber was sent
    if compiled is None:
        return None
    subscriber = live_subscriber(delivery)
    # Its links are tracked like the mail's (clicks count), but it has no pixel: reading it is not an open.
    links = CampaignLinks.of(campaign, compiled.base_url, track_opens=False, link_offset=offset)
    links = links.for_delivery(delivery.pk)
    return personalise(compiled, subscriber if subscriber is not None else _NOBODY, links=links)
