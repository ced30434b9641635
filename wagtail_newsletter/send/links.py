"""Per-recipient URLs of a sent message: unsubscribe, preference page, web version, tracked clicks and the open
pixel, each with a signed token.

URL prefixes are resolved once per campaign; per recipient only tokens are signed (a few microseconds each). Click
tokens carry (delivery, link index, campaign) and the open token (delivery, campaign), so the tracking endpoints
find the link table and write their event without reading the delivery first.
"""

import time

from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_delete, post_save

from ..compose.compiled import CompiledEmail
from ..tokens import LinkSigner
from .models import Campaign, CampaignTranslation

_PLACEHOLDER = "TOKEN"

# The links lead to track's public views, a floor above: the app tells where they are once Django is ready
# (``AppConfig.ready`` passes ``track.links.endpoint_path``), so that send never names track or its URLs.
_endpoint_path = None
_endpoint_paths = {}  # resolvers of single endpoints (the preference page is growth's)


def set_endpoint_resolver(endpoint_path, names=None):
    """Where the public endpoints are: ``endpoint_path(name, token)`` returns the site path of endpoint ``name``
    ("unsubscribe", "preferences", "web_version", "click" or "open") for ``token``; with ``names``, only of those."""
    global _endpoint_path
    if names is None:
        _endpoint_path = endpoint_path
    else:
        _endpoint_paths.update(dict.fromkeys(names, endpoint_path))


def _prefix(base_url, name):
    endpoint_path = _endpoint_paths.get(name, _endpoint_path)
    if endpoint_path is None:
        raise ImproperlyConfigured("wagtail_newsletter is not ready: its AppConfig.ready() sets the link endpoints")
    path = endpoint_path(name, _PLACEHOLDER)
    return base_url.rstrip("/") + path[: path.index(_PLACEHOLDER)], path[path.index(_PLACEHOLDER) + len(_PLACEHOLDER) :]


class CampaignLinks:
    """Builds ``DeliveryLinks`` for the deliveries of one campaign (make one per batch).

    ``tracking``: web links go through the click redirect; ``track_opens``: the HTML gets the open pixel. Either
    needs ``campaign_id`` (it is signed into the tokens). Web versions and previews pass ``track_opens=False``.
    """

    def __init__(self, base_url, tracking=True, track_opens=False, campaign_id=None, link_offset=0):
        if (tracking or track_opens) and campaign_id is None:
            raise ValueError("tracked links need the campaign id")
        self.campaign_id = campaign_id
        # A translation's links are numbered after the campaign's own (send.translations): its click tokens carry
        # the index in the campaign's whole link table.
        self.link_offset = link_offset
        self.unsubscribe = _prefix(base_url, "unsubscribe")
        self.preferences = _prefix(base_url, "preferences")
        # Preference tokens carry their day of issue (they expire: PREFERENCES_LINK_DAYS), the same for a batch.
        self.issue_day = preference_issue_day()
        self.web_version = _prefix(base_url, "web_version")
        self.click = _prefix(base_url, "click")
        self.open = _prefix(base_url, "open")
        self.tracking = tracking
        self.track_opens = track_opens
        self.unsubscribe_signer = LinkSigner("unsubscribe")
        self.preferences_signer = LinkSigner("preferences")
        self.web_signer = LinkSigner("web")
        self.click_signer = LinkSigner("click")
        self.open_signer = LinkSigner("open")

    @classmethod
    def of(cls, campaign, base_url, track_opens=None, link_offset=0):
        """The links of ``campaign`` as its settings say (``track_opens=False``: never a pixel, as in web versions);
        ``link_offset``: that of the translation they are for."""
        opens = campaign.track_opens if track_opens is None else track_opens
        return cls(base_url, campaign.tracking_enabled, opens, campaign.pk, link_offset)

    def for_delivery(self, delivery_id):
        return DeliveryLinks(self, delivery_id)


