"""The one seam between wagtail_newsletter and its task queue (django-q2).

Everything enqueues through ``enqueue_on_commit`` so a task never runs before the rows it
reads are committed, and so another queue (Django's tasks framework) can be added here alone.
Tasks take primary keys, never model instances, and are idempotent.
"""

import os
import signal
import threading
import time
from contextlib import contextmanager
from functools import partial

from django.db import transaction

from .conf import newsletter_settings

_stop_requested = False


def enqueue(func_path, *args, **kwargs):
    """Send ``func_path(*args, **kwargs)`` to django-q2 now; return the task id."""
    from django_q.tasks import async_task

    options = {}
    if newsletter_settings.Q_CLUSTER_NAME:
        options["cluster"] = newsletter_settings.Q_CLUSTER_NAME
    return async_task(func_path, *args, **kwargs, **options)


def enqueue_on_commit(func_path, *args, **kwargs):
    """Enqueue once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(partial(enqueue, func_path, *args, **kwargs))


def runs_inline():
    """True when tasks run inside the caller (django-q2's ``sync``, as in tests): nothing waits in a broker."""
    from django_q.conf import Conf

    return bool(Conf.SYNC)


def tasks_waiting():
    """How many tasks wait in the broker for a free worker (taken ones don't count); 0 when tasks run inline."""
    if runs_inline():
        return 0
    from django_q.brokers import get_broker

    return get_broker(newsletter_settings.Q_CLUSTER_NAME).queue_size()


@contextmanager
def stop_on_sigterm():
    """Within: SIGTERM asks the running task to wind down (``stop_requested()`` becomes True) instead of killing the
    worker at once; when the block ends, a worker that got SIGTERM ends the way SIGTERM would have ended it.

    django-q2's workers keep SIGTERM's default action, and systemd sends SIGTERM to every process of a service at
    once: without this, a send task dies between the relay's answer and the mark that records it.
    """
    global _stop_requested
    if threading.current_thread() is not threading.main_thread():  # signal handlers belong to the main thread
        yield
        return

    def request_stop(signum, frame):
        global _stop_requested
        _stop_requested = True

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
        if _stop_requested:
            _stop_requested = False
            os.kill(os.getpid(), signal.SIGTERM)


def stop_requested():
    return _stop_requested


def sleep(seconds):
    """Sleep up to ``seconds``, waking within 0.2 s of a stop request; True when it slept the whole time."""
    deadline = time.monotonic() + seconds
    while not _stop_requested:
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, 0.2))
    return False
