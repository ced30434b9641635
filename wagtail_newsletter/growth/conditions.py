"""A segment's conditions: plain JSON data, checked against the schema below before anything is compiled.

A condition is one of (``docs/developers/segments.md`` describes each with examples)::

    {"and": [condition, …]}    {"or": [condition, …]}    {"not": condition}
    {"field": "email" | "email_domain" | "first_name" | … | "data.<custom field key>", "op": …, "value": …}
    {"groups": "any" | "all" | "none", "ids": [group id, …]}
    {"behaviour": "opened" | "clicked" | …, "scope": {…}, …}

``validate(conditions)`` returns the conditions normalised (numbers as numbers, lists de-duplicated) or raises
``ConditionError`` whose messages name the place of each problem (``and[1].op``). Each leaf kind is a
``ConditionType`` in ``CONDITION_TYPES`` with its own checks and its SQL (``segment_sql``); a floor above may add one
(``register_condition_type``). What people did with campaigns is ``behaviours.BehaviourCondition``, whose catalogue
grows through ``behaviours.register_behaviour`` (device, mail client, country…: ``reader_conditions``).
"""

import datetime
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_DEPTH = 8
MAX_NODES = 200
MAX_LIST = 500
MAX_DAYS = 3660

TEXT_OPS = ("is", "contains", "starts_with", "ends_with", "is_empty", "is_one_of")
NUMBER_OPS = ("eq", "lt", "gt", "between", "is_empty")
DATE_OPS = ("eq", "lt", "gt", "between", "in_last_days", "in_next_days", "anniversary_within_days", "is_empty")
DATETIME_OPS = ("eq", "lt", "gt", "between", "in_last_days")
BOOLEAN_OPS = ("is_true", "is_false")
CHOICE_OPS = ("is_one_of", "is_empty")

OP_LABELS = {
    "is": gettext_lazy("is"),
    "contains": gettext_lazy("contains"),
    "starts_with": gettext_lazy("starts with"),
    "ends_with": gettext_lazy("ends with"),
    "is_empty": gettext_lazy("is empty"),
    "is_one_of": gettext_lazy("is one of"),
    "eq": gettext_lazy("="),
    "lt": gettext_lazy("<"),
    "gt": gettext_lazy(">"),
    "between": gettext_lazy("between"),
    "in_last_days": gettext_lazy("in the last N days"),
    "in_next_days": gettext_lazy("in the next N days"),
    "anniversary_within_days": gettext_lazy("anniversary within N days"),
    "is_true": gettext_lazy("is yes"),
    "is_false": gettext_lazy("is no"),
}


class ConditionError(ValidationError):
    """Conditions that do not follow the schema; ``messages`` says what and where."""


class _Problems:
    def __init__(self):
        self.messages = []

    def add(self, path, message):
        self.messages.append(f"{path or _('conditions')}: {message}")


# Built-in subscriber fields: name -> (label, kind). Kinds decide the operators and the value's shape.
SUBSCRIBER_FIELDS = {
    "email": (gettext_lazy("Email"), "text"),
    "email_domain": (gettext_lazy("Email domain"), "text"),
    "first_name": (gettext_lazy("First name"), "text"),
    "last_name": (gettext_lazy("Last name"), "text"),
    "language": (gettext_lazy("Language"), "text"),
    "status": (gettext_lazy("Status"), "status"),
    "source": (gettext_lazy("Source"), "source"),
    "created_at": (gettext_lazy("Created"), "datetime"),
    "first_subscribed_at": (gettext_lazy("Subscribed (confirmed) on"), "datetime_or_empty"),
}
KIND_OPS = {
    "text": TEXT_OPS,
    "number": NUMBER_OPS,
    "date": DATE_OPS,
    "boolean": BOOLEAN_OPS,
    "choice": CHOICE_OPS,
    "status": ("is_one_of",),
    "source": ("is_one_of",),
    "datetime": DATETIME_OPS,
    "datetime_or_empty": (*DATETIME_OPS, "is_empty"),
}
CUSTOM_PREFIX = "data."


class Catalogue:
    """What the conditions may name, read from the database once per validation: custom fields, groups, campaigns."""

    def __init__(self, fields=None, group_ids=None, campaign_ids=None):
        self.fields = fields  # {key: (type, choice list)}
        self.group_ids = group_ids
        self.campaign_ids = campaign_ids

    @classmethod
    def load(cls):
        from ..audience.models import Field, Group
        from ..send.models import Campaign

        fields = {f.key: (f.type, f.choice_list) for f in Field.objects.all()}
        return cls(
            fields=fields,
            group_ids=set(Group.objects.values_list("pk", flat=True)),
            campaign_ids=set(Campaign.objects.values_list("pk", flat=True)),
        )


