"""Mails to one person outside campaigns — double opt-in confirmations — sent through the campaigns' pipeline
(MIME skeleton, DKIM signature of the sender domain, transport), never counted in quotas or statistics.

A sign-up in ``audience`` (a floor below) asks for its confirmation email with the ``confirmation_requested`` signal;
the receiver here queues the task (connected in ``AppConfig.ready``).
"""

from email.utils import parseaddr

from django.conf import settings
from django.dispatch import receiver
from django.utils import translation

from ..audience.confirmation_email import build_confirmation_email, consent_language
from ..audience.optin import confirmation_requested
from ..audience.tasks import consent_to_mail
from ..taskqueue import enqueue_on_commit
from .outgoing import Sender

CONFIRMATION_TASK = "wagtail_newsletter.send.system_mail.send_confirmation_email"


def send_message(message):
    """Send a Django ``EmailMultiAlternatives`` (text body + HTML alternative) through the pipeline, to each of
    its recipients; return how many the relay accepted (TransportError when it refuses one)."""
    name, address = parseaddr(message.from_email)
    html = next((content for content, mimetype in message.alternatives if mimetype == "text/html"), "")
    headers = tuple((key, value) for key, value in message.extra_headers.items() if key.lower() != "message-id")
    sender = Sender(name, address, reply_to=(message.reply_to or [""])[0], extra_headers=headers, list_id="")
    for recipient in message.to:
        sender.send_single(recipient, message.subject, html, message.body)
    return len(message.to)


def send_confirmation_email(consent_id):
    """django-q2 task: the double opt-in email of a consent; skipped once confirmed (so a retry after
    confirmation, or a late duplicate task, mails nobody). Returns "sent" or "skipped"."""
    consent = consent_to_mail(consent_id)
    if consent is None or consent.confirmed_at is not None:
        return "skipped"
    with translation.override(consent_language(consent) or settings.LANGUAGE_CODE):
        send_message(build_confirmation_email(consent))
    return "sent"


@receiver(confirmation_requested, dispatch_uid="wagtail_newsletter.send.system_mail.confirmation")
def queue_confirmation_email(sender, consent_id, **kwargs):
    enqueue_on_commit(CONFIRMATION_TASK, consent_id)
