"""Write one chunk of imported subscribers: a fixed number of statements per chunk, in one transaction.

Both writers do the same thing: reject suppressed addresses and subscribers being erased, upsert the
rest by email without ever touching an existing status (new rows: subscribed, source import, first
subscription now), merge custom-field data, bring deleted subscribers back, add memberships, and
record history for new and restored rows. ``OrmChunkWriter`` uses ``bulk_create(update_conflicts=True)``
and works on every database; ``PostgresChunkWriter`` streams the chunk with ``COPY`` into a temporary
table and does the rest with ``INSERT … SELECT`` — Django's per-object ``bulk_create`` costs more
than the database itself at hundreds of thousands of rows. ``write_chunks`` spreads the chunks over
two connections (PostgreSQL, outside a transaction) so the database uses a second CPU core.
"""

import queue
import threading

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import Membership, Source, Status, StatusEvent, Subscriber, Suppression, email_digest
from .services import record_status_events

_UPDATE_FIELDS = ["first_name", "last_name", "language", "data", "updated_at", "deleted_at"]


def chunk_writer(result, group_ids, actor=None, note="", now=None, source=Source.IMPORT, new_status=Status.SUBSCRIBED):
    """``source``: of new rows and their history (the Python API writes "api"); ``new_status``: of new rows
    (``pending`` for a bulk double opt-in: they subscribe when they confirm)."""
    writer_class = PostgresChunkWriter if connection.vendor == "postgresql" else OrmChunkWriter
    return writer_class(result, group_ids, actor=actor, note=note, now=now, source=source, new_status=new_status)


def suppression_reason(reason):
    label = _("forgotten (GDPR erasure)") if reason == "forgotten" else reason
    return _("Suppressed address: %(reason)s.") % {"reason": label}


def erasing_reason():
    return _("This address is being erased (GDPR request).")


class OrmChunkWriter:
    def __init__(self, result, group_ids, actor=None, note="", now=None, source=Source.IMPORT,
                 new_status=Status.SUBSCRIBED):  # fmt: skip
        self.result = result
        self.source = source
        self.new_status = new_status
        # Only a subscribed row has a first subscription; a pending one that never confirms is purged as such.
        self.first_subscribed_at = None
        self.group_ids = group_ids
        self.actor = actor
        self.note = note[:255]
        # One timestamp for the whole import: rows it created are recognised in later chunks.
        self.now = now or timezone.now()
        if new_status == Status.SUBSCRIBED:
            self.first_subscribed_at = self.now

    def count_existing(self, line, email, status, deleted, erasing, created_here, restored):
        """Classify one existing row; return False if it must be left out (being erased)."""
        if erasing:
            self.result.reject(line, email, erasing_reason())
            return False
        if created_here:
            self.result.merged += 1  # created by an earlier chunk of this same import
        else:
            self.result.updated += 1
        return True

    def write(self, pending):
        """``pending`` maps each distinct address to (line, {first_name, last_name, language}, data)."""
        result, now = self.result, self.now
        with transaction.atomic():
            digests = {email_digest(email): email for email in pending}
            for digest, reason in Suppression.objects.filter(email_sha256__in=list(digests)).values_list(
                "email_sha256", "reason"
            ):
                email = digests[digest]
                result.reject(pending.pop(email)[0], email, suppression_reason(reason))
            existing = {
                row[1]: row
                for row in Subscriber.all_objects.filter(email__in=list(pending)).values_list(
                    "pk",
                    "email",
                    "status",
                    "first_name",
                    "last_name",
                    "language",
                    "data",
                    "deleted_at",
                    "erase_after",
                    "created_at",
                    "source",
                )  # fmt: skip
            }
            objects, new_objects, restored = [], [], []
            for email, (line, texts, data) in pending.items():
                row = existing.get(email)
                if row is None:
                    obj = Subscriber(
                        email=email, **texts, data=data, status=self.new_status, source=self.source,
                        first_subscribed_at=self.first_subscribed_at, status_changed_at=now, created_at=now,
                        updated_at=now,
                    )  # fmt: skip
                    new_objects.append(obj)
                    objects.append(obj)
                    continue
                pk, _email, status, first_name, last_name, language, old_data, deleted_at, erase_after = row[:9]
                created_here = row[9] == now and row[10] == self.source
                if not self.count_existing(line, email, status, deleted_at, erase_after, created_here, restored):
                    continue
                objects.append(
                    Subscriber(
                        pk=pk,
                        email=email,
                        status=status,
                        first_name=texts["first_name"] or first_name,
                        last_name=texts["last_name"] or last_name,
                        language=texts["language"] or language,
                        data={**(old_data or {}), **data},
                        updated_at=now,
                        deleted_at=None,
                    )  # fmt: skip
                )
                if deleted_at is not None:
                    restored.append((pk, status, status))
            if not objects:
                return
            Subscriber.all_objects.bulk_create(
                objects, update_conflicts=True, unique_fields=["email"], update_fields=_UPDATE_FIELDS
            )
            result.created += len(new_objects)
            if self.group_ids:
                memberships = [
                    Membership(subscriber_id=obj.pk, group_id=group_id, created_at=now)
                    for obj in objects
                    for group_id in self.group_ids
                ]
                Membership.objects.bulk_create(memberships, ignore_conflicts=True)
            record_status_events(
                [(o.pk, "", self.new_status) for o in new_objects], self.source, self.note, self.actor, now
            )
            self.record_restored(restored)

    def record_restored(self, restored):
        if restored:
            self.result.restored += len(restored)
            record_status_events(restored, self.source, "restored by import", self.actor, self.now)


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


