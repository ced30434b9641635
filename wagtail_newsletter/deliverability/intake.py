"""Taking in the mail that comes back: one ``InboundMessage`` row per message (unique SHA-256 digest) and its
effects, written in ONE transaction, so that a crash half-way leaves nothing half-done and reading the same message
again changes nothing.

Every path ends here: the bounce mailbox poller (``mailbox``), the MTA pipe command (``newsletter_inbound``) and the
ESP webhooks (``take_verdict``). Reading (digest, classification, the ``mailto:`` unsubscribe address) is plain
Python over bytes (``read_message``); writing (``record``) takes a batch: the digests already known are found in one
query, the VERP deliveries in another, and the batch is written in one transaction — one message at a time, each in
its own transaction, only when that fails.
"""

import hashlib
import logging
import re
from dataclasses import dataclass, replace

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..send.models import Delivery
from ..tokens import InvalidToken, LinkSigner
from ..track.unsubscribe import unsubscribe_delivery
from .classify import classify
from .effects import apply_verdicts
from .message_parts import parse
from .models import InboundMessage
from .verdict import KIND_OTHER, NONE, Verdict
from .verp import verp_delivery_id

logger = logging.getLogger(__name__)

# A bounce is a few kilobytes; the returned copy of one of our newsletters at most a few hundred. What is bigger is
# not ours: it is recorded (so it is not read again) but not read.
MAX_MESSAGE_BYTES = 10 * 1024 * 1024

UNSUBSCRIBE = "unsubscribe"  # InboundMessage.cls of a mail to the List-Unsubscribe mailto: address
TOO_BIG = "too-big"  # Verdict.problem of a message over MAX_MESSAGE_BYTES

# The mailto: of List-Unsubscribe is "unsubscribe+<token>@<domain>" (send.mime.unsubscribe_mailto). Where a message
# says whom it was delivered to (the envelope recipient is the surest; these headers are what a mailbox keeps).
_MAILTO = re.compile(rb"unsubscribe\+([0-9a-z.]{5,80})@", re.IGNORECASE)
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc")


@dataclass(frozen=True)
class Reading:
    """What a message is, before anything is written: its digest, the classifier's verdict and, for a mail to the
    List-Unsubscribe address, the token of that address."""

    digest: str
    verdict: Verdict
    unsubscribe_token: str = ""


def digest_of(raw):
    return hashlib.sha256(raw).hexdigest()


