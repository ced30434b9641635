"""``manage.py newsletter_classify FILE…``: what each raw message in a bounce mailbox is.

Prints one line per file: ``PATH<TAB>CLASS<TAB>RECIPIENTS<TAB>STATUS`` (recipients ``;``-separated, lower case;
CLASS and STATUS are ``;``-separated per recipient when recipients differ; STATUS is empty when the message carries
no RFC 3463 code). A file that cannot be read is reported on stderr and the command exits with status 1 at the end;
a message that cannot be parsed is class ``none``.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from wagtail_newsletter.deliverability.classify import classify
from wagtail_newsletter.deliverability.verdict import NOT_A_MESSAGE, UNPARSABLE

PROBLEMS = {
    NOT_A_MESSAGE: gettext_lazy("not a mail message (no header fields); classed none"),
    UNPARSABLE: gettext_lazy("the message could not be parsed; classed none"),
}


class Command(BaseCommand):
    help = "Classify raw bounce, complaint and auto-reply messages: one PATH, CLASS, RECIPIENTS, STATUS line each."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="raw message files (.eml)")

    def handle(self, *args, **options):
        missing = 0
        for path in options["files"]:
            try:
                with open(path, "rb") as handle:
                    raw = handle.read()
            except OSError as error:
                missing += 1
                self.stderr.write(_("%(path)s: cannot read: %(error)s") % {"path": path, "error": error.strerror})
                continue
            verdict = classify(raw)
            if verdict.problem:
                self.stderr.write(_("%(path)s: %(problem)s") % {"path": path, "problem": PROBLEMS[verdict.problem]})
            line = "\t".join((path, verdict.classes, ";".join(verdict.recipients), verdict.status))
            self.stdout.write(line)
        if missing:
            raise CommandError(_("%(count)d file(s) could not be read.") % {"count": missing}, returncode=1)
