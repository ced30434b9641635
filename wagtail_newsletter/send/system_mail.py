"""Mails to one person outside campaigns — double opt-in confirmations — sent through the campaigns' pipeline
(MIME skeleton, DKIM signature of the sender domain, transport), never counted in quotas or statistics."""

from email.utils import parseaddr

from .outgoing import Sender


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
    from django.conf import settings
    from django.utils import translation

    from ..audience.confirmation_email import build_confirmation_email, consent_language
    from ..audience.tasks import consent_to_mail

    consent = consent_to_mail(consent_id)
    if consent is None or consent.confirmed_at is not None:
        return "skipped"
    with translation.override(consent_language(consent) or settings.LANGUAGE_CODE):
        send_message(build_confirmation_email(consent))
    return "sent"
