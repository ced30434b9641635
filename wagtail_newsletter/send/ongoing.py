"""Campaigns that grow: started with no recipient, then given deliveries as people reach them (the "send" steps of
growth's automations). Every message is still a ``Delivery`` the workers send — exactly once, DKIM-signed, tracked,
within quotas and credits — and the campaign's report is the step's report.

``start_ongoing`` freezes the page like ``campaigns.send_now`` does (same checks, except the audience);
``add_recipients`` is the planner's ``INSERT … SELECT`` for a given set of subscribers, inside the caller's
transaction, and it brings a campaign the dispatcher marked sent back to *sending*.
"""

from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import newsletter_settings
from . import credits, dispatch
from .campaigns import CampaignError, _raise_problems, check_can_send, compile_campaign, create_campaign
from .models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from .planner import recipients
from .translations import compile_translations, language_expression, planned_languages

# A campaign given deliveries later may be sent again once the dispatcher marked it sent; never a cancelled one.
OPEN_STATUSES = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)


def start_ongoing(page, name, user=None):
    """A campaign of ``page``'s published revision, compiled and *sending* with no recipient yet.

    Raises ``CampaignError`` (messages for people) when it could not be sent: no sender, unverified domain,
    checklist errors, an unpublished translation, credits used up, a sending guard."""
    if page.live_revision_id is None:
        raise CampaignError(_("“%(title)s” is not published: automations send a newsletter's published version.")
                            % {"title": page.title})  # fmt: skip
    campaign = create_campaign(page, user, name=name[:255])
    if campaign.revision_id != page.live_revision_id:  # a draft saved since: the published version goes out
        published = page.live_revision
        frozen = published.as_object()
        campaign.revision = published
        campaign.subject, campaign.from_name = frozen.subject or "", frozen.sender_name or ""
        campaign.from_email, campaign.reply_to = frozen.sender_email or "", frozen.reply_to or ""
        campaign.save(update_fields=["revision", "subject", "from_name", "from_email", "reply_to"])
    compiled = compile_campaign(campaign)
    _raise_problems(check_can_send(campaign, user, compiled=compiled, count=1))
    campaign.compiled = compiled.to_dict()
    campaign.subject = compiled.source("subject")[:255] or campaign.subject
    campaign.all_subscribers = False  # its recipients are given one by one, never planned from an audience
    translated = compile_translations(campaign, compiled)
    if translated:
        campaign.compiled["languages"] = [translation.language for translation in translated]
    campaign.status = CampaignStatus.SENDING
    campaign.started_at = timezone.now()
    campaign.sent_by = user
    campaign.save()
    return campaign


def add_recipients(campaign_id, subscribers):
    """Queue a delivery of the campaign for each of ``subscribers`` (a Subscriber queryset) who may receive mail now
    (subscribed, not paused) and has none yet: one ``INSERT … SELECT``. Call it inside a transaction: credits are
    charged (``InsufficientCredits`` rolls it back) and the workers kicked when it commits. Returns how many were
    added; 0 for a campaign that was cancelled or failed."""
    campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
    if campaign is None or campaign.status not in OPEN_STATUSES:
        return 0
    sendable = recipients(True).filter(pk__in=subscribers.order_by().values("pk"))
    language = language_expression(planned_languages(campaign))
    query = sendable.order_by().values(recipient_id=F("pk"), recipient_language=language).query
    select_sql, params = query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, subscriber_id, status, attempts, error, language) "
            "SELECT %s, recipient.recipient_id, %s, 0, '', recipient.recipient_language "
            f"FROM ({select_sql}) recipient WHERE true "
            "ON CONFLICT (campaign_id, subscriber_id) DO NOTHING",
            [campaign.pk, DeliveryStatus.QUEUED, *params],
        )
        added = cursor.rowcount
    if not added:
        return 0
    if newsletter_settings.CREDITS_ENABLED:
        credits.charge(campaign, added)
    updates = {"recipient_count": F("recipient_count") + added}
    if campaign.status == CampaignStatus.SENT:
        updates.update(status=CampaignStatus.SENDING, finished_at=None)
    Campaign.objects.filter(pk=campaign.pk).update(**updates)
    if campaign.status != CampaignStatus.PAUSED:
        dispatch.kick_on_commit(campaign.pk, newsletter_settings.SEND_CONCURRENCY)
    return added


def reopenable(campaign_id):
    """Whether ``campaign_id`` can still be given deliveries (not cancelled, failed or deleted)."""
    return Campaign.objects.filter(pk=campaign_id, status__in=OPEN_STATUSES).exists()


__all__ = ["CampaignError", "add_recipients", "reopenable", "start_ongoing"]
