"""Import subscribers from a table of rows (see ``import_readers``): column mapping and set-based writing.

``import_subscribers(table, mapping, groups)`` works in chunks of ``IMPORT_CHUNK_SIZE`` distinct
addresses; each chunk costs a fixed handful of queries (suppressions, existing rows, one upsert,
memberships, history) in its own transaction, whatever its size. A re-import updates data but
never changes anybody's status; deleted subscribers come back with their history.
"""

import contextlib
import csv
import datetime
import queue
import re
import threading
import unicodedata
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import newsletter_settings
from .fields import InvalidValue, clean_text, coerce_field_value, normalise_email
from .import_readers import Formula, ImportFileError, cell_text
from .import_writers import can_write_in_parallel, chunk_writer, write_chunks
from .models import Field, Source, Status

IGNORE = ""
BUILTIN_TARGETS = {
    "email": gettext_lazy("Email"),
    "first_name": gettext_lazy("First name"),
    "last_name": gettext_lazy("Last name"),
    "language": gettext_lazy("Language"),
}
# Header spellings recognised when guessing the mapping (compared after _header_key()).
_ALIASES = {
    "email": {"email", "e mail", "mail", "email address", "e mail address", "courriel", "adresse email",
              "adresse e mail", "adresse mail", "adresse courriel", "adresse electronique"},
    "first_name": {"first name", "firstname", "given name", "forename", "prenom"},
    "last_name": {"last name", "lastname", "surname", "family name", "name", "nom", "nom de famille"},
    "language": {"language", "lang", "langue", "locale"},
}  # fmt: skip
MAX_KEPT_REJECTS = 10_000
_LANGUAGE_MAX_LENGTH = 10
# Database connections writing an import in parallel (PostgreSQL, outside a transaction).
WRITER_CONNECTIONS = 2


class InvalidMapping(ImportFileError):
    """The column mapping cannot be used; ``str(exc)`` is a message for people."""


def _header_key(header):
    """'Prénom ' -> 'prenom', 'E-Mail_Address' -> 'e mail address'."""
    text = unicodedata.normalize("NFKD", str(header)).encode("ascii", "ignore").decode()
    return " ".join(re.split(r"[\s_\-.]+", text.strip().lower())).strip()


def custom_fields():
    return {f.key: f for f in Field.objects.all()}


def target_choices(fields=None):
    """(value, label) pairs for a mapping select: ignore, the built-in targets, then custom fields."""
    fields = custom_fields() if fields is None else fields
    return [
        (IGNORE, _("Ignore this column")),
        *BUILTIN_TARGETS.items(),
        *((key, f"{f.label} ({key})") for key, f in fields.items()),
    ]


def guess_mapping(headers, fields=None):
    """Map each header to a target it obviously names (English or French), else to IGNORE."""
    fields = custom_fields() if fields is None else fields
    by_key = {}
    for target, aliases in _ALIASES.items():
        by_key.update(dict.fromkeys(aliases, target))
    for key, f in fields.items():
        by_key.setdefault(_header_key(key), key)
        by_key.setdefault(_header_key(f.label), key)
    mapping, used = {}, set()
    for header in headers:
        target = by_key.get(_header_key(header), IGNORE)
        if target in used:
            target = IGNORE
        used.add(target)
        mapping[header] = target
    return mapping


def resolve_mapping(headers, mapping, fields=None):
    """Check ``mapping`` ({header: target}, headers matched case-insensitively) against the file.

    Return a list of (column index, target) for mapped columns; raise InvalidMapping otherwise.
    """
    fields = custom_fields() if fields is None else fields
    index = {}
    for position, header in enumerate(headers):
        index.setdefault(header.strip().lower(), position)
    resolved, seen = [], {}
    for header, target in mapping.items():
        target = (target or IGNORE).strip()
        if target.lower() in ("ignore", "-"):
            target = IGNORE
        position = index.get(str(header).strip().lower())
        if position is None:
            raise InvalidMapping(
                _("The file has no column “%(column)s”. Its columns are: %(columns)s.")
                % {"column": header, "columns": ", ".join(headers)}
            )
        if target == IGNORE:
            continue
        if target not in BUILTIN_TARGETS and target not in fields:
            raise InvalidMapping(
                _("“%(target)s” is not a field. Use one of: %(targets)s, or ignore.")
                % {"target": target, "targets": ", ".join([*BUILTIN_TARGETS, *fields])}
            )
        if target in seen:
            raise InvalidMapping(
                _("Two columns (“%(a)s” and “%(b)s”) are mapped to %(target)s.")
                % {"a": seen[target], "b": header, "target": target}
            )
        seen[target] = header
        resolved.append((position, target))
    if "email" not in seen:
        raise InvalidMapping(_("No column holds the email address: map one column to “email”."))
    return sorted(resolved)


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    merged: int = 0  # rows merged into an earlier row with the same address
    restored: int = 0  # deleted subscribers brought back (counted in ``updated`` too)
    rows_read: int = 0
    dry_run: bool = False
    writers: int = 1  # database connections that wrote the chunks
    rejects: list = field(default_factory=list)  # the first MAX_KEPT_REJECTS (line, email, reason)

    def reject(self, line, email, reason):
        self.rejected += 1
        if len(self.rejects) < MAX_KEPT_REJECTS:
            self.rejects.append((line, str(email)[:254], str(reason)))

    @property
    def summary(self):
        return f"created={self.created} updated={self.updated} rejected={self.rejected}"

    def write_rejects_csv(self, out):
        """Write "line,email,reason" rows to a text file object."""
        write_rejects_csv(out, self.rejects, self.rejected)


