"""Validation and coercion of subscriber input: addresses, names and custom field values.

Plain functions over plain data, shared by forms, imports and the API.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from email_validator import EmailNotValidError, validate_email

from ..conf import newsletter_settings

RESERVED_KEYS = {
    "email", "first_name", "last_name", "full_name", "language", "status", "source", "groups",
    "unsubscribe_url", "web_version_url", "preferences_url", "date", "created_at",
}  # fmt: skip

# Characters that must never reach a header or a one-line field.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
# The common case, checked without email-validator's full parser. It only accepts addresses that
# email-validator accepts too (ASCII dot-atoms, a dotted domain with a letter TLD); anything else
# goes through email-validator itself.
_LOCAL_PART = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SIMPLE_EMAIL = re.compile(rf"{_LOCAL_PART}@(?:{_LABEL}\.)+[a-z]{{2,63}}")
_SPECIAL_USE_TLDS = ("invalid", "local", "localhost", "onion", "test", "arpa", "internal")
# An address on a special-use domain (admin@example.test, root@localhost): no Internet mail, but a local relay's.
_RESERVED_DOMAIN_EMAIL = re.compile(rf"{_LOCAL_PART}@(?:{_LABEL}\.)*(?:{'|'.join(_SPECIAL_USE_TLDS)})")


class InvalidValue(ValueError):
    """A value that cannot be stored; ``str(exc)`` is a message for people."""


def normalise_email(raw, reserved_domains=False):
    """Return the address to store (stripped, lower case) or raise InvalidValue.

    ``reserved_domains``: also accept a plain address on a special-use domain (``.test``, ``.local``,
    ``localhost``…), which only a local relay delivers — test sends to an editor's local account.
    """
    if not isinstance(raw, str):
        raise InvalidValue(_("Enter a valid email address."))
    value = raw.strip()
    if not value:
        raise InvalidValue(_("Enter an email address."))
    if len(value) > 254:
        raise InvalidValue(_("An email address has at most 254 characters."))
    if _CONTROL.search(value):
        raise InvalidValue(_("Enter a valid email address."))
    lowered = value.lower()
    if (
        _SIMPLE_EMAIL.fullmatch(lowered)
        and len(lowered.partition("@")[0]) <= 64
        and lowered.rsplit(".", 1)[1] not in _SPECIAL_USE_TLDS
    ):
        return lowered
    if reserved_domains and _RESERVED_DOMAIN_EMAIL.fullmatch(lowered) and len(lowered.partition("@")[0]) <= 64:
        return lowered
    try:
        result = validate_email(value, check_deliverability=False, strict=True)
    except EmailNotValidError as exc:
        raise InvalidValue(_("Enter a valid email address.")) from exc
    return result.normalized.lower()


def clean_text(raw, max_length=None, label=None):
    """A one-line text: stripped, without control characters (no header injection), bounded."""
    if raw is None:
        return ""
    value = str(raw).strip()
    max_length = max_length or newsletter_settings.MAX_FIELD_LENGTH
    if _CONTROL.search(value):
        raise InvalidValue(
            _("%(label)s may not contain line breaks or control characters.") % {"label": label or _("This field")}
        )
    if len(value) > max_length:
        raise InvalidValue(
            _("%(label)s has at most %(max)d characters.") % {"label": label or _("This field"), "max": max_length}
        )
    return value


_TRUE = {"1", "true", "yes", "y", "oui", "o", "x", "on", "vrai"}
_FALSE = {"0", "false", "no", "n", "non", "off", "faux", ""}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d")


def coerce_field_value(field, raw):
    """Turn ``raw`` (text, number, date, bool) into the JSON value stored for custom ``field``.

    Returns None for an empty value; raises InvalidValue with a message naming the field.
    """
    from .models import Field  # cycle: models.py imports RESERVED_KEYS from here

    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    label = field.label
    if field.type == Field.Type.TEXT:
        return clean_text(raw, label=label)
    if field.type == Field.Type.NUMBER:
        if isinstance(raw, bool):
            raise InvalidValue(_("%(label)s must be a number.") % {"label": label})
        try:
            number = Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation as exc:
            raise InvalidValue(_("%(label)s must be a number.") % {"label": label}) from exc
        if not number.is_finite():
            raise InvalidValue(_("%(label)s must be a number.") % {"label": label})
        return int(number) if number == number.to_integral_value() else float(number)
    if field.type == Field.Type.DATE:
        if isinstance(raw, datetime.datetime):
            return raw.date().isoformat()
        if isinstance(raw, datetime.date):
            return raw.isoformat()
        text = str(raw).strip()
        for fmt in _DATE_FORMATS:
            try:
                return datetime.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                continue
        raise InvalidValue(_("%(label)s must be a date (YYYY-MM-DD).") % {"label": label})
    if field.type == Field.Type.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidValue(_("%(label)s must be yes or no.") % {"label": label})
    if field.type == Field.Type.CHOICE:
        text = clean_text(raw, label=label)
        for option in field.choice_list:
            if option.lower() == text.lower():
                return option
        raise InvalidValue(
            _("%(label)s must be one of: %(options)s.") % {"label": label, "options": ", ".join(field.choice_list)}
        )
    raise InvalidValue(_("Unknown field type."))