class PostgresChunkWriter(OrmChunkWriter):
    """COPY the chunk into a temporary table, then a few set-based statements."""

    TEMP = "wn_import_rows"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.encoder = DjangoJSONEncoder(separators=(",", ":"))
        self.sql = {
            "subscriber": _table(Subscriber),
            "suppression": _table(Suppression),
            "membership": _table(Membership),
            "event": _table(StatusEvent),
        }

    def write(self, pending):
        result, now, tables = self.result, self.now, self.sql
        encode = self.encoder.encode
        with transaction.atomic(), connection.cursor() as cursor:
            # No index on the temporary table: every join below can only probe the subscriber and
            # suppression indexes, one lookup per row of the chunk. The temporary table has no
            # statistics and the subscriber table's are stale during a large import: left free, the
            # planner may scan the whole (growing) subscriber table once per chunk instead.
            # (LOCAL: reset when the transaction ends.)
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {self.TEMP} (line integer, email varchar(254), "
                "first_name text, last_name text, language text, data jsonb)"
            )
            cursor.execute(f"TRUNCATE {self.TEMP}")
            cursor.execute(
                "SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "
                "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"  # jit: the seqscan penalty exceeds its threshold
            )
            columns = "line, email, first_name, last_name, language, data"
            with cursor.copy(f"COPY {self.TEMP} ({columns}) FROM STDIN") as copy:
                write_row = copy.write_row
                for email, (line, texts, data) in pending.items():
                    write_row((line, email, texts["first_name"], texts["last_name"], texts["language"], encode(data)))
            cursor.execute(
                f"DELETE FROM {self.TEMP} r USING {tables['suppression']} s "
                "WHERE s.email_sha256 = encode(sha256(convert_to(r.email, 'UTF8')), 'hex') "
                "RETURNING r.line, r.email, s.reason"
            )
            suppressed = cursor.fetchall()
            for line, email, reason in suppressed:
                result.reject(line, email, suppression_reason(reason))
            cursor.execute(
                f"SELECT s.id, r.line, r.email, s.status, s.deleted_at IS NOT NULL, s.erase_after IS NOT NULL, "
                f"s.created_at = %s AND s.source = %s FROM {self.TEMP} r JOIN {tables['subscriber']} s "
                "ON s.email = r.email",
                [now, self.source],
            )
            restored, erasing = [], []
            existing = 0
            for pk, line, email, status, deleted, erase, created_here in cursor.fetchall():
                existing += 1
                if not self.count_existing(line, email, status, deleted, erase, created_here, restored):
                    erasing.append(email)
                elif deleted:
                    restored.append((pk, status, status))
            if erasing:
                cursor.execute(f"DELETE FROM {self.TEMP} WHERE email = ANY(%s)", [erasing])
            result.created += len(pending) - len(suppressed) - existing
            # xmax = 0: the row was inserted, not updated (an update locks the row it replaces).
            cursor.execute(
                f"""
                WITH upserted AS (
                    INSERT INTO {tables["subscriber"]} AS s (email, first_name, last_name, language, data, status,
                        source, first_subscribed_at, status_changed_at, created_at, updated_at, deleted_at)
                    SELECT email, first_name, last_name, language, data, %(subscribed)s, %(import)s,
                        %(first_subscribed)s, %(now)s, %(now)s, %(now)s, NULL
                    FROM {self.TEMP}
                    ON CONFLICT (email) DO UPDATE SET
                        first_name = COALESCE(NULLIF(EXCLUDED.first_name, ''), s.first_name),
                        last_name = COALESCE(NULLIF(EXCLUDED.last_name, ''), s.last_name),
                        language = COALESCE(NULLIF(EXCLUDED.language, ''), s.language),
                        data = COALESCE(s.data, '{{}}'::jsonb) || EXCLUDED.data,
                        updated_at = EXCLUDED.updated_at,
                        deleted_at = NULL
                    RETURNING s.id, s.xmax = 0 AS inserted
                ),
                events AS (
                    INSERT INTO {tables["event"]} (subscriber_id, old_status, new_status, source, note, actor_id,
                        created_at)
                    SELECT u.id, '', %(subscribed)s, %(import)s, %(note)s, %(actor)s, %(now)s
                    FROM upserted u WHERE u.inserted
                )
                INSERT INTO {tables["membership"]} (subscriber_id, group_id, created_at)
                SELECT u.id, g.id, %(now)s FROM upserted u CROSS JOIN unnest(%(groups)s::bigint[]) AS g(id)
                ON CONFLICT DO NOTHING
                """,
                {
                    "subscribed": self.new_status,
                    "import": self.source,
                    "first_subscribed": self.first_subscribed_at,
                    "now": now,
                    "note": self.note,
                    "actor": getattr(self.actor, "pk", self.actor),
                    "groups": list(self.group_ids),
                },
            )
            self.record_restored(restored)