def preference_issue_day():
    """Today as days since 1970: the date of issue a preference token carries."""
    return int(time.time() // 86400)


def preferences_preview_url(base_url):
    """The preference page's preview (sample data, saves nothing): the link of test sends."""
    start, end = _prefix(base_url, "preferences")
    return start + PREFERENCES_PREVIEW + end


def preferences_path(delivery_id):
    """The site path (no host) of the preference page of ``delivery_id``'s subscriber, signed today: for pages of
    the site itself (the unsubscribe page offers a pause instead)."""
    return CampaignLinks("", tracking=False).for_delivery(delivery_id).preferences_url


# The preference endpoint's "token" for its preview: never a signed token (those have a dot and a signature).
PREFERENCES_PREVIEW = "preview"


def is_web(url):
    """Only web links go through the click redirect (mailto:, tel: stay as they are)."""
    return url[:8].lower().startswith(("http://", "https://"))


class DeliveryLinks:
    """The ``links`` argument of ``personalise`` for one delivery."""

    __slots__ = (
        "_campaign_links",
        "delivery_id",
        "unsubscribe_token",
        "unsubscribe_url",
        "web_version_url",
        "_preferences_url",
        "open_pixel_url",
    )

    def __init__(self, campaign_links, delivery_id):
        self._campaign_links = campaign_links
        self.delivery_id = delivery_id
        self.unsubscribe_token = campaign_links.unsubscribe_signer.sign(delivery_id)
        start, end = campaign_links.unsubscribe
        self.unsubscribe_url = start + self.unsubscribe_token + end
        start, end = campaign_links.web_version
        self.web_version_url = start + campaign_links.web_signer.sign(delivery_id) + end
        self._preferences_url = None
        self.open_pixel_url = ""
        if campaign_links.track_opens:
            start, end = campaign_links.open
            self.open_pixel_url = start + campaign_links.open_signer.sign(delivery_id, campaign_links.campaign_id) + end

    @property
    def preferences_url(self):
        """The preference page of this delivery's subscriber, (delivery id, day of issue) signed; made on first use
        (``personalise`` asks only when the email links to it)."""
        if self._preferences_url is None:
            campaign_links = self._campaign_links
            start, end = campaign_links.preferences
            token = campaign_links.preferences_signer.sign(self.delivery_id, campaign_links.issue_day)
            self._preferences_url = start + token + end
        return self._preferences_url

    def click_url(self, link_index, final_url):
        campaign_links = self._campaign_links
        if not campaign_links.tracking or not is_web(final_url):
            return final_url
        start, end = campaign_links.click
        index = link_index + campaign_links.link_offset
        token = campaign_links.click_signer.sign(self.delivery_id, index, campaign_links.campaign_id)
        return start + token + end

    def click_urls(self, links):
        """The URL of each Link of the link table (``personalise`` asks for all at once: one id encoding)."""
        campaign_links = self._campaign_links
        if not campaign_links.tracking:
            return [link.final_url for link in links]
        tracked = [link.index for link in links if is_web(link.final_url)]
        offset = campaign_links.link_offset
        signed = [index + offset for index in tracked] if offset else tracked
        tokens = iter(campaign_links.click_signer.sign_many(self.delivery_id, signed, campaign_links.campaign_id))
        start, end = campaign_links.click
        tracked = set(tracked)
        return [start + next(tokens) + end if link.index in tracked else link.final_url for link in links]


# Compiled emails by campaign id, per process: a campaign's ``compiled`` is frozen when it starts, and ids never
# come back on PostgreSQL. Saving or deleting a campaign drops its entry (test databases do reuse ids on SQLite).
_COMPILED = {}
_MAX_CACHED = 32


def _remember(campaign_id, data):
    if len(_COMPILED) >= _MAX_CACHED:
        _COMPILED.clear()
    compiled = _COMPILED[campaign_id] = CompiledEmail.from_dict(data)
    return compiled


def campaign_compiled(campaign):
    """The CompiledEmail a campaign froze when it started (cached per process: it never changes), or None."""
    if not campaign.compiled:
        return None
    compiled = _COMPILED.get(campaign.pk)
    return compiled if compiled is not None else _remember(campaign.pk, campaign.compiled)


def compiled_for_campaign_id(campaign_id):
    """``campaign_compiled`` by id: no query once cached (the click redirect's link table). None when the campaign
    does not exist or has not started (not cached: it may start later)."""
    compiled = _COMPILED.get(campaign_id)
    if compiled is not None:
        return compiled
    data = Campaign.objects.filter(pk=campaign_id).values_list("compiled", flat=True).first()
    return _remember(campaign_id, data) if data else None


# Translations by (campaign id, language): (CompiledEmail, link offset); whole link tables by campaign id.
_TRANSLATED = {}
_LINK_TABLES = {}


def compiled_for(campaign, language):
    """(CompiledEmail, link offset) of ``campaign`` in ``language`` (a Delivery's): its translation when it was
    compiled in that language, else its own compiled email with offset 0. (None, 0) before it started."""
    if language:
        key = (campaign.pk, language)
        found = _TRANSLATED.get(key)
        if found is None:
            row = CampaignTranslation.objects.filter(campaign=campaign, language=language).values_list(
                "compiled", "link_offset"
            )
            row = row.first()
            if row is not None:
                if len(_TRANSLATED) >= _MAX_CACHED:
                    _TRANSLATED.clear()
                found = _TRANSLATED[key] = (CompiledEmail.from_dict(row[0]), row[1])
        if found is not None:
            return found
    return campaign_compiled(campaign), 0


def link_table(campaign_id):
    """The campaign's whole link table: the final URL of each link index its click tokens may carry (its own
    links, then each translation's from its offset), None where there is none; None when it has not started.
    Cached per process: two queries the first time."""
    table = _LINK_TABLES.get(campaign_id)
    if table is not None:
        return table
    compiled = compiled_for_campaign_id(campaign_id)
    if compiled is None:
        return None
    urls = [link.final_url for link in compiled.links]
    for data, offset in CampaignTranslation.objects.filter(campaign_id=campaign_id).values_list(
        "compiled", "link_offset"
    ):
        translated = data.get("links", ())
        urls.extend([None] * (offset + len(translated) - len(urls)))
        for index, _original, final_url, _label in translated:
            urls[offset + index] = final_url
    if len(_LINK_TABLES) >= _MAX_CACHED:
        _LINK_TABLES.clear()
    table = _LINK_TABLES[campaign_id] = tuple(urls)
    return table


def translated_links(campaign):
    """[(language, Link, index in the campaign's link table)] of every translation of a started campaign (reports)."""
    rows = []
    for language, data, offset in CampaignTranslation.objects.filter(campaign=campaign).values_list(
        "language", "compiled", "link_offset"
    ):
        for link in CompiledEmail.from_dict(data).links:
            rows.append((language, link, offset + link.index))
    return rows


def forget_compiled(campaign_id=None):
    """Drop one campaign's cached CompiledEmail and translations, or all (tests)."""
    if campaign_id is None:
        _COMPILED.clear()
        _TRANSLATED.clear()
        _LINK_TABLES.clear()
    else:
        _COMPILED.pop(campaign_id, None)
        _LINK_TABLES.pop(campaign_id, None)
        for key in [key for key in _TRANSLATED if key[0] == campaign_id]:
            _TRANSLATED.pop(key, None)


def _campaign_changed(sender, instance, **kwargs):
    forget_compiled(instance.pk)


post_save.connect(_campaign_changed, sender=Campaign, dispatch_uid="wagtail_newsletter.send.links.compiled")
post_delete.connect(_campaign_changed, sender=Campaign, dispatch_uid="wagtail_newsletter.send.links.compiled.del")


def _translation_changed(sender, instance, **kwargs):
    forget_compiled(instance.campaign_id)


post_save.connect(_translation_changed, sender=CampaignTranslation, dispatch_uid="wagtail_newsletter.links.tr")
post_delete.connect(_translation_changed, sender=CampaignTranslation, dispatch_uid="wagtail_newsletter.links.tr.del")
