"""What managers (and the system) do to subscribers: set-based, each status change recorded.

Every function takes ids or a queryset, works in a few statements whatever the number of rows,
and appends one StatusEvent per subscriber whose status actually changed. None emails anybody.
"""

import datetime

from django.db import transaction
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

from ..conf import newsletter_settings
from .models import Consent, Membership, Source, Status, StatusEvent, Subscriber, Suppression, email_digest
from .preference_log import PreferenceChange

CHUNK = 2000

# Sent by ``erase_forgotten`` with ``subscriber_ids``, inside the erasing transaction and before the rows go (their
# deliveries still point at them): stages above ``audience`` (tracking) erase what they keep of these people.
subscribers_erased = Signal()
# Sent by ``add_to_group`` (and the preference page's topics) with ``group`` and ``subscriber_ids``, the people who
# were not in it before, inside the transaction that added them: growth's automations start on it.
joined_group = Signal()


def _ids(subscribers):
    if hasattr(subscribers, "values_list"):
        return list(subscribers.values_list("pk", flat=True))
    return [getattr(s, "pk", s) for s in subscribers]


def _chunks(items, size=CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def record_status_events(changes, source, note="", actor=None, when=None):
    """Append history rows for ``changes``: an iterable of (subscriber_id, old_status, new_status)."""
    when = when or timezone.now()
    StatusEvent.objects.bulk_create(
        [
            StatusEvent(
                subscriber_id=pk,
                old_status=old,
                new_status=new,
                source=source,
                note=note[:255],
                actor=actor,
                created_at=when,
            )  # fmt: skip
            for pk, old, new in changes
        ],
        batch_size=CHUNK,
    )


def change_status(subscribers, new_status, source, actor=None, note=""):
    """Move subscribers to ``new_status``; return how many changed.

    Rows already in that status are left alone (and get no history entry).
    """
    now = timezone.now()
    changed = 0
    for chunk in _chunks(_ids(subscribers)):
        with transaction.atomic():
            rows = list(
                Subscriber.all_objects.select_for_update()
                .filter(pk__in=chunk)
                .exclude(status=new_status)
                .values_list("pk", "status")
            )
            if not rows:
                continue
            updates = {"status": new_status, "status_changed_at": now, "updated_at": now}
            if new_status == Status.SUBSCRIBED:
                updates["first_subscribed_at"] = Coalesce("first_subscribed_at", now)
            Subscriber.all_objects.filter(pk__in=[pk for pk, _ in rows]).update(**updates)
            record_status_events([(pk, old, new_status) for pk, old in rows], source, note=note, actor=actor, when=now)
            changed += len(rows)
    return changed


def change_each_status(notes, new_status, source, from_statuses, actor=None):
    """Move each subscriber of ``notes`` (subscriber id -> the note of its history entry) that is in one of
    ``from_statuses`` to ``new_status``; return the ids that changed. For system changes that say why person by
    person (a bounce's answer, a complaint's campaign), in the same few statements as ``change_status``."""
    now = timezone.now()
    changed = []
    for chunk in _chunks(sorted(notes)):
        with transaction.atomic():
            rows = list(
                Subscriber.all_objects.select_for_update()
                .filter(pk__in=chunk, status__in=from_statuses)
                .exclude(status=new_status)
                .values_list("pk", "status")
            )
            if not rows:
                continue
            ids = [pk for pk, _ in rows]
            Subscriber.all_objects.filter(pk__in=ids).update(status=new_status, status_changed_at=now, updated_at=now)
            StatusEvent.objects.bulk_create(
                [
                    StatusEvent(subscriber_id=pk, old_status=old, new_status=new_status, source=source,
                                note=notes[pk][:255], actor=actor, created_at=now)  # fmt: skip
                    for pk, old in rows
                ]
            )
            changed.extend(ids)
    return changed


def unsubscribe(subscribers, source=Source.ADMIN, actor=None, note=""):
    return change_status(subscribers, Status.UNSUBSCRIBED, source, actor=actor, note=note)


def resubscribe(subscribers, source=Source.ADMIN, actor=None, note=""):
    """Manual re-subscription by a manager (the subscriber is not emailed)."""
    return change_status(subscribers, Status.SUBSCRIBED, source, actor=actor, note=note)


def add_to_group(subscribers, group):
    """Add subscribers to ``group``; return how many memberships were created."""
    created = 0
    for chunk in _chunks(_ids(subscribers)):
        existing = set(
            Membership.objects.filter(group=group, subscriber_id__in=chunk).values_list("subscriber_id", flat=True)
        )
        new = [Membership(subscriber_id=pk, group=group) for pk in chunk if pk not in existing]
        Membership.objects.bulk_create(new, ignore_conflicts=True)
        created += len(new)
        if new and joined_group.receivers:
            joined_group.send(sender=Membership, group=group, subscriber_ids=[m.subscriber_id for m in new])
    return created


def remove_from_group(subscribers, group):
    removed = 0
    for chunk in _chunks(_ids(subscribers)):
        removed += Membership.objects.filter(group=group, subscriber_id__in=chunk).delete()[0]
    return removed


def delete_subscribers(subscribers, actor=None):
    """Hide subscribers from lists, search and sends; a later re-import or sign-up restores them
    with their history. Return how many were deleted."""
    now = timezone.now()
    deleted = 0
    for chunk in _chunks(_ids(subscribers)):
        with transaction.atomic():
            rows = list(
                Subscriber.all_objects.filter(pk__in=chunk, deleted_at__isnull=True).values_list("pk", "status")
            )
            Subscriber.all_objects.filter(pk__in=[pk for pk, _ in rows]).update(deleted_at=now, updated_at=now)
            record_status_events(
                [(pk, status, status) for pk, status in rows],
                Source.ADMIN,
                note="deleted",
                actor=actor,
                when=now,
            )
            deleted += len(rows)
    return deleted


def forget_subscribers(subscribers, actor=None):
    """GDPR erasure request: delete now, and erase every trace after the grace period
    (``FORGET_GRACE_DAYS``, 30 by default) with ``erase_forgotten``. Return how many."""
    now = timezone.now()
    erase_after = now + datetime.timedelta(days=newsletter_settings.FORGET_GRACE_DAYS)
    forgotten = 0
    for chunk in _chunks(_ids(subscribers)):
        with transaction.atomic():
            rows = list(
                Subscriber.all_objects.filter(pk__in=chunk, erase_after__isnull=True).values_list("pk", "status")
            )
            Subscriber.all_objects.filter(pk__in=[pk for pk, _ in rows]).update(
                deleted_at=Coalesce("deleted_at", now), erase_after=erase_after, updated_at=now
            )
            record_status_events(
                [(pk, status, status) for pk, status in rows], Source.ADMIN, note="forget requested",
                actor=actor, when=now,
            )  # fmt: skip
            forgotten += len(rows)
    return forgotten


def restore_subscriber(subscriber):
    """Bring a deleted (or forgotten, not yet erased) subscriber back, with its history."""
    if subscriber.deleted_at is None and subscriber.erase_after is None:
        return False
    Subscriber.all_objects.filter(pk=subscriber.pk).update(deleted_at=None, erase_after=None, updated_at=timezone.now())
    subscriber.deleted_at = subscriber.erase_after = None
    return True


def erase_forgotten(now=None):
    """Irrecoverably erase subscribers whose grace period is over; return how many.

    The address survives only as a SHA-256 in Suppression, so it is never imported or mailed again
    by mistake; consents and history stay (for counts and audits) but point at nobody.
    """
    now = now or timezone.now()
    erased = 0
    while True:
        with transaction.atomic():
            rows = list(
                Subscriber.all_objects.filter(erase_after__lte=now).order_by("pk").values_list("pk", "email")[:CHUNK]
            )
            if not rows:
                return erased
            ids = [pk for pk, _ in rows]
            Suppression.objects.bulk_create(
                [Suppression(email_sha256=email_digest(email), reason="forgotten") for _, email in rows],
                ignore_conflicts=True,
            )
            Consent.objects.filter(subscriber_id__in=ids).update(subscriber=None, data={}, ip_network="")
            StatusEvent.objects.filter(subscriber_id__in=ids).update(subscriber=None, actor=None, note="")
            # Preference changes keep what is counted (kind, reason, campaign), not what they said or changed.
            PreferenceChange.objects.filter(subscriber_id__in=ids).update(subscriber=None, data={}, reason_text="")
            Membership.objects.filter(subscriber_id__in=ids).delete()
            subscribers_erased.send(sender=Subscriber, subscriber_ids=ids)
            Subscriber.all_objects.filter(pk__in=ids).delete()
            erased += len(ids)


def purge_unconfirmed(now=None):
    """Remove people who signed up but never confirmed within ``PENDING_RETENTION_DAYS``.

    They never agreed to anything, so nothing of them is kept (and no suppression is made:
    they may sign up again). Return how many were removed.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=newsletter_settings.PENDING_RETENTION_DAYS)
    stale = Subscriber.all_objects.filter(
        status=Status.PENDING, status_changed_at__lt=cutoff, first_subscribed_at=None
    ).exclude(consents__created_at__gte=cutoff)  # signed up again recently: their link still works
    removed = 0
    while ids := list(stale.order_by("pk").values_list("pk", flat=True)[:CHUNK]):
        with transaction.atomic():
            Consent.objects.filter(subscriber_id__in=ids).update(subscriber=None, data={}, ip_network="")
            StatusEvent.objects.filter(subscriber_id__in=ids).update(subscriber=None, actor=None, note="")
            Subscriber.all_objects.filter(pk__in=ids).delete()
        removed += len(ids)
    return removed