def _spreadsheet_safe(text):
    # A reject report is opened in spreadsheets: never hand them a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def write_rejects_csv(out, rejects, total=None):
    writer = csv.writer(out)
    writer.writerow([_("line"), _("email"), _("reason")])
    for line, email, reason in rejects:
        writer.writerow([line, _spreadsheet_safe(email), reason])
    if total is not None and total > len(rejects):
        writer.writerow(["", "", _("… and %(count)d more rejected rows") % {"count": total - len(rejects)}])


def _field_coercer(custom_field):
    """``coerce_field_value`` for one field, with fast paths for the common plain-text cases."""
    kind, label = custom_field.type, custom_field.label
    if kind == Field.Type.TEXT:
        max_length = newsletter_settings.MAX_FIELD_LENGTH

        def coerce(raw):
            if raw.__class__ is str:
                return clean_text(raw, max_length, label) or None
            return coerce_field_value(custom_field, raw)

    elif kind == Field.Type.NUMBER:

        def coerce(raw):
            if raw.__class__ is str and raw.isdigit() and raw.isascii():
                return int(raw)
            return coerce_field_value(custom_field, raw)

    elif kind == Field.Type.DATE:

        def coerce(raw):
            if raw.__class__ is str and len(raw) == 10 and raw[4] == "-" and raw[7] == "-":
                try:
                    return datetime.date.fromisoformat(raw).isoformat()
                except ValueError:
                    pass
            return coerce_field_value(custom_field, raw)

    else:

        def coerce(raw):
            return coerce_field_value(custom_field, raw)

    return coerce


class _RowReader:
    """Turns raw rows into (email, {first_name, last_name, language}, data) or a reason; no database access."""

    def __init__(self, headers, resolved, fields):
        self.headers = headers
        self.width = len(headers)
        self.email_index = next(position for position, target in resolved if target == "email")
        self.mapped = [position for position, _target in resolved]
        name_max = newsletter_settings.MAX_NAME_LENGTH
        limits = {"first_name": name_max, "last_name": name_max, "language": _LANGUAGE_MAX_LENGTH}
        self.builtin = [
            (position, target, limits[target], headers[position]) for position, target in resolved if target in limits
        ]
        self.custom = [
            (position, fields[target].key, _field_coercer(fields[target]))
            for position, target in resolved
            if target in fields
        ]

    def read(self, values):
        """Return ("ok", email, texts, data) or ("rejected", raw email, reason)."""
        count = len(values)
        if count < self.width:
            values = list(values) + [""] * (self.width - count)
        elif count > self.width and any(v != "" for v in values[self.width :]):
            return "rejected", values[self.email_index], _("The row has more cells than the header has columns.")
        raw_email = values[self.email_index]
        for position in self.mapped:
            if values[position].__class__ is Formula:
                return "rejected", raw_email, _("Column “%(column)s” holds a formula (%(formula)s).") % {
                    "column": self.headers[position], "formula": values[position][:50],
                }  # fmt: skip
        try:
            email = normalise_email(raw_email if raw_email.__class__ is str else cell_text(raw_email))
            texts = {"first_name": "", "last_name": "", "language": ""}
            for position, target, max_length, label in self.builtin:
                raw = values[position]
                texts[target] = clean_text(raw if raw.__class__ is str else cell_text(raw), max_length, label)
            data = {}
            for position, key, coerce in self.custom:
                value = coerce(values[position])
                if value is not None:
                    data[key] = value
        except InvalidValue as exc:
            return "rejected", raw_email, str(exc)
        return "ok", email, texts, data


