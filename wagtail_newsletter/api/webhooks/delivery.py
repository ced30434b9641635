"""Delivering the outbox: django-q2 tasks, one endpoint each, claim batches under a lease, post them, record answers.

In order per subscriber: a message is claimed only when no earlier message of the same ``order_key`` (subscriber, or
campaign) for the same endpoint is pending or being sent, so event n+1 never leaves before event n succeeded (or was
given up). Exactly once per endpoint and event: the outbox row is unique, a claim is one ``UPDATE … WHERE id IN
(SELECT … FOR UPDATE SKIP LOCKED)`` as in ``send.claims``, and a worker that dies leaves its rows to be claimed again
when their lease runs out; the one batch it had in flight may be posted twice, with the same ``webhook-id``, which the
receiver dedupes. A failure is tried again with exponential backoff until the message's ``expires_at`` (~3 days); an
endpoint with no success for ``WEBHOOK_DISABLE_AFTER_HOURS`` is disabled and its owner told.
"""

import concurrent.futures
import datetime
import logging
import random
import threading
import time

from django.db import connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from ... import taskqueue
from ...conf import newsletter_settings
from ...send.claims import new_token
from . import fanout, notices
from .fanout import db_time
from .models import OutboxStatus, WebhookEndpoint, WebhookMessage
from .payloads import build_bodies
from .posting import Poster
from .signing import headers, signing_keys

logger = logging.getLogger(__name__)

TASK = "wagtail_newsletter.api.webhooks.delivery.deliver_task"


def _q(name):
    return connection.ops.quote_name(name)