def field_kind(name, catalogue):
    """(kind, choices) of a condition's field name, or None when the field is unknown."""
    if name in SUBSCRIBER_FIELDS:
        kind = SUBSCRIBER_FIELDS[name][1]
        if kind == "status":
            from ..audience.models import Status

            return kind, list(Status.values)
        if kind == "source":
            from ..audience.models import Source

            return kind, list(Source.values)
        return kind, None
    if isinstance(name, str) and name.startswith(CUSTOM_PREFIX):
        found = (catalogue.fields or {}).get(name[len(CUSTOM_PREFIX) :])
        if found is not None:
            return found[0], found[1]
    return None


# --- value checks: each returns the normalised value or adds a problem and returns None ---------------------------


def check_text(value, path, problems, max_length=255):
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or re.search(r"[\x00-\x1f]", value):
        problems.add(path, _("a text of 1 to %(max)d characters on one line is needed.") % {"max": max_length})
        return None
    return value.strip()


def _number(value, path, problems):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) > 1e15:
        problems.add(path, _("a number is needed."))
        return None
    return value


def _days(value, path, problems):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAYS:
        problems.add(path, _("a whole number of days from 0 to %(max)d is needed.") % {"max": MAX_DAYS})
        return None
    return value


def check_count(value, path, problems, maximum=1000):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        problems.add(path, _("a whole number from 1 to %(max)d is needed.") % {"max": maximum})
        return None
    return value


def _date(value, path, problems):
    try:
        return datetime.date.fromisoformat(value).isoformat() if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        pass
    problems.add(path, _("a date (YYYY-MM-DD) is needed."))
    return None


def _pair(value, path, problems, check):
    if not isinstance(value, list) or len(value) != 2:
        problems.add(path, _("two values [from, to] are needed."))
        return None
    low, high = check(value[0], f"{path}[0]", problems), check(value[1], f"{path}[1]", problems)
    if low is None or high is None:
        return None
    if low > high:
        problems.add(path, _("the first value must not be above the second."))
        return None
    return [low, high]


def _one_of(value, path, problems, allowed=None):
    if not isinstance(value, list) or not value or len(value) > MAX_LIST:
        problems.add(path, _("a list of 1 to %(max)d values is needed.") % {"max": MAX_LIST})
        return None
    result = []
    for index, item in enumerate(value):
        text = check_text(item, f"{path}[{index}]", problems)
        if text is None:
            return None
        if allowed is not None and text not in allowed:
            problems.add(
                f"{path}[{index}]",
                _("“%(value)s” is not one of: %(allowed)s.") % {"value": text, "allowed": ", ".join(allowed)},
            )
            return None
        if text not in result:
            result.append(text)
    return result


def _field_value(kind, op, value, choices, path, problems):
    """The normalised value of a field condition with operator ``op`` on a field of ``kind``."""
    if op in ("is_empty", "is_true", "is_false"):
        return None
    if op in ("in_last_days", "in_next_days", "anniversary_within_days"):
        return _days(value, path, problems)
    if kind == "text":
        if op == "is_one_of":
            return _one_of(value, path, problems)
        return check_text(value, path, problems)
    if kind in ("choice", "status", "source"):
        return _one_of(value, path, problems, allowed=choices)
    check = _number if kind == "number" else _date
    if op == "between":
        return _pair(value, path, problems, check)
    return check(value, path, problems)


# --- condition types ----------------------------------------------------------------------------------------------


class ConditionType:
    """One kind of leaf condition, named by the key that marks it (``"field"``, ``"groups"``, ``"behaviour"``).

    ``validate(node, path, problems, catalogue)`` returns the normalised node (or None after adding problems);
    ``to_q(node, context)`` (in ``segment_sql``) turns it into a ``Q`` over subscribers."""

    key = None
    keys = ()  # every key the node may have

    def validate(self, node, path, problems, catalogue):
        raise NotImplementedError