def _read_chunks(table, reader, chunk_size, counts):
    """Yield dicts {email: (line, texts, data)} of at most ``chunk_size`` distinct addresses.

    Duplicates inside a chunk merge (the later row's non-empty values win); reading rejects and
    counts go to ``counts`` (an ImportResult owned by the reading side).
    """
    pending = {}
    for line, values in table.rows():
        counts.rows_read += 1
        outcome = reader.read(values)
        if outcome[0] == "rejected":
            raw = outcome[1]
            counts.reject(line, raw if raw.__class__ is str else cell_text(raw), outcome[2])
            continue
        _status, email, texts, data = outcome
        earlier = pending.get(email)
        if earlier is None:
            pending[email] = (line, texts, data)
            if len(pending) >= chunk_size:
                yield pending
                pending = {}
        else:
            counts.merged += 1
            earlier[1].update({key: value for key, value in texts.items() if value})
            earlier[2].update(data)
    if pending:
        yield pending


def _read_ahead(chunks):
    """Run the ``chunks`` generator in a thread, one chunk ahead: parsing the next chunk (Python)
    overlaps writing this one (the thread waiting on the database releases the GIL)."""
    language = translation.get_language()
    handoff = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def offer(item):
        # Never block for good: the consumer may have stopped (an error) and will not take it.
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        with translation.override(language):
            try:
                for chunk in chunks:
                    if not offer(chunk):
                        return
                offer(done)
            except BaseException as exc:  # handed to the consumer, raised there
                offer(exc)

    thread = threading.Thread(target=produce, name="wagtail_newsletter-import-reader", daemon=True)
    thread.start()
    try:
        while (item := handoff.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def import_subscribers(
    table, mapping, groups=(), *, dry_run=False, progress=None, actor=None, note="", source=None, new_status=None
):
    """Import the rows of ``table`` (an ``import_readers`` table) and return an ImportResult.

    ``mapping`` is {header: target} (targets: email, first_name, last_name, language, a custom field
    key, or "" to ignore); ``groups`` are Group objects or ids every imported subscriber joins.
    A broken file raises ImportFileError before anything is written. ``dry_run`` computes the same
    result and rolls everything back. ``progress(done, total)`` is called after each chunk.
    On PostgreSQL, outside a transaction, ``WRITER_CONNECTIONS`` connections write chunks in parallel.
    ``source`` and ``new_status`` (import and subscribed by default): those of new rows (see ``chunk_writer``).
    """
    fields = custom_fields()
    resolved = resolve_mapping(table.headers, mapping, fields)
    table.check()
    group_ids = [getattr(group, "pk", group) for group in groups]
    reader = _RowReader(table.headers, resolved, fields)
    read_counts = ImportResult()
    count = WRITER_CONNECTIONS if can_write_in_parallel(dry_run) else 1
    # One timestamp for the whole import: rows it created are recognised in later chunks.
    now = timezone.now()
    kinds = {"source": source or Source.IMPORT, "new_status": new_status or Status.SUBSCRIBED}
    writers = [
        chunk_writer(ImportResult(), group_ids, actor=actor, note=note, now=now, **kinds) for _index in range(count)
    ]
    chunks = _read_ahead(_read_chunks(table, reader, newsletter_settings.IMPORT_CHUNK_SIZE, read_counts))
    report = (lambda: progress(*table.progress())) if progress else None
    with contextlib.closing(chunks), transaction.atomic() if dry_run else contextlib.nullcontext():
        write_chunks(chunks, writers, report)
        if report:
            report()
        if dry_run:
            transaction.set_rollback(True)
    result = ImportResult(dry_run=dry_run, writers=count, rows_read=read_counts.rows_read)
    written = []
    for writer in writers:
        counts = writer.result
        result.created += counts.created
        result.updated += counts.updated
        result.rejected += counts.rejected
        result.merged += counts.merged
        result.restored += counts.restored
        written += counts.rejects
    result.merged += read_counts.merged
    result.rejected += read_counts.rejected
    # Reading rejects first (they are in line order), then the writers' (suppressed, being erased).
    written.sort(key=lambda reject: reject[0])
    result.rejects = (read_counts.rejects + written)[:MAX_KEPT_REJECTS]
    return result
