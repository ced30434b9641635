"""Click redirects and web versions of sent messages: plain functions behind the public views.

A click goes only to a URL of the campaign's link table, chosen by the index signed in the token (no open
redirect: the request never supplies a URL). The web version is the campaign's compiled HTML personalised for the
delivery's subscriber, exactly as ``personalise`` fills it for the mail.
"""

from ..compose.personalise import personalise
from ..send.links import CampaignLinks, campaign_compiled
from .unsubscribe import delivery_for_token, live_subscriber

_WEB_SCHEMES = ("http://", "https://")


def click_target(token):
    """``(delivery, link_index, url)`` for a click token, or None (forged, unknown delivery, index not in the table,
    or a link that is not a web URL)."""
    found = delivery_for_token("click", token, with_number=True)
    if found is None:
        return None
    delivery, index = found
    compiled = campaign_compiled(delivery.campaign)
    if compiled is None or index >= len(compiled.links):
        return None
    link = compiled.links[index]
    if link.index != index or not link.final_url.lower().startswith(_WEB_SCHEMES):
        return None
    return delivery, index, link.final_url


def record_click(delivery, link_index, request=None):
    """The one place a click is recorded.

    Nothing is recorded yet: click events (and machine-click detection) arrive with the tracking stage. A click on
    a campaign with tracking off never reaches here, since its mails carry the final URLs.
    """


# The variables of an erased subscriber: empty values, so every variable shows its default.
_NOBODY = {"email": "", "first_name": "", "last_name": "", "language": "", "data": {}}


def web_version(token):
    """``PersonalisedEmail`` of the delivery a web-version token names, or None for a bad token or a campaign
    without compiled content. An erased (or forgotten) subscriber's version shows the variables' defaults."""
    delivery = delivery_for_token("web", token)
    if delivery is None:
        return None
    campaign = delivery.campaign
    compiled = campaign_compiled(campaign)
    if compiled is None:
        return None
    subscriber = live_subscriber(delivery)
    links = CampaignLinks(compiled.base_url, campaign.tracking_enabled).for_delivery(delivery.pk)
    return personalise(compiled, subscriber if subscriber is not None else _NOBODY, links=links)
