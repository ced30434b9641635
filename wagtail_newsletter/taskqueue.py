"""The one seam between wagtail_newsletter and its task queue (django-q2).

Everything enqueues through ``enqueue_on_commit`` so a task never runs before the rows it
reads are committed, and so another queue (Django's tasks framework) can be added here alone.
Tasks take primary keys, never model instances, and are idempotent.
"""

from functools import partial

from django.db import transaction

from .conf import newsletter_settings


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
