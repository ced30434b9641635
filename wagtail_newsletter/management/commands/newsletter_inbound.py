"""``manage.py newsletter_inbound [--sender=ADDR] [--recipient=ADDR …] < message``: take one returned message in, for
a mail server's pipe transport (Postfix ``pipe(8)``, Exim's pipe transport, a ``.forward``).

Exit status as ``sysexits.h`` says and MTAs understand: 0 when the message is taken — also when it is not ours, not a
bounce, unreadable or read before —; 75 (EX_TEMPFAIL) when it could not be recorded now (the database is down …):
the mail server keeps it and tries again later. See docs/operators-bounces.md.
"""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wagtail_newsletter.deliverability.intake import MAX_MESSAGE_BYTES, take_message
from wagtail_newsletter.deliverability.models import InboundVia

EX_TEMPFAIL = 75


def read_stdin(stream):
    """The message as the MTA hands it over, without an mbox ``From `` line (local(8) and procmail prepend one,
    with the time of this attempt: a retry must have the same digest). Beyond the size limit only the length
    matters, so the rest is read in chunks and dropped."""
    raw = stream.read(MAX_MESSAGE_BYTES + 1)
    if len(raw) > MAX_MESSAGE_BYTES:
        extra = 0
        while chunk := stream.read(1 << 20):
            extra += len(chunk)
        raw += b"\0" * extra  # keeps the size (the message is recorded as too big, not read)
    if raw.startswith(b"From "):
        raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
    return raw


class Command(BaseCommand):
    help = "Take one returned message (bounce, complaint, reply, unsubscribe request) from standard input."
    stealth_options = ("stdin",)  # call_command(..., stdin=a binary stream)

    def add_arguments(self, parser):
        parser.add_argument("--sender", default="", help="envelope sender (Postfix pipe: ${sender})")
        parser.add_argument(
            "--recipient",
            action="append",
            default=[],
            help="envelope recipient (Postfix pipe: ${recipient}); may be given more than once",
        )

    def handle(self, *args, **options):
        stream = options.get("stdin") or sys.stdin.buffer
        try:
            raw = read_stdin(stream)
            row = take_message(raw, InboundVia.PIPE, envelope_recipients=options["recipient"],
                               envelope_sender=options["sender"])  # fmt: skip
        except Exception as error:  # noqa: BLE001 (nothing was recorded: the mail server must keep the message)
            message = _("message not recorded, try again later: %(error)s") % {"error": error}
            raise CommandError(message[:300], returncode=EX_TEMPFAIL) from error
        if options["verbosity"] >= 2:
            if row is None:
                self.stdout.write(_("already taken"))
            else:
                self.stdout.write(f"{row.cls}\t{row.recipients}\t{row.status}\t{row.outcome}")
