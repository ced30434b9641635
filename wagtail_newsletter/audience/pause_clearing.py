"""An editor ends a subscriber's pause from the admin (the subscriber took it on their preference page).

Recorded like the subscriber's own "end the pause early" (a RESUME entry of the preference log, shown in their
history), with who did it: ``data`` carries the pause's end and the editor's user name.
"""

from django.db import transaction
from django.utils import timezone

from .models import Subscriber
from .preference_log import PreferenceChange, PreferenceChangeKind
from .preferences import is_paused


def clear_pause(subscriber, user):
    """End ``subscriber``'s pause now, for ``user`` (an editor). Returns False, changing nothing, when they were
    not paused (any more)."""
    with transaction.atomic():
        locked = Subscriber.all_objects.select_for_update().get(pk=subscriber.pk)
        if not is_paused(locked):
            return False
        Subscriber.all_objects.filter(pk=subscriber.pk).update(paused_until=None, updated_at=timezone.now())
        PreferenceChange.objects.create(
            subscriber_id=subscriber.pk,
            kind=PreferenceChangeKind.RESUME,
            data={"until": locked.paused_until.isoformat(), "by": user.get_username(), "user_id": user.pk},
        )
    subscriber.paused_until = None
    return True