class WriterThread:
    """A chunk writer on its own database connection, in its own thread, one chunk at a time."""

    def __init__(self, writer):
        self.writer = writer
        self.inbox = queue.Queue(maxsize=1)
        self.idle = threading.Event()
        self.idle.set()
        self.emails = frozenset()  # addresses of the chunk being written
        self.error = None
        language = translation.get_language()
        self.thread = threading.Thread(target=self.run, args=(language,), name="wagtail_newsletter-import-writer")
        self.thread.daemon = True
        self.thread.start()

    def run(self, language):
        with translation.override(language):
            try:
                while (pending := self.inbox.get()) is not None:
                    try:
                        self.writer.write(pending)
                    except BaseException as exc:  # raised in the importing thread by wait()
                        self.error = exc
                    finally:
                        self.emails = frozenset()
                        self.idle.set()
            finally:
                connections.close_all()  # this thread's connections only

    def wait(self):
        self.idle.wait()
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def submit(self, pending):
        self.wait()
        self.emails = frozenset(pending)
        self.idle.clear()
        self.inbox.put(pending)

    def overlaps(self, pending):
        return not self.emails.isdisjoint(pending)

    def stop(self):
        self.inbox.put(None)
        self.thread.join()


def can_write_in_parallel(dry_run):
    # Other connections cannot see (nor join) the caller's open transaction: parallel only in autocommit.
    return not dry_run and connection.vendor == "postgresql" and not connection.in_atomic_block


def write_chunks(chunks, writers, progress):
    """Write the chunks with ``writers`` (one per connection): the importing thread writes the even
    chunks, a helper thread the odd ones. A chunk sharing an address with the chunk still being
    written waits for it, so chunks touching the same subscriber still commit in file order."""
    main, helper = writers[0], (WriterThread(writers[1]) if len(writers) > 1 else None)
    try:
        for index, pending in enumerate(chunks):
            if helper is not None and index % 2:
                helper.submit(pending)
            else:
                if helper is not None and helper.overlaps(pending):
                    helper.wait()
                main.write(pending)
            if progress:
                progress()
        if helper is not None:
            helper.wait()
    finally:
        if helper is not None:
            helper.stop()
