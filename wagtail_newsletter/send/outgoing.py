"""What campaigns, test sends and confirmation mails share on their way out: the sender, the MIME skeleton with its
DKIM signer, and the Django message used when the email backend is not SMTP.

One pipeline for all of them, so what an editor tests is what subscribers get.
"""

import hashlib
import hmac
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from ..conf import newsletter_settings
from ..mail_text import date_header
from .dkim_signing import sender_domain_signer
from .mime import MessageIds, MessageSkeleton, make_list_id, one_line, verp_return_path
from .mime import message_id as random_message_id
from .transport import SmtpTransport, open_transport


def default_sender():
    """(name, address) of DEFAULT_FROM_EMAIL."""
    return parseaddr(one_line(newsletter_settings.DEFAULT_FROM_EMAIL or ""))


def sender_of(from_name, from_email):
    """(name, address): the given ones, else the site's default sender."""
    default_name, default_address = default_sender()
    if one_line(from_email):
        return one_line(from_name), one_line(from_email)
    return one_line(from_name) or default_name, default_address


def domain_of(address):
    return address.rpartition("@")[2].strip().lower()


class Sender:
    """Who a message is from, with its MIME skeleton (DKIM-signed when the site has a key for the sender's domain)
    and the same headers for the Django message that other email backends get."""

    def __init__(
        self, from_name, from_email, reply_to="", feedback_id="", extra_headers=(), list_id=None, boundary=None
    ):
        self.name, self.address = sender_of(from_name, from_email)
        self.domain = domain_of(self.address)
        self.reply_to = one_line(reply_to)
        if list_id is None:
            list_id = make_list_id(self.domain)
        self.skeleton = MessageSkeleton(
            from_name=self.name,
            from_email=self.address,
            reply_to=self.reply_to,
            list_id=list_id,
            feedback_id=feedback_id,
            extra_headers=extra_headers,
            signer=sender_domain_signer(self.address),
            boundary=boundary,
        )
        self.headers = dict(extra_headers)
        if list_id:
            self.headers["List-Id"] = list_id
        if feedback_id:
            self.headers["Feedback-ID"] = feedback_id

    def django_message(self, to_email, subject, html, text, message_id, **links):
        """The message as a Django EmailMultiAlternatives, for email backends other than SMTP (ESPs sign it)."""
        headers = {"Message-ID": message_id, "Date": date_header(), **self.headers}
        url, mailto = links.get("list_unsubscribe_url"), links.get("list_unsubscribe_mailto")
        if url or mailto:
            headers["List-Unsubscribe"] = ", ".join(f"<{target}>" for target in (url, mailto) if target)
            if url:
                headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=formataddr((self.name, self.address)),
            to=[to_email],
            reply_to=[self.reply_to] if self.reply_to else None,
            headers=headers,
        )
        message.attach_alternative(html, "text/html")
        return message

    def send_single(self, to_email, subject, html, text, message_id=None, envelope=None):
        """Send one message (test send, confirmation) through the same skeleton, signer and transport as campaigns.

        Raises TransportError when the relay refuses it. Never counted in quotas or statistics.
        """
        parts = {"to_email": to_email, "subject": subject, "html": html, "text": text}
        parts["message_id"] = message_id or random_message_id(None, self.domain)
        envelope = envelope or self.address
        transport = open_transport()
        try:
            raw = self.skeleton.render(**parts) if isinstance(transport, SmtpTransport) else None
            transport.send(envelope, to_email, raw, lambda: self.django_message(**parts))
        finally:
            transport.close()


def campaign_boundary(campaign_id):
    """The MIME boundary of a campaign's messages: the same in every worker (and in ``api.render_message``), and
    unguessable without SECRET_KEY ("=_" never occurs in quoted-printable text, so no body can hold it)."""
    key = hashlib.sha256(f"wagtail_newsletter.boundary:{settings.SECRET_KEY}".encode()).digest()
    return b"=_nl_" + hmac.new(key, str(campaign_id).encode("ascii"), "sha256").hexdigest()[:24].encode("ascii")


def campaign_sender(campaign):
    return Sender(
        campaign.from_name,
        campaign.from_email,
        reply_to=campaign.reply_to,
        feedback_id=f"{campaign.pk}:{campaign.page_id or 0}:newsletter:{newsletter_settings.SENDER_ID}",
        boundary=campaign_boundary(campaign.pk),
    )


_MESSAGE_IDS = {}


def message_id_for(delivery_id, domain):
    ids = _MESSAGE_IDS.get(domain)
    if ids is None:
        ids = _MESSAGE_IDS[domain] = MessageIds(domain)
    return ids(delivery_id)


def envelope_sender(delivery_id, domain, signer=None):
    """The VERP Return-Path of a delivery (bounces carry its signed id back); ``signer``: a LinkSigner("bounce")."""
    return verp_return_path(delivery_id, newsletter_settings.RETURN_PATH_DOMAIN or domain, signer)