class FieldCondition(ConditionType):
    key = "field"
    keys = ("field", "op", "value")

    def validate(self, node, path, problems, catalogue):
        found = field_kind(node.get("field"), catalogue)
        if found is None:
            problems.add(f"{path}.field", _("unknown field “%(field)s”.") % {"field": node.get("field")})
            return None
        kind, choices = found
        op = node.get("op")
        if op not in KIND_OPS[kind]:
            allowed = ", ".join(KIND_OPS[kind])
            problems.add(
                f"{path}.op", _("unknown operator “%(op)s” (allowed: %(allowed)s).") % {"op": op, "allowed": allowed}
            )
            return None
        value = _field_value(kind, op, node.get("value"), choices, f"{path}.value", problems)
        if value is None and op not in ("is_empty", "is_true", "is_false"):
            return None
        result = {"field": node["field"], "op": op}
        if value is not None:
            result["value"] = value
        return result


class GroupsCondition(ConditionType):
    key = "groups"
    keys = ("groups", "ids")
    MODES = ("any", "all", "none")

    def validate(self, node, path, problems, catalogue):
        mode = node.get("groups")
        if mode not in self.MODES:
            problems.add(f"{path}.groups", _("must be one of: %(allowed)s.") % {"allowed": ", ".join(self.MODES)})
            return None
        ids = node.get("ids")
        if not isinstance(ids, list) or not ids or len(ids) > MAX_LIST:
            problems.add(f"{path}.ids", _("choose at least one group."))
            return None
        clean = []
        for index, pk in enumerate(ids):
            if (
                isinstance(pk, bool)
                or not isinstance(pk, int)
                or (catalogue.group_ids is not None and pk not in catalogue.group_ids)
            ):
                problems.add(f"{path}.ids[{index}]", _("unknown group %(id)s.") % {"id": pk})
                return None
            if pk not in clean:
                clean.append(pk)
        return {"groups": mode, "ids": clean}


CONDITION_TYPES = {}


def register_condition_type(condition_type):
    CONDITION_TYPES[condition_type.key] = condition_type


for _type in (FieldCondition(), GroupsCondition()):  # behaviours.py adds BehaviourCondition
    register_condition_type(_type)


def _validate_node(node, path, problems, catalogue, depth, counter):
    counter[0] += 1
    if counter[0] > MAX_NODES:
        problems.add(path, _("too many conditions (at most %(max)d).") % {"max": MAX_NODES})
        return None
    if depth > MAX_DEPTH:
        problems.add(path, _("nested too deep (at most %(max)d levels).") % {"max": MAX_DEPTH})
        return None
    if not isinstance(node, dict) or not node:
        problems.add(path, _("a condition must be an object."))
        return None
    for combinator in ("and", "or"):
        if combinator in node:
            items = node[combinator]
            if len(node) != 1 or not isinstance(items, list) or not items:
                problems.add(path, _("“%(key)s” takes a non-empty list of conditions, alone.") % {"key": combinator})
                return None
            children = [
                _validate_node(child, f"{path}.{combinator}[{i}]" if path else f"{combinator}[{i}]", problems,
                               catalogue, depth + 1, counter)
                for i, child in enumerate(items)
            ]  # fmt: skip
            return None if None in children else {combinator: children}
    if "not" in node:
        if len(node) != 1:
            problems.add(path, _("“not” takes one condition, alone."))
            return None
        child = _validate_node(node["not"], f"{path}.not" if path else "not", problems, catalogue, depth + 1, counter)
        return None if child is None else {"not": child}
    for key, condition_type in CONDITION_TYPES.items():
        if key in node:
            extra = set(node) - set(condition_type.keys)
            if extra:
                problems.add(path, _("unknown keys: %(keys)s.") % {"keys": ", ".join(sorted(extra))})
                return None
            return condition_type.validate(node, path, problems, catalogue)
    problems.add(
        path,
        _("unknown condition (keys: %(keys)s); expected one of: %(allowed)s.")
        % {"keys": ", ".join(sorted(map(str, node))), "allowed": ", ".join(["and", "or", "not", *CONDITION_TYPES])},
    )
    return None


def validate(conditions, catalogue=None):
    """The normalised ``conditions``; raises ConditionError listing every problem found. ``{}`` means everybody."""
    if conditions in ({}, None):
        return {}
    catalogue = catalogue or Catalogue.load()
    problems = _Problems()
    result = _validate_node(conditions, "", problems, catalogue, 0, [0])
    if problems.messages or result is None:
        raise ConditionError(problems.messages or [_("Invalid conditions.")])
    return result
