"""django-q2 tasks of the audience stage. Each takes primary keys and is idempotent."""

from .services import erase_forgotten


def erase_forgotten_task():
    return erase_forgotten()
