"""Telling people that an endpoint was disabled: the user who registered it, and the site's ADMINS."""

import logging

from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from ...conf import newsletter_settings
from .models import WebhookEndpoint

logger = logging.getLogger(__name__)


def failing_reason(endpoint):
    since = timezone.localtime(endpoint.failing_since).strftime("%Y-%m-%d %H:%M")
    return _("Every delivery failed since %(since)s.") % {"since": since}


def tell_owner(endpoint_id):
    """Mail the endpoint's owner (and ADMINS) that it was disabled, with what to do. Never raises."""
    endpoint = WebhookEndpoint.objects.select_related("created_by").filter(pk=endpoint_id).first()
    if endpoint is None:
        return
    subject = _("Webhook endpoint disabled: %(name)s") % {"name": endpoint}
    body = _(
        "The webhook endpoint “%(name)s” (%(url)s) kept failing and was disabled.\n%(reason)s\n\n"
        "Its messages wait and nothing is lost while they are less than %(hours)d hours old. Check the delivery log "
        "in the admin (Newsletter › Webhooks), fix the receiver, then enable the endpoint again."
    ) % {
        "name": endpoint.name,
        "url": endpoint.url,
        "reason": endpoint.disabled_reason,
        "hours": newsletter_settings.WEBHOOK_RETRY_HOURS,
    }
    owner = getattr(endpoint.created_by, "email", "")
    try:
        if owner:
            send_mail(subject, body, newsletter_settings.DEFAULT_FROM_EMAIL, [owner])
        if settings.ADMINS:
            mail_admins(subject, body)
    except Exception:  # noqa: BLE001 (the endpoint stays disabled whatever the mail does)
        logger.exception("Could not tell the owner of webhook endpoint %s that it was disabled", endpoint_id)
