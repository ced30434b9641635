"""What the deliverability floor keeps: one row per message that came back (bounce, complaint, auto-reply,
unsubscribe by mail), so that reading the same message twice changes nothing."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InboundVia(models.TextChoices):
    IMAP = "imap", _("IMAP mailbox")
    POP3 = "pop3", _("POP3 mailbox")
    PIPE = "pipe", _("Pipe from the mail server")
    WEBHOOK = "webhook", _("Sending service webhook")
    COMMAND = "command", _("Command")


class InboundMessage(models.Model):
    """One message (or ESP event) taken in. ``digest`` (SHA-256 of the raw bytes, or of the ESP's event id) is
    unique: taking the same message again is a no-op. The raw message is not kept (it quotes the address)."""

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=64, unique=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    via = models.CharField(_("received through"), max_length=10, choices=InboundVia.choices)
    # The classifier's reading: class (hard, soft, transient, policy, complaint, none; "unsubscribe" for a mail to
    # the List-Unsubscribe address), format, RFC 3463 status and failed recipients (";"-separated, lower case).
    cls = models.CharField(_("class"), max_length=12, blank=True)
    kind = models.CharField(_("format"), max_length=20, blank=True)
    status = models.CharField(_("status code"), max_length=40, blank=True)
    recipients = models.CharField(_("recipients"), max_length=500, blank=True)
    # Which delivery it was found to be about (None: not ours, or not found), and what was done.
    delivery = models.ForeignKey(
        "wagtail_newsletter.Delivery",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    campaign = models.ForeignKey(
        "wagtail_newsletter.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("message received")
        verbose_name_plural = _("messages received")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["campaign", "cls"], name="wn_inbound_campaign_cls")]

    def __str__(self):
        return f"{self.get_via_display()} {self.cls or '?'} {self.received_at:%Y-%m-%d %H:%M}"