def claim(endpoint_id, limit, lease_seconds, token, now=None):
    """Claim up to ``limit`` messages of an endpoint under ``token``: expired leases first, then due pending ones,
    each the earliest unfinished message of its order key. Returns the claimed rows in id order."""
    now = now or timezone.now()
    table = _q(WebhookMessage._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    lease = now + datetime.timedelta(seconds=lease_seconds)
    update = (
        f"UPDATE {table} SET status = %s, claim = %s, lease_expires_at = %s, attempts = attempts + 1 "
        f"WHERE id IN (SELECT o.id FROM {table} o WHERE o.endpoint_id = %s AND o.status = %s AND {{condition}} "
        f"AND NOT {_earlier_unfinished(table)} ORDER BY o.id LIMIT %s{lock})"
    )
    claimed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for status, condition in (
            (OutboxStatus.CLAIMED, "o.lease_expires_at < %s"),
            (OutboxStatus.PENDING, "(o.next_attempt_at IS NULL OR o.next_attempt_at <= %s)"),
        ):
            cursor.execute(
                update.format(condition=condition),
                [OutboxStatus.CLAIMED, token, db_time(lease), endpoint_id, status, db_time(now), limit - claimed],
            )
            claimed += cursor.rowcount
            if claimed >= limit:
                break
    if not claimed:
        return []
    return list(WebhookMessage.objects.filter(claim=token, status=OutboxStatus.CLAIMED).order_by("id"))


def backoff(failures):
    """Seconds before trying again after ``failures`` failures in a row: base × 2^(n−1), capped, ±10 %."""
    exponent = min(max(failures, 1) - 1, 30)
    delay = min(
        newsletter_settings.WEBHOOK_RETRY_BASE_SECONDS * 2**exponent, newsletter_settings.WEBHOOK_RETRY_MAX_SECONDS
    )
    return delay * random.uniform(0.9, 1.1)


def post_batch(endpoint, poster, pool, messages, deadline):
    """Post ``messages`` (in parallel over the poster's connections); {message id: Answer} of those posted. Stops
    starting new posts once the endpoint can't be reached or ``deadline`` (monotonic) is near."""
    bodies = build_bodies(messages)
    keys = signing_keys(endpoint)
    timestamp = int(time.time())
    unreachable = threading.Event()

    def post(message):
        if unreachable.is_set() or time.monotonic() > deadline:
            return message, None, bodies[message.pk]
        body = bodies[message.pk]
        answer = poster.post(body, headers(keys, message.webhook_id, timestamp, body))
        if answer.unreachable:
            unreachable.set()
        return message, answer, body

    return list(pool.map(post, messages))


def record(endpoint, results, now=None):
    """Write a batch's answers: delivered, tried again later, given up, or given back unposted; the endpoint's
    success or failure streak; disable it when it has failed long enough. One transaction."""
    now = now or timezone.now()
    succeeded = sum(1 for _m, answer, _b in results if answer is not None and answer.ok)
    failed = sum(1 for _m, answer, _b in results if answer is not None and not answer.ok)
    streak = 0 if succeeded else endpoint.failures_in_row + (1 if failed else 0)
    retry_at = None
    changed, given_back = [], []
    for message, answer, body in results:
        if answer is None:
            given_back.append(message.pk)
            continue
        # Every answered attempt keeps the exact body it posted and what came back (bounded), for the delivery log:
        # a payload built again later from the rows could differ from what the receiver got.
        message.claim = message.lease_expires_at = None
        message.response_status, message.response_body, message.error = answer.status, answer.body, answer.error
        message.body = body.decode()
        if answer.ok:
            message.status, message.delivered_at, message.next_attempt_at = OutboxStatus.DELIVERED, now, None
        elif now >= message.expires_at:
            message.status, message.next_attempt_at = OutboxStatus.FAILED, None
        else:
            message.status = OutboxStatus.PENDING
            message.next_attempt_at = now + datetime.timedelta(seconds=backoff(max(message.attempts, streak)))
            retry_at = max(retry_at or message.next_attempt_at, message.next_attempt_at)
        changed.append(message)
    with transaction.atomic():
        if changed:
            fields = ["status", "delivered_at", "next_attempt_at", "claim", "lease_expires_at", "response_status"]
            WebhookMessage.objects.bulk_update(
                changed, [*fields, "response_body", "error", "body"], batch_size=len(changed)
            )
        if given_back:  # never posted: the attempt doesn't count; after an unreachable endpoint, wait as it does
            WebhookMessage.objects.filter(pk__in=given_back, status=OutboxStatus.CLAIMED).update(
                status=OutboxStatus.PENDING,
                claim=None,
                lease_expires_at=None,
                attempts=F("attempts") - 1,
                next_attempt_at=retry_at if failed else None,
            )
        _record_streak(endpoint, succeeded, failed, streak, now)


def _record_streak(endpoint, succeeded, failed, streak, now):
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if succeeded:
        endpoints.update(failing_since=None, failures_in_row=0, last_success_at=now)
        endpoint.failing_since, endpoint.failures_in_row = None, 0
        return
    if not failed:
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    endpoints.update(failures_in_row=streak)
    endpoint.refresh_from_db(fields=["failing_since", "failures_in_row", "enabled"])
    limit = datetime.timedelta(hours=newsletter_settings.WEBHOOK_DISABLE_AFTER_HOURS)
    if endpoint.enabled and now - endpoint.failing_since >= limit:
        disable(endpoint, notices.failing_reason(endpoint), now)


def disable(endpoint, reason, now=None):
    """Stop delivering to ``endpoint`` (its pending messages wait) and tell its owner, once."""
    now = now or timezone.now()
    turned_off = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_at=now, disabled_reason=str(reason)[:255]
    )
    endpoint.enabled = False
    if turned_off:
        logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
        transaction.on_commit(lambda: notices.tell_owner(endpoint.pk))
    return bool(turned_off)


def _unfinished():
    return ", ".join(str(int(status)) for status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED))


def _earlier_unfinished(table):
    """SQL: an earlier message of the same order key for the same endpoint is not done (``o``: the message)."""
    return (
        f"EXISTS (SELECT 1 FROM {table} p WHERE p.endpoint_id = o.endpoint_id AND p.order_key = o.order_key "
        f"AND p.id < o.id AND p.status IN ({_unfinished()}))"
    )


