"""``manage.py newsletter_dkim generate|rotate|show DOMAIN [--selector S] [--zone]``: a sender domain's DKIM key.

``generate`` makes the first key (adding the sender domain if needed), ``rotate`` replaces it (a new dated selector
unless ``--selector`` names one), ``show`` prints the record of the current key. Each prints the TXT record to
publish: ``NAME TXT VALUE``, or with ``--zone`` a zone-file line with the value split into quoted strings.
"""

from django.core.management.base import BaseCommand, CommandError

from wagtail_newsletter import api


class Command(BaseCommand):
    help = "Generate, rotate or show the DKIM key of a sender domain, and the DNS record to publish."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["generate", "rotate", "show"])
        parser.add_argument("domain", help="The sender domain, e.g. example.org")
        parser.add_argument("--selector", help="generate: the selector (default: newsletter); rotate: the new one")
        parser.add_argument("--zone", action="store_true", help="Print a zone-file line (quoted 255-byte strings)")

    def handle(self, *args, action, domain, selector=None, zone=False, **options):
        try:
            if action == "generate":
                key = api.generate_dkim_key(domain, **({"selector": selector} if selector else {}))
            elif action == "rotate":
                key = api.rotate_dkim_key(domain, selector=selector)
            else:
                if selector:
                    raise CommandError("--selector is for generate and rotate")
                key = api.dkim_key(domain)
        except api.NewsletterError as error:
            raise CommandError(str(error)) from error
        if action != "show":
            self.stderr.write(f"{action}d: {key.bits}-bit RSA key {key.fingerprint} for {key.domain}")
        if zone:
            strings = " ".join(f'"{part}"' for part in key.txt_strings)
            self.stdout.write(f"{key.dns_name}. 3600 IN TXT ( {strings} )")
        else:
            self.stdout.write(f"{key.dns_name} TXT {key.dns_value}")
