"""``manage.py newsletter_import FILE --group NAME [--mapping col=field ...] [--dry-run] [--rejects FILE]``.

Progress goes to stderr; the last line on stdout is ``created=N updated=N rejected=N``.
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wagtail_newsletter.audience.import_readers import ImportFileError, open_table
from wagtail_newsletter.audience.importing import guess_mapping, import_subscribers, write_rejects_csv
from wagtail_newsletter.audience.models import Group


class ProgressBar:
    """A one-line text progress bar on a command's stderr, redrawn at most a few times a second."""

    def __init__(self, stream, width=30):
        self.stream = stream  # a BaseCommand OutputWrapper
        self.width = width
        self.last = 0.0
        self.finished = False
        self.started = time.monotonic()

    def __call__(self, done, total):
        now = time.monotonic()
        if self.finished or (now - self.last < 0.2 and done < total):
            return
        self.last, self.finished = now, done >= total
        fraction = done / total if total else 1.0
        filled = int(self.width * fraction)
        elapsed = now - self.started
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\r[{bar}] {fraction:6.1%}  {elapsed:6.1f}s", ending="")
        self.stream.flush()

    def finish(self):
        self.stream.write("")


def parse_mapping_options(options):
    mapping = {}
    for option in options:
        column, sep, target = option.rpartition("=")
        if not sep or not column.strip():
            raise CommandError(_("--mapping takes COLUMN=FIELD (for example “E-mail=email”), not “%s”.") % option)
        mapping[column.strip()] = target.strip()
    return mapping


class Command(BaseCommand):
    help = "Import subscribers from a CSV or XLSX file into one or more groups."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV or XLSX file")
        parser.add_argument(
            "--group", action="append", default=[], help="group to add subscribers to (created if missing); repeatable"
        )
        parser.add_argument(
            "--mapping",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="map a column to email, first_name, last_name, language, a custom field key, or ignore; "
            "repeatable; unmapped columns are guessed from their headers",
        )
        parser.add_argument("--dry-run", action="store_true", help="check the file and count, but write nothing")
        parser.add_argument("--rejects", metavar="CSV", help="write rejected rows (line, email, reason) to this file")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args, **options):
        overrides = parse_mapping_options(options["mapping"])
        try:
            fileobj = open(options["file"], "rb")  # noqa: SIM115 -- closed below
        except OSError as exc:
            raise CommandError(_("Cannot open %(file)s: %(error)s") % {"file": options["file"], "error": exc}) from exc
        with fileobj:
            try:
                table = open_table(fileobj)
                mapping = guess_mapping(table.headers)
                lowered = {header.lower(): header for header in table.headers}
                for column, target in overrides.items():
                    mapping[lowered.get(column.lower(), column)] = target
                groups = self.get_groups(options["group"], options["dry_run"])
                progress = None if options["no_progress"] else ProgressBar(self.stderr)
                result = import_subscribers(
                    table, mapping, groups, dry_run=options["dry_run"], progress=progress, note=fileobj.name[-255:]
                )
                if progress:
                    progress.finish()
            except ImportFileError as exc:
                raise CommandError(str(exc)) from exc
        if options["rejects"]:
            with open(options["rejects"], "w", newline="", encoding="utf-8") as out:
                write_rejects_csv(out, result.rejects, result.rejected)
        if result.merged:
            self.stderr.write(_("%(count)d duplicate rows merged.") % {"count": result.merged})
        if options["dry_run"]:
            self.stderr.write(_("Dry run: nothing was written."))
        self.stdout.write(result.summary)

    def get_groups(self, names, dry_run):
        groups = []
        for name in names:
            name = name.strip()
            group = Group.objects.filter(name__iexact=name).first()
            if group is None:
                if dry_run:
                    self.stderr.write(_("Group “%(name)s” does not exist; it would be created.") % {"name": name})
                    continue
                group = Group.objects.create(name=name)
                self.stderr.write(_("Created group “%(name)s”.") % {"name": name})
            groups.append(group)
        return groups
