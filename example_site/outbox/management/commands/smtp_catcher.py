"""``manage.py smtp_catcher``: a local SMTP server that keeps every mail in the Outbox.

It delivers nothing: each message is stored as a ``.eml`` file under ``settings.OUTBOX_DIR`` and
shown in the admin's Outbox. Stops cleanly on Ctrl-C or SIGTERM.
"""

import signal
import threading

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand

from outbox.messages import outbox_dir, store_message


class OutboxHandler:
    """aiosmtpd handler: store each message in the outbox directory."""

    def __init__(self, directory=None):
        self.directory = directory

    async def handle_DATA(self, server, session, envelope):
        store_message(
            envelope.original_content or envelope.content,
            self.directory,
            envelope_from=envelope.mail_from or "",
            envelope_to=envelope.rcpt_tos,
        )
        return "250 Message accepted for delivery"


class Command(BaseCommand):
    help = "Run a local SMTP server that stores every received mail in the Outbox (shown in the admin)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.EMAIL_PORT)

    def handle(self, *args, host, port, **options):
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        controller = Controller(OutboxHandler(outbox_dir()), hostname=host, port=port)
        controller.start()
        self.stdout.write(f"SMTP catcher listening on {host}:{port}, storing mails in {outbox_dir()}")
        self.stdout.flush()
        try:
            while not stop.wait(1):
                pass
        finally:
            controller.stop()
            self.stdout.write("SMTP catcher stopped.")
