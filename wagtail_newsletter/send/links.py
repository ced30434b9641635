"""Per-recipient URLs of a sent message: unsubscribe, web version and tracked clicks, each with a signed token.

URL prefixes are resolved once per campaign; per recipient only tokens are signed (a few microseconds each).
"""

from django.urls import reverse

from ..compose.compiled import CompiledEmail
from ..tokens import LinkSigner

_PLACEHOLDER = "TOKEN"


def _prefix(base_url, name):
    path = reverse(f"wagtail_newsletter:{name}", args=[_PLACEHOLDER])
    return base_url.rstrip("/") + path[: path.index(_PLACEHOLDER)], path[path.index(_PLACEHOLDER) + len(_PLACEHOLDER) :]


class CampaignLinks:
    """Builds ``DeliveryLinks`` for the deliveries of one campaign (make one per batch)."""

    def __init__(self, base_url, tracking=True):
        self.unsubscribe = _prefix(base_url, "unsubscribe")
        self.web_version = _prefix(base_url, "web_version")
        self.click = _prefix(base_url, "click")
        self.tracking = tracking
        self.unsubscribe_signer = LinkSigner("unsubscribe")
        self.web_signer = LinkSigner("web")
        self.click_signer = LinkSigner("click")

    def for_delivery(self, delivery_id):
        return DeliveryLinks(self, delivery_id)


def _is_web(url):
    """Only web links go through the click redirect (mailto:, tel: stay as they are)."""
    return url[:8].lower().startswith(("http://", "https://"))


class DeliveryLinks:
    """The ``links`` argument of ``personalise`` for one delivery."""

    __slots__ = ("_campaign_links", "delivery_id", "unsubscribe_token", "unsubscribe_url", "web_version_url")

    def __init__(self, campaign_links, delivery_id):
        self._campaign_links = campaign_links
        self.delivery_id = delivery_id
        self.unsubscribe_token = campaign_links.unsubscribe_signer.sign(delivery_id)
        start, end = campaign_links.unsubscribe
        self.unsubscribe_url = start + self.unsubscribe_token + end
        start, end = campaign_links.web_version
        self.web_version_url = start + campaign_links.web_signer.sign(delivery_id) + end

    def click_url(self, link_index, final_url):
        campaign_links = self._campaign_links
        if not campaign_links.tracking or not _is_web(final_url):
            return final_url
        start, end = campaign_links.click
        return start + campaign_links.click_signer.sign(self.delivery_id, link_index) + end

    def click_urls(self, links):
        """The URL of each Link of the link table (``personalise`` asks for all at once: one id encoding)."""
        campaign_links = self._campaign_links
        if not campaign_links.tracking:
            return [link.final_url for link in links]
        tracked = [link.index for link in links if _is_web(link.final_url)]
        tokens = iter(campaign_links.click_signer.sign_many(self.delivery_id, tracked))
        start, end = campaign_links.click
        tracked = set(tracked)
        return [start + next(tokens) + end if link.index in tracked else link.final_url for link in links]


_COMPILED = {}


def campaign_compiled(campaign):
    """The CompiledEmail a campaign froze when it started (cached per process: it never changes), or None."""
    if not campaign.compiled:
        return None
    key = (campaign.pk, campaign.created_at)  # pk alone repeats across test databases
    compiled = _COMPILED.get(key)
    if compiled is None:
        if len(_COMPILED) > 16:
            _COMPILED.clear()
        compiled = _COMPILED[key] = CompiledEmail.from_dict(campaign.compiled)
    return compiled
