"""Leases: how a send task keeps its claims while it works, how the others take over when it dies, and how a
campaign's send tasks spread over the clusters that are up.

A send task claims every batch under one token of its own with a lease of SEND_LEASE_SECONDS (10 s). A thread
(``LeaseKeeper``) renews the lease of the rows it holds every third of that, even while the task waits on the
relay, so a short lease never runs out under a live worker. When a worker dies, the renewals stop and any other
send task of the campaign claims its rows again once the lease has run out (``claims.claim`` takes expired rows
first): a dead worker's share is taken over within about SEND_LEASE_SECONDS.

The tokens under a live lease are the campaign's senders. A task that has just sent a batch calls for help
(``recruit``) when fewer than SEND_CONCURRENCY tasks are sending, work is queued and no task waits in the broker:
one kick, taken by whichever cluster has a pusher free. A busy cluster's pusher stops taking tasks once its local
queue is full, so the next kick reaches an idle cluster: a campaign's tasks spread over the clusters that are up
(a cluster started again after a crash joins within seconds) instead of piling onto the first. A task that starts
while its campaign already has its senders ends at once.
"""

import datetime
import logging
import threading

from django.db import DatabaseError, connection
from django.utils import timezone

from .. import taskqueue
from ..conf import newsletter_settings
from .dispatch import kick
from .models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def renew(token, lease_seconds):
    """Extend the lease of the rows claimed under ``token``; return how many. Rows locked at this instant (being
    marked sent) are skipped rather than waited for: they no longer need a lease."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET lease_expires_at = %s WHERE id IN "
            f"(SELECT id FROM {table} WHERE claim = %s AND status = %s{lock})",
            [timezone.now() + datetime.timedelta(seconds=lease_seconds), token, DeliveryStatus.CLAIMED],
        )
        return cursor.rowcount


class LeaseKeeper:
    """Renews the lease of the rows claimed under ``token`` every third of ``lease_seconds``, from a thread with a
    database connection of its own. Use as a context manager around the send loop."""

    def __init__(self, token, lease_seconds):
        self.token, self.lease_seconds = token, lease_seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wagtail_newsletter lease keeper", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        self._thread.join(timeout=self.lease_seconds)

    def _run(self):
        try:
            while not self._done.wait(self.lease_seconds / 3):
                try:
                    renew(self.token, self.lease_seconds)
                except DatabaseError:  # the next renewal may succeed: the lease has two more thirds to run
                    logger.warning("Could not renew the lease of claim %s", self.token, exc_info=True)
        finally:
            connection.close()  # this thread's own connection


def senders(campaign_id, now, besides=None):
    """How many send tasks hold a live lease on ``campaign_id``'s deliveries (``besides``: a token not to count)."""
    claimed = Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.CLAIMED, lease_expires_at__gt=now)
    if besides is not None:
        claimed = claimed.exclude(claim=besides)
    return claimed.values("claim").distinct().count()


def next_expiry(campaign_id):
    """When the earliest lease on ``campaign_id``'s claimed deliveries runs out (None: nothing claimed)."""
    claimed = Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.CLAIMED)
    return claimed.order_by("lease_expires_at").values_list("lease_expires_at", flat=True).first()


def recruit(campaign_id, token, now):
    """Kick one more send task for ``campaign_id`` if it is short of senders (this one, ``token``, counts), has
    queued work due and no task waits in the broker. True when it did."""
    if taskqueue.runs_inline():  # the kick would run inside this task
        return False
    if senders(campaign_id, now, besides=token) + 1 >= newsletter_settings.SEND_CONCURRENCY:
        return False
    due = Delivery.objects.filter(campaign_id=campaign_id, status=DeliveryStatus.QUEUED).exclude(
        next_attempt_at__gt=now
    )
    if not due.exists() or taskqueue.tasks_waiting():
        return False
    kick(campaign_id)
    return True
