"""Checking a person's values as the forms and imports do (``audience.fields``), with each error's location."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from ...audience.fields import InvalidValue, clean_text, coerce_field_value, normalise_email
from ...audience.models import Field, Group
from ...conf import newsletter_settings
from .problems import ApiProblem

LANGUAGE_MAX_LENGTH = 10


class RowError(Exception):
    def __init__(self, loc, message):
        super().__init__(message)
        self.loc, self.message = loc, str(message)


def custom_fields():
    return {field.key: field for field in Field.objects.all()}


def clean_email(raw):
    try:
        return normalise_email(raw)
    except InvalidValue as exc:
        raise RowError(["email"], exc) from None


def clean_texts(values, partial=False):
    """{first_name, last_name, language} cleaned; with ``partial`` only those present and not None."""
    limits = {"first_name": newsletter_settings.MAX_NAME_LENGTH, "last_name": newsletter_settings.MAX_NAME_LENGTH,
              "language": LANGUAGE_MAX_LENGTH}  # fmt: skip
    texts = {}
    for key, limit in limits.items():
        raw = values.get(key)
        if partial and raw is None:
            continue
        try:
            texts[key] = clean_text(raw, limit, key)
        except InvalidValue as exc:
            raise RowError([key], exc) from None
    return texts


def clean_fields(raw_fields, fields, allow_null=False):
    """Custom field values coerced by their field's type; an unknown key is an error (a typo must not vanish)."""
    data = {}
    for key, raw in (raw_fields or {}).items():
        field = fields.get(key)
        if field is None:
            raise RowError(["fields", key], _("There is no custom field “%(key)s”.") % {"key": key})
        if raw is None and allow_null:
            data[key] = None
            continue
        if not isinstance(raw, (str, int, float, bool)) and raw is not None:
            raise RowError(["fields", key], _("A custom field's value is a string, a number or a boolean."))
        try:
            value = coerce_field_value(field, raw)
        except InvalidValue as exc:
            raise RowError(["fields", key], exc) from None
        if value is not None or allow_null:
            data[key] = value
    return data


def raise_problem(error):
    raise ApiProblem(422, "invalid_value", error.message, errors=[(["body", *error.loc], error.message)])


def check_groups(group_ids, loc="groups"):
    """The distinct group ids, all existing; ApiProblem 422 naming the unknown ones."""
    wanted = sorted(set(group_ids))
    found = set(Group.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        message = _("No group has the id(s) %(ids)s.") % {"ids": ", ".join(map(str, missing))}
        raise ApiProblem(422, "unknown_group", message, errors=[(["body", loc], message)])
    return wanted


def utc_time(value, loc):
    """``value`` (aware or in the site's time zone) in UTC, as every database can store it — PostgreSQL refuses an
    offset beyond ±15:59 (``+18:06``) — or a 422 problem at ``loc`` for a time out of range."""
    try:
        aware = value if timezone.is_aware(value) else timezone.make_aware(value)
        return aware.astimezone(datetime.UTC)
    except (OverflowError, ValueError):
        message = _("This time is out of range.")
        raise ApiProblem(422, "invalid_value", message, errors=[(loc, message)]) from None
