"""The demo's webhook receiver: the example site registers itself as a webhook endpoint (``setup_demo``), checks each
message's Standard Webhooks signature as any receiver should, and keeps what it got as JSON files beside the Outbox's
mails, listed in the admin under Outbox › Webhooks received."""

import base64
import hashlib
import hmac
import json
import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from wagtail_newsletter.api.webhooks.models import WebhookEndpoint

DEMO_ENDPOINT_NAME = "Demo receiver (this site)"
RECEIVER_PATH = "/demo-webhooks/"
TOLERANCE = 300  # seconds: an older timestamp is refused (a replayed capture)


def inbox_dir():
    return Path(getattr(settings, "WEBHOOK_INBOX_DIR", Path(settings.OUTBOX_DIR).parent / "webhooks"))


def verify(secret, headers, body):
    """The payload if one of ``webhook-signature``'s v1 signatures is the HMAC-SHA256 of "id.timestamp.body" with the
    secret's bytes and the timestamp is recent; else None (the code of docs/developers/webhooks.md)."""
    msg_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE:
        return None
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in headers.get("webhook-signature", "").split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            return json.loads(body)
    return None


@csrf_exempt
@require_POST
def receive(request):
    """Accept a message signed with the demo endpoint's secret (the current one, or the previous during a rotation)."""
    endpoint = WebhookEndpoint.objects.filter(name=DEMO_ENDPOINT_NAME).first()
    secrets = [s for s in (endpoint.secret, endpoint.previous_secret) if s] if endpoint else []
    headers = {name: request.headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    payload = next((p for p in (verify(s, headers, request.body) for s in secrets) if p is not None), None)
    if payload is None:
        return HttpResponse("bad signature", status=401, content_type="text/plain")
    folder = inbox_dir()
    folder.mkdir(parents=True, exist_ok=True)
    record = {"webhook_id": headers["webhook-id"], "received_at": time.time(), "payload": payload}
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.json"
    temporary = folder / f".{name}"
    temporary.write_text(json.dumps(record))
    os.replace(temporary, folder / name)  # whole or not at all, as the Outbox's mails
    return HttpResponse("ok", content_type="text/plain")


def received_webhooks():
    """What the receiver kept, newest first (a message posted again has the same ``webhook_id``)."""
    folder = inbox_dir()
    files = sorted(folder.glob("[0-9]*.json"), reverse=True) if folder.is_dir() else []
    return [json.loads(path.read_text()) for path in files[:200]]


class ReceivedWebhooksView(WagtailAdminTemplateMixin, TemplateView):
    page_title = gettext_lazy("Webhooks received")
    header_icon = "link-external"
    template_name = "outbox/webhooks.html"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        received = [{**record, "pretty": json.dumps(record["payload"], indent=2)} for record in received_webhooks()]
        return super().get_context_data(received=received, **kwargs)
