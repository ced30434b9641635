"""``manage.py newsletter_dkim generate|rotate|complete|cancel|show DOMAIN [--selector S] [--force] [--zone]``.

``generate`` makes the first key (adding the sender domain if needed). Rotation is gapless: ``rotate`` makes the
next key under a new selector (dated unless ``--selector`` names one) and prints its record, while the current key
keeps signing; ``complete`` switches signing to it once DNS publishes that record (``--force``: without looking);
``cancel`` drops it. ``show`` prints the current key's record, and the next key's during a rotation. Records are
printed ``NAME TXT VALUE``, or with ``--zone`` as zone-file lines with the value split into quoted strings.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from wagtail_newsletter import api


class Command(BaseCommand):
    help = "Generate, rotate (gaplessly) or show the DKIM key of a sender domain, and the DNS records to publish."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["generate", "rotate", "complete", "cancel", "show"])
        parser.add_argument("domain", help="The sender domain, e.g. example.org")
        parser.add_argument("--selector", help="generate: the selector (default: newsletter); rotate: the next one")
        parser.add_argument("--force", action="store_true", help="complete: switch without finding the record in DNS")
        parser.add_argument("--zone", action="store_true", help="Print zone-file lines (quoted 255-byte strings)")

    def handle(self, *args, action, domain, selector=None, force=False, zone=False, **options):
        if selector and action not in ("generate", "rotate"):
            raise CommandError("--selector is for generate and rotate")
        if force and action != "complete":
            raise CommandError("--force is for complete")
        try:
            if action == "generate":
                key = api.generate_dkim_key(domain, **({"selector": selector} if selector else {}))
                self.stderr.write(f"generated: {key.bits}-bit RSA key {key.fingerprint} for {key.domain}")
            elif action == "rotate":
                key = api.rotate_dkim_key(domain, selector=selector)
                self.stderr.write(
                    f"rotation started: next key {key.fingerprint} for {key.domain}. The current key keeps signing. "
                    f"Publish this record, then run: newsletter_dkim complete {key.domain}"
                )
            elif action == "complete":
                key = api.complete_dkim_rotation(domain, force=force)
                keys = api.dkim_keys(domain)
                self.stderr.write(
                    f"rotated: {key.domain} now signs with selector {key.selector}. Keep the record of "
                    f"{keys.previous_selector or '-'} published until {self._day(keys.previous_removable_after)} "
                    "for mail in flight, then remove it."
                )
            elif action == "cancel":
                api.cancel_dkim_rotation(domain)
                self.stderr.write(f"rotation cancelled: {domain} keeps its current key")
                return
            else:
                self._show(api.dkim_keys(domain), zone)
                return
        except api.NewsletterError as error:
            raise CommandError(str(error)) from error
        self._record(key, zone)

    def _show(self, keys, zone):
        if keys.current is None:
            raise CommandError(f"The sender domain {keys.domain} has no usable DKIM key: generate one.")
        self._record(keys.current, zone)
        if keys.pending:
            self.stderr.write(f"rotation in progress since {self._day(keys.rotation_started_at)}; next key:")
            self._record(keys.pending, zone)
        if keys.previous_selector:
            self.stderr.write(
                f"previous selector {keys.previous_selector}: keep its record until "
                f"{self._day(keys.previous_removable_after)}, then remove it"
            )

    def _record(self, key, zone):
        if zone:
            strings = " ".join(f'"{part}"' for part in key.txt_strings)
            self.stdout.write(f"{key.dns_name}. 3600 IN TXT ( {strings} )")
        else:
            self.stdout.write(f"{key.dns_name} TXT {key.dns_value}")

    @staticmethod
    def _day(value):
        return f"{timezone.localtime(value):%Y-%m-%d}" if value else "-"
