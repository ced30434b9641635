"""Keyset pagination: a page is the rows after the last id of the previous one, so a listing costs the same on page
one and page ten thousand and never skips nor repeats a row when rows are added meanwhile."""

import base64
import binascii

from django.utils.translation import gettext as _

from .problems import ApiProblem

MAX_LIMIT = 1000


def encode(last_id):
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode(cursor):
    """The id a cursor continues after (0 for none); ApiProblem 400 for a cursor this API did not give."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _colon, value = text.partition(":")
        if kind != "id" or not value.isdigit() or len(value) > 19:
            raise ValueError(text)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiProblem(
            400, "invalid_cursor", _("The cursor is not one this API gave: pass next_cursor of the previous page.")
        ) from None


def page(queryset, cursor, limit):
    """(rows, next_cursor) of ``queryset`` ordered by id after ``cursor``; next_cursor is None on the last page."""
    after = decode(cursor)
    rows = list(queryset.filter(pk__gt=after).order_by("pk")[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        return rows, encode(last["id"] if isinstance(last, dict) else last.pk)
    return rows, None
