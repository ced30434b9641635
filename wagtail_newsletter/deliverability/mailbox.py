"""Polling the bounce mailbox (BOUNCE_MAILBOX) over IMAP or POP3: fetch a batch, take each message in
(``intake.record``), THEN mark the batch done on the server (IMAP: moved to DONE_FOLDER, or flagged deleted and
expunged; POP3: deleted). Taking first and marking second means a crash between the two leaves the messages on the
server, and the next poll finds their digests known: nothing is lost, nothing counted twice.
"""

import imaplib
import logging
import poplib
from dataclasses import dataclass

from ..conf import newsletter_settings
from .intake import MAX_MESSAGE_BYTES, read_message, read_oversized, record
from .models import InboundVia

logger = logging.getLogger(__name__)

DEFAULT_BATCH = 500
TIMEOUT_SECONDS = 60


@dataclass
class PollResult:
    taken: int = 0  # new messages recorded (with their effects)
    known: int = 0  # read before (a poll that crashed before marking them): only marked now
    failed: int = 0  # could not be recorded: left on the server for the next poll

    def __str__(self):
        return f"{self.taken} taken, {self.known} already known, {self.failed} left for later"


def scheduled_poll():
    """The django-q2 schedule's task: one poll, or nothing when no bounce mailbox is configured."""
    if newsletter_settings.BOUNCE_MAILBOX is None:
        return "no bounce mailbox"
    return str(poll())


def poll(config=None, limit=None):
    """Read the mailbox once, all of it (or its first ``limit`` messages); return a PollResult. Connection and
    login errors propagate (the schedule runs again later)."""
    config = {**(config or newsletter_settings.BOUNCE_MAILBOX or {})}
    protocol = str(config.get("PROTOCOL", "imap")).lower()
    if protocol == "imap":
        return _poll_imap(config, limit)
    if protocol == "pop3":
        return _poll_pop3(config, limit)
    raise ValueError(f"BOUNCE_MAILBOX PROTOCOL must be 'imap' or 'pop3', not {protocol!r}")


def _batch_size(config):
    return max(1, int(config.get("BATCH") or DEFAULT_BATCH))


def _take(readings, via, result):
    """Record the readings; the positions of those that are done (taken now or before) are returned."""
    done = []
    for index, outcome in enumerate(record(readings, via)):
        if isinstance(outcome, Exception):
            result.failed += 1
            continue
        if outcome is None:
            result.known += 1
        else:
            result.taken += 1
        done.append(index)
    return done


# IMAP ---------------------------------------------------------------------------------------------------------


def _imap_client(config):
    from imapclient import IMAPClient

    ssl = bool(config.get("SSL", True))
    port = config.get("PORT") or (993 if ssl else 143)
    client = IMAPClient(config["HOST"], port=port, ssl=ssl, timeout=TIMEOUT_SECONDS)
    if config.get("STARTTLS") and not ssl:
        client.starttls()
    client.login(config["USERNAME"], config["PASSWORD"])
    return client


def _poll_imap(config, limit):
    result = PollResult()
    client = _imap_client(config)
    try:
        folder = config.get("FOLDER") or "INBOX"
        done_folder = config.get("DONE_FOLDER") or None
        if done_folder and not client.folder_exists(done_folder):
            client.create_folder(done_folder)
        client.select_folder(folder)
        uids = sorted(client.search(["UNDELETED"]))
        if limit is not None:
            uids = uids[:limit]
        size = _batch_size(config)
        for start in range(0, len(uids), size):
            batch = uids[start : start + size]
            readings, order = _imap_fetch(client, batch)
            done = _take(readings, InboundVia.IMAP, result)
            _imap_mark(client, [order[i] for i in done], done_folder)
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return result


def _imap_fetch(client, uids):
    """The readings of these messages (one FETCH for their sizes, one for their bodies) and their UIDs."""
    sizes = {uid: data.get(b"RFC822.SIZE", 0) for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()}
    small = [uid for uid in uids if 0 < sizes.get(uid, 0) <= MAX_MESSAGE_BYTES]
    big = [uid for uid in uids if sizes.get(uid, 0) > MAX_MESSAGE_BYTES]
    readings, order = [], []
    if small:
        for uid, data in client.fetch(small, ["BODY.PEEK[]"]).items():
            readings.append(read_message(data.get(b"BODY[]") or b""))
            order.append(uid)
    if big:  # not fetched: recorded by their header, so they are not looked at again
        for uid, data in client.fetch(big, ["BODY.PEEK[HEADER]"]).items():
            readings.append(read_oversized(data.get(b"BODY[HEADER]") or b"", sizes[uid]))
            order.append(uid)
    return readings, order


def _imap_mark(client, uids, done_folder):
    if not uids:
        return
    if done_folder:
        if client.has_capability("MOVE"):
            client.move(uids, done_folder)
            return
        client.copy(uids, done_folder)
    client.add_flags(uids, [b"\\Seen", b"\\Deleted"])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        client.expunge()


# POP3 ---------------------------------------------------------------------------------------------------------


def _pop3_client(config):
    ssl = bool(config.get("SSL", True))
    port = config.get("PORT") or (995 if ssl else 110)
    if ssl:
        client = poplib.POP3_SSL(config["HOST"], port, timeout=TIMEOUT_SECONDS)
    else:
        client = poplib.POP3(config["HOST"], port, timeout=TIMEOUT_SECONDS)
        if config.get("STARTTLS"):
            client.stls()
    client.user(config["USERNAME"])
    client.pass_(config["PASSWORD"])
    return client


def _poll_pop3(config, limit):
    """POP3 deletes only at QUIT: a session that dies before it deletes nothing, and the next poll dedupes."""
    result = PollResult()
    client = _pop3_client(config)
    try:
        sizes = {}
        for line in client.list()[1]:
            number, _sp, octets = line.partition(b" ")
            sizes[int(number)] = int(octets or 0)
        numbers = sorted(sizes)[:limit] if limit is not None else sorted(sizes)
        size = _batch_size(config)
        for start in range(0, len(numbers), size):
            batch = numbers[start : start + size]
            readings = [_pop3_reading(client, number, sizes[number]) for number in batch]
            for index in _take(readings, InboundVia.POP3, result):
                client.dele(batch[index])
        client.quit()
    except BaseException:
        client.close()  # no QUIT: nothing is deleted
        raise
    return result


def _pop3_reading(client, number, size):
    if size > MAX_MESSAGE_BYTES:
        return read_oversized(b"\r\n".join(client.top(number, 0)[1]), size)
    return read_message(b"\r\n".join(client.retr(number)[1]) + b"\r\n")
