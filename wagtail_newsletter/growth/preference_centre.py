"""The preference page behind the link in every mail's footer: plain functions, testable without HTTP.

The link's token signs (delivery id, day of issue) for the "preferences" purpose: it names the delivery, so the page
knows the subscriber and the campaign the mail came from (for the reports), and it expires after
``PREFERENCES_LINK_DAYS`` (newer mails carry newer links). A forged, altered, other-purpose or expired token finds
nobody and changes nothing. Every change goes through ``audience.preferences`` (logged) or, to leave, through
``track.unsubscribe`` (status history and the campaign's unsubscribe event).
"""

import time
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ..audience import preferences
from ..audience.models import Status
from ..conf import newsletter_settings
from ..send.links import PREFERENCES_PREVIEW
from ..send.models import Delivery
from ..tokens import InvalidToken, LinkSigner
from ..track.unsubscribe import unsubscribe_delivery

INVALID, EXPIRED = "invalid", "expired"
ACTIONS = ("save", "pause", "resume", "unsubscribe")


@dataclass
class Visit:
    """Who the link is for: the delivery (with campaign and subscriber), or why nobody (``problem``)."""

    delivery: object = None
    problem: str = ""
    preview: bool = False

    @property
    def subscriber(self):
        return self.delivery.subscriber if self.delivery is not None else None

    @property
    def campaign_id(self):
        return self.delivery.campaign_id if self.delivery is not None else None


def endpoint_path(name, token):
    """The site path of the preference page for ``token`` (``send.links`` writes it into every mail's footer)."""
    return reverse("wagtail_newsletter:preferences", args=[token])


def today():
    return int(time.time() // 86400)


def read_link(token, day=None):
    """The Visit of a preference link's ``token``: its delivery, or the problem (INVALID or EXPIRED)."""
    if token == PREFERENCES_PREVIEW:
        return Visit(preview=True)
    try:
        delivery_id, issued = LinkSigner("preferences").read(token)
    except InvalidToken:
        return Visit(problem=INVALID)
    if issued is None:
        return Visit(problem=INVALID)
    age = (today() if day is None else day) - issued
    if not 0 <= age <= newsletter_settings.PREFERENCES_LINK_DAYS:
        return Visit(problem=EXPIRED)
    # The HMAC said the token was made here; the delivery row is read once the token is known to be good.
    delivery = Delivery.objects.select_related("campaign", "subscriber").filter(pk=delivery_id).first()
    subscriber = delivery.subscriber if delivery is not None and delivery.subscriber_id else None
    if subscriber is None or subscriber.erase_after is not None or subscriber.deleted_at is not None:
        return Visit(problem=INVALID)  # erased, forgotten or deleted since: nothing of theirs is shown again
    return Visit(delivery=delivery)


def problem_text(problem):
    """(title, message) of the page shown for a link that does not work."""
    if problem == EXPIRED:
        return _("This link has expired"), _(
            "Links to the preference page work for a while only. Use the “Preferences” link of a more recent "
            "email from us."
        )
    return _("This link does not work"), _(
        "The link is incomplete or was changed. Open it again from the email, or copy the whole link into your browser."
    )


def can_change(visit):
    """Only a subscribed person has preferences to change (an unsubscribed one sees that they left)."""
    return visit.subscriber is not None and visit.subscriber.status == Status.SUBSCRIBED


def save(visit, form):
    """Apply a valid PreferencesForm: topics, language and fields; returns the kinds of change made."""
    subscriber, campaign_id = visit.subscriber, visit.campaign_id
    changed = []
    with transaction.atomic():
        if preferences.set_topics(subscriber, form.cleaned_data["topics"], campaign_id):
            changed.append("topics")
        if preferences.set_language(subscriber, form.cleaned_data["language"], campaign_id):
            changed.append("language")
        if preferences.set_fields(subscriber, form.field_values(), campaign_id):
            changed.append("fields")
    return changed


def pause(visit, months):
    return preferences.pause(visit.subscriber, months, visit.campaign_id)


def resume(visit):
    return preferences.resume(visit.subscriber, visit.campaign_id)


def unsubscribe(visit, reason="", reason_text=""):
    """Unsubscribe the visitor (status history, the campaign's unsubscribe event) and log their reason; True when
    their status changed (a second POST changes nothing and logs nothing)."""
    with transaction.atomic():
        changed = unsubscribe_delivery(visit.delivery, how="preference page")
        if changed:
            preferences.record_unsubscribe(visit.subscriber, reason, reason_text, visit.campaign_id)
    return changed
