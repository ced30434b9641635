"""``manage.py newsletter_poll_bounces``: read the bounce mailbox (BOUNCE_MAILBOX, IMAP or POP3) once, now — what
the django-q2 schedule does every BOUNCE_POLL_SECONDS."""

import imaplib
import poplib

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wagtail_newsletter.conf import newsletter_settings
from wagtail_newsletter.deliverability.mailbox import poll


class Command(BaseCommand):
    help = "Read the bounce mailbox once: take each message in, then move or delete it on the server."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="read at most this many messages")

    def handle(self, *args, **options):
        if newsletter_settings.BOUNCE_MAILBOX is None:
            raise CommandError(_("No bounce mailbox: set BOUNCE_MAILBOX in the WAGTAIL_NEWSLETTER settings."))
        try:
            result = poll(limit=options["limit"])
        except (OSError, ValueError, imaplib.IMAP4.error, poplib.error_proto) as error:  # imapclient's derive too
            raise CommandError(_("The bounce mailbox could not be read: %(error)s") % {"error": error}) from error
        self.stdout.write(
            _("%(taken)d taken, %(known)d already known, %(failed)d left for later")
            % {"taken": result.taken, "known": result.known, "failed": result.failed}
        )
        if result.failed:
            raise CommandError(_("%(count)d message(s) could not be recorded.") % {"count": result.failed})