def read_message(raw, envelope_recipients=(), envelope_sender=""):
    """Read one raw message (bytes; anything else is made bytes). Never raises on content."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    raw = bytes(raw or b"")
    digest = digest_of(raw)
    if len(raw) > MAX_MESSAGE_BYTES:
        return Reading(digest, Verdict(NONE, KIND_OTHER, problem=TOO_BIG, reason=f"{len(raw)} bytes: not read"))
    token = _unsubscribe_token(raw, envelope_recipients)
    if token:
        return Reading(digest, Verdict(NONE, KIND_OTHER, reason="mail to the List-Unsubscribe address"), token)
    verdict = classify(raw)
    if envelope_recipients and not verdict.problem:
        # The pipe knows the address the bounce came to (our VERP address) even when no header says it.
        extra = tuple(str(a).strip().strip("<>").lower() for a in envelope_recipients if "+" in str(a))
        if extra:
            verdict = _with_verp(verdict, extra)
    return Reading(digest, verdict)


def read_oversized(head, size):
    """A message over MAX_MESSAGE_BYTES known by its header only (a mailbox does not fetch the body)."""
    digest = digest_of(head + b"\0" + str(size).encode())
    return Reading(digest, Verdict(NONE, KIND_OTHER, problem=TOO_BIG, reason=f"{size} bytes: not read"))


def _with_verp(verdict, addresses):
    return replace(verdict, verp_addresses=tuple(dict.fromkeys((*addresses, *verdict.verp_addresses))))


def _unsubscribe_token(raw, envelope_recipients):
    """The token of the List-Unsubscribe address the message was sent to (envelope first, then the header fields
    that name the recipient), or ""."""
    for address in envelope_recipients:
        match = _MAILTO.match(str(address).strip().strip("<>").encode("utf-8", "replace"))
        if match:
            return match.group(1).decode().lower()
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    if not _MAILTO.search(head):  # the common case: no header parse at all
        return ""
    try:
        message = parse(head + b"\n\n")
        for name in _RECIPIENT_HEADERS:
            for value in message.get_all(name, []):
                match = _MAILTO.search(str(value).encode("utf-8", "replace"))
                if match:
                    return match.group(1).decode().lower()
    except Exception:  # noqa: BLE001 (a header block we cannot parse names nobody)
        return ""
    return ""


def take_message(raw, via, envelope_recipients=(), envelope_sender=""):
    """Take one raw message in: its row and effects in one transaction. None: a message with the same digest was
    taken already (nothing changes). Database errors propagate (the caller retries later)."""
    return _single(record([read_message(raw, envelope_recipients, envelope_sender)], via)[0])


def take_verdict(verdict, digest, via):
    """Take in an event already read (an ESP webhook): same dedupe (``digest``: of the ESP's event id) and effects."""
    return _single(record([Reading(digest, verdict)], via)[0])


def _single(result):
    if isinstance(result, Exception):
        raise result
    return result


def record(readings, via):
    """Write a batch of readings; one result per reading: the new InboundMessage, None when its digest was known
    (already taken, or twice in this batch), or the exception that kept it from being written (nothing of it was:
    leave it where it is and try again later)."""
    results = [None] * len(readings)
    known = set(InboundMessage.objects.filter(digest__in={r.digest for r in readings}).values_list("digest", flat=True))
    todo = []
    for index, reading in enumerate(readings):
        if reading.digest not in known:
            known.add(reading.digest)
            todo.append(index)
    if not todo:
        return results
    deliveries = _verp_deliveries([readings[i] for i in todo])
    try:
        with transaction.atomic():
            rows = _write([readings[i] for i in todo], via, deliveries)
        for index, row in zip(todo, rows, strict=True):
            results[index] = row
    except Exception:  # noqa: BLE001 (a race on a digest, or one message's effects failed: go one by one)
        deliveries = _verp_deliveries([readings[i] for i in todo])  # afresh: the effects may have changed them
        for index in todo:
            results[index] = _one_by_one(readings[index], via, deliveries)
    return results


def _one_by_one(reading, via, deliveries):
    try:
        with transaction.atomic():
            return _write([reading], via, deliveries)[0]
    except IntegrityError as error:
        if InboundMessage.objects.filter(digest=reading.digest).exists():
            return None  # taken meanwhile by another process: nothing of ours stays
        logger.exception("inbound message %s not recorded", reading.digest)
        return error
    except Exception as error:  # noqa: BLE001 (this message stays where it is; the others go on)
        logger.exception("inbound message %s not recorded", reading.digest)
        return error


def _verp_deliveries(readings):
    """The deliveries named by the readings' VERP tokens, in one query (id -> Delivery)."""
    ids = {verp_delivery_id(r.verdict) for r in readings if r.verdict.verp_addresses and not r.unsubscribe_token}
    ids.discard(None)
    if not ids:
        return {}
    return Delivery.objects.select_related("campaign", "subscriber").in_bulk(ids)


def _write(readings, via, deliveries):
    """The rows and the effects of a batch of messages (inside the caller's transaction): the bounces and complaints
    applied together (``effects.apply_verdicts``), the rows inserted together."""
    now = timezone.now()
    rows, returned = [], []
    for reading in readings:
        verdict = reading.verdict
        row = InboundMessage(digest=reading.digest, received_at=now, via=via, kind=verdict.kind[:20],
                             status=verdict.status[:40], recipients=";".join(verdict.recipients)[:500],
                             reason=(verdict.problem or verdict.reason)[:500])  # fmt: skip
        rows.append(row)
        if reading.unsubscribe_token:
            row.cls = UNSUBSCRIBE
            _unsubscribe(reading.unsubscribe_token, row)
            continue
        row.cls = verdict.cls if not verdict.problem else NONE
        delivery = deliveries.get(verp_delivery_id(verdict)) if verdict.verp_addresses else None
        if verdict.problem:
            row.outcome = "not read"
        elif verdict.cls == NONE:
            _attach(row, delivery)
            row.outcome = "not a bounce: nothing done"
        else:
            returned.append((row, verdict, delivery))
    effects = apply_verdicts([(verdict, delivery) for _, verdict, delivery in returned], at=now)
    for (row, _, _), effect in zip(returned, effects, strict=True):
        row.delivery_id, row.campaign_id = effect.delivery_id, effect.campaign_id
        row.outcome = str(effect.outcome)[:200]
    return InboundMessage.objects.bulk_create(rows)


def _attach(row, delivery):
    if delivery is not None:
        row.delivery_id, row.campaign_id = delivery.pk, delivery.campaign_id


def _unsubscribe(token, row):
    """A mail to the List-Unsubscribe address: unsubscribe exactly the subscriber its token names, once."""
    try:
        ident, number = LinkSigner("unsubscribe").read(token)
    except InvalidToken:
        ident, number = None, None
    delivery = None
    if ident is not None and number is None:
        delivery = Delivery.objects.select_related("campaign", "subscriber").filter(pk=ident).first()
    if delivery is None:
        row.outcome = "forged or unknown token: nothing done"
        return
    _attach(row, delivery)
    changed = unsubscribe_delivery(delivery, how="mailto")
    row.outcome = "unsubscribed" if changed else "already unsubscribed: nothing done"