def next_due(endpoint_id, now):
    """Seconds until an endpoint's next claimable message is due or its next lease runs out (None: nothing waits).
    Messages held back by an earlier one of their subscriber don't count: they follow it."""
    table = _q(WebhookMessage._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(COALESCE(o.next_attempt_at, %s)) FROM {table} o WHERE o.endpoint_id = %s AND o.status = %s "
            f"AND NOT {_earlier_unfinished(table)}",
            [db_time(now), endpoint_id, OutboxStatus.PENDING],
        )
        pending = cursor.fetchone()[0]
    claimed = WebhookMessage.objects.filter(endpoint_id=endpoint_id, status=OutboxStatus.CLAIMED)
    candidates = [pending, claimed.aggregate(at=Min("lease_expires_at"))["at"]]
    candidates = [_aware(when) for when in candidates if when is not None]
    return max(0.0, (min(candidates) - now).total_seconds()) if candidates else None


def _aware(value):
    """A raw query's datetime: SQLite gives a string or naive UTC value."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=datetime.UTC)
    return value


def deliver(endpoint_id, seconds=None):
    """Deliver an endpoint's due messages for up to ``seconds`` (WEBHOOK_TASK_SECONDS); return how many were
    delivered and whether work was left that is due within a task's time."""
    settings = newsletter_settings
    seconds = settings.WEBHOOK_TASK_SECONDS if seconds is None else seconds
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).first()
    if endpoint is None:
        return 0, False
    started = time.monotonic()
    deadline = started + seconds
    token = new_token()
    delivered = 0
    poster = Poster(endpoint.url, settings.WEBHOOK_TIMEOUT)
    pool = concurrent.futures.ThreadPoolExecutor(settings.WEBHOOK_CONNECTIONS, thread_name_prefix="webhook")
    try:
        while time.monotonic() < deadline and not taskqueue.stop_requested():
            batch = claim(endpoint.pk, settings.WEBHOOK_BATCH_SIZE, settings.WEBHOOK_LEASE_SECONDS, token)
            if not batch and fanout.fan_out():
                batch = claim(endpoint.pk, settings.WEBHOOK_BATCH_SIZE, settings.WEBHOOK_LEASE_SECONDS, token)
            if not batch:
                wait = next_due(endpoint.pk, timezone.now())
                if wait is None or time.monotonic() + wait >= deadline:
                    return delivered, wait is not None and wait < seconds
                taskqueue.sleep(min(wait, 1.0))
                continue
            batch_deadline = min(deadline, time.monotonic() + settings.WEBHOOK_LEASE_SECONDS / 2)
            results = post_batch(endpoint, poster, pool, batch, batch_deadline)
            record(endpoint, results)
            delivered += sum(1 for _m, answer, _b in results if answer is not None and answer.ok)
            endpoint.refresh_from_db()
            if not endpoint.enabled:
                return delivered, False
        return delivered, next_due(endpoint.pk, timezone.now()) is not None
    finally:
        pool.shutdown(wait=True)
        poster.close()


def deliver_task(endpoint_id):
    """django-q2 task: deliver for one task's time, then hand over to a new task if work is left."""
    with taskqueue.stop_on_sigterm():
        _delivered, more = deliver(endpoint_id)
    if more and not taskqueue.runs_inline():
        kick(endpoint_id)


def kick(endpoint_id, count=1):
    for _ in range(count):
        taskqueue.enqueue_on_commit(TASK, endpoint_id)


def live_senders(endpoint_id, now):
    return (
        WebhookMessage.objects.filter(endpoint_id=endpoint_id, status=OutboxStatus.CLAIMED, lease_expires_at__gt=now)
        .values("claim")
        .distinct()
        .count()
    )


def tick():
    """django-q2 schedule (every minute): fan new events out, and start delivery tasks where messages are due."""
    fanout.fan_out()
    now = timezone.now()
    kicked = 0
    for endpoint_id in WebhookEndpoint.objects.filter(enabled=True).values_list("pk", flat=True):
        wait = next_due(endpoint_id, now)
        if wait is None or wait > 60:
            continue
        missing = newsletter_settings.WEBHOOK_CONCURRENCY - live_senders(endpoint_id, now)
        if missing > 0:
            kick(endpoint_id, 1 if taskqueue.runs_inline() else missing)
            kicked += missing
    return kicked
