"""What people do with endpoints (from the admin or code): register, rotate the secret, enable again, replay."""

import datetime

from django.db import transaction
from django.utils import timezone

from ...conf import newsletter_settings
from . import delivery, fanout
from .models import OutboxStatus, WebhookEndpoint, WebhookMessage
from .signing import new_secret


def create_endpoint(url, events, name="", user=None):
    """Register an endpoint with a new secret; it gets the events that happen from now on."""
    endpoint = WebhookEndpoint(url=url, events=list(events), name=name or url, created_by=user)
    prepare_new(endpoint)
    endpoint.save()
    return endpoint


def prepare_new(endpoint):
    """A new endpoint gets its secret, and the logs start being read now (history is never sent)."""
    endpoint.secret = endpoint.secret or new_secret()
    fanout.start_cursors()


def rotate_secret(endpoint, now=None):
    """A new secret; the old one keeps signing beside it for WEBHOOK_SECRET_GRACE_HOURS. Returns the new one."""
    now = now or timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = now + datetime.timedelta(hours=newsletter_settings.WEBHOOK_SECRET_GRACE_HOURS)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    return endpoint.secret


def enable(endpoint, now=None):
    """Deliver again to a disabled endpoint: its waiting messages get a new retry window, and a task starts."""
    now = now or timezone.now()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            enabled=True, disabled_at=None, disabled_reason="", failing_since=None, failures_in_row=0
        )
        endpoint.refresh_from_db()
        endpoint.messages.filter(status=OutboxStatus.PENDING).update(
            expires_at=now + fanout.retry_window(), next_attempt_at=None
        )
        delivery.kick(endpoint.pk)


def replay(messages, now=None):
    """Send these messages again (same ``webhook-id``, a new retry window), whatever became of them; return how
    many. Rows being sent right now are left alone."""
    now = now or timezone.now()
    with transaction.atomic():
        messages = messages.exclude(status=OutboxStatus.CLAIMED)
        endpoint_ids = set(messages.values_list("endpoint_id", flat=True).distinct())
        count = WebhookMessage.objects.filter(pk__in=messages.values("pk")).update(
            status=OutboxStatus.PENDING, attempts=0, next_attempt_at=None, expires_at=now + fanout.retry_window()
        )
        for endpoint_id in endpoint_ids:
            delivery.kick(endpoint_id)
    return count
