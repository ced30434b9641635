"""``manage.py newsletter_api_key NAME --user USERNAME [--scope read --scope write …] [--days N]``: make a REST API
key from the command line (deployment scripts, the example site) and print it — the only time it is shown; the admin
(Settings › API keys) makes them the same way."""

import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from wagtail_newsletter.api.rest.keys import create_key
from wagtail_newsletter.api.rest.models import Scope


class Command(BaseCommand):
    help = "Make a REST API key acting as a user, and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name", help="who or what uses the key")
        parser.add_argument("--user", required=True, help="the username the key acts as")
        parser.add_argument("--scope", action="append", choices=Scope.values, help="read, write, send (repeatable)")
        parser.add_argument("--days", type=int, default=None, help="expires after this many days (default: never)")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(_("No user is named “%(name)s”.") % {"name": options["user"]})
        name = options["name"].strip()
        if not name or len(name) > 100:
            raise CommandError(_("A key's name has 1 to 100 characters."))
        if options["days"] is not None and options["days"] < 1:
            raise CommandError(_("--days must be at least 1."))
        expires_at = timezone.now() + datetime.timedelta(days=options["days"]) if options["days"] else None
        _api_key, plain = create_key(name, user, sorted(set(options["scope"] or [Scope.READ])), expires_at=expires_at)
        self.stdout.write(plain)
