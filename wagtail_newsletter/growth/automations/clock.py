"""The automations' clock: ``now()`` is the real time unless a test (or a dry run) travels in time.

Everything of the automations reads the time here or takes ``now=`` explicitly, so a welcome series over days is
tested in seconds without sleeping. The override is per process: a qcluster started by a test keeps the real time,
which is right for the send engine (it only sends what is queued).
"""

from contextlib import contextmanager

from django.utils import timezone

_frozen = None


def now():
    return _frozen or timezone.now()


@contextmanager
def travel(moment):
    """Within: ``now()`` is ``moment`` (an aware datetime); use ``set_time`` to move on inside the block."""
    global _frozen
    previous, _frozen = _frozen, moment
    try:
        yield
    finally:
        _frozen = previous


def set_time(moment):
    """Move a travelling clock to ``moment`` (None: back to the real time)."""
    global _frozen
    _frozen = moment
