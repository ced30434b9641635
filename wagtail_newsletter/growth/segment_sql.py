"""Validated segment conditions -> one ``Q`` over subscribers: ``Subscriber.objects.filter(q)`` is ONE SQL query.

Groups and behaviour are ``EXISTS`` subqueries; custom fields are read from ``Subscriber.data`` with JSON operators
and a type check, so a value of the wrong JSON type never matches (and never makes PostgreSQL fail a cast). Every
leaf is true or false, never NULL, so ``NOT`` means what people expect.

Behaviour reads tracking's per-recipient rows (``Activity``, ``LinkActivity``), which hold people's opens and clicks
only: machine opens (privacy proxies, pre-fetchers) and scanner clicks are kept apart by the aggregation.
"""

import datetime

from django.db.models import Exists, F, Func, OuterRef, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, StrIndex, Substr
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IEndsWith,
    IExact,
    In,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from ..audience.models import Membership, Subscriber
from ..send.models import Campaign, Delivery, DeliveryStatus
from ..track.models import Activity, LinkActivity
from .conditions import CUSTOM_PREFIX, Catalogue, field_kind

NOTHING = Q(pk__in=[])
# Not ``Q()``: an empty Q vanishes when OR-ed with others (several segments of one campaign).
EVERYBODY = Q(pk__isnull=False)


class Context:
    """What a compilation depends on besides the conditions: the clock and the catalogue of custom fields."""

    def __init__(self, now=None, catalogue=None):
        self.now = now or timezone.now()
        self.today = timezone.localtime(self.now).date()
        self.catalogue = catalogue or Catalogue(fields=None)
        if self.catalogue.fields is None:
            from ..audience.models import Field

            self.catalogue.fields = {f.key: (f.type, f.choice_list) for f in Field.objects.all()}


def segment_q(conditions, now=None, catalogue=None):
    """The ``Q`` matching the subscribers of validated ``conditions`` (``{}``: everybody)."""
    if not conditions:
        return EVERYBODY
    return node_q(conditions, Context(now, catalogue))


def segment_subscribers(conditions, now=None, catalogue=None):
    """Subscribers (not deleted, any status) matching ``conditions``: one query."""
    return Subscriber.objects.filter(segment_q(conditions, now, catalogue))


def node_q(node, context):
    if "and" in node:
        result = Q()
        for child in node["and"]:
            result &= node_q(child, context)
        return result
    if "or" in node:
        result = Q(pk__in=[])
        for child in node["or"]:
            result |= node_q(child, context)
        return result
    if "not" in node:
        return ~node_q(node["not"], context)
    for key, compile_leaf in LEAF_SQL.items():
        if key in node:
            return compile_leaf(node, context)
    raise ValueError(f"unknown condition {sorted(node)}")


# --- subscriber fields ----------------------------------------------------------------------------------------------


class JSONKind(Func):
    """The JSON type of ``data[key]`` as one word: number, string, true, false, null, or missing."""

    output_field = TextField()

    def __init__(self, key):
        super().__init__(F("data"))
        self.key = key

    def as_postgresql(self, compiler, connection):
        column, params = compiler.compile(self.source_expressions[0])
        sql = (
            f"COALESCE(CASE jsonb_typeof({column} -> %s) WHEN 'boolean' THEN ({column} ->> %s) "
            f"ELSE jsonb_typeof({column} -> %s) END, 'missing')"
        )
        return sql, (*params, self.key, *params, self.key, *params, self.key)

    def as_sqlite(self, compiler, connection):
        column, params = compiler.compile(self.source_expressions[0])
        path = '$."{}"'.format(self.key.replace('"', ""))
        sql = (
            f"COALESCE(CASE json_type({column}, %s) WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' "
            f"WHEN 'text' THEN 'string' ELSE json_type({column}, %s) END, 'missing')"
        )
        return sql, (*params, path, *params, path)


def _text_q(expression, op, value):
    """Case-insensitive text operators on a non-null text ``expression``."""
    if op == "is":
        return Q(IExact(expression, value))
    if op == "contains":
        return Q(IContains(expression, value))
    if op == "starts_with":
        return Q(IStartsWith(expression, value))
    if op == "ends_with":
        return Q(IEndsWith(expression, value))
    if op == "is_empty":
        return Q(Exact(expression, ""))
    if op == "is_one_of":
        result = Q(pk__in=[])
        for item in value:
            result |= Q(IExact(expression, item))
        return result
    raise ValueError(op)


def _local_start(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _datetime_q(name, op, value, context):
    """Operators on a date-time column, by the site's local calendar day."""
    if op == "is_empty":
        return Q(**{f"{name}__isnull": True})
    if op == "in_last_days":
        return Q(**{f"{name}__gte": context.now - datetime.timedelta(days=value)})
    one_day = datetime.timedelta(days=1)
    if op == "between":
        low, high = (datetime.date.fromisoformat(v) for v in value)
        return Q(**{f"{name}__gte": _local_start(low), f"{name}__lt": _local_start(high + one_day)})
    day = datetime.date.fromisoformat(value)
    if op == "eq":
        return Q(**{f"{name}__gte": _local_start(day), f"{name}__lt": _local_start(day + one_day)})
    if op == "lt":
        return Q(**{f"{name}__lt": _local_start(day)})
    if op == "gt":
        return Q(**{f"{name}__gte": _local_start(day + one_day)})
    raise ValueError(op)


def anniversary_days(today, days):
    """The "MM-DD" of the next ``days`` days from ``today`` (29 February counts on the 28th in other years)."""
    result = set()
    for offset in range(min(days, 366) + 1):
        day = today + datetime.timedelta(days=offset)
        result.add(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and (day + datetime.timedelta(days=1)).month == 3:
            result.add("02-29")
    return sorted(result)


def _custom_q(key, kind, op, value, context):
    json_kind = JSONKind(key)
    text = Coalesce(KeyTextTransform(key, "data"), Value(""), output_field=TextField())
    if op == "is_empty":
        return Q(In(json_kind, ["missing", "null"])) | (Q(Exact(json_kind, "string")) & Q(Exact(text, "")))
    if kind == "boolean":
        return Q(Exact(json_kind, "true" if op == "is_true" else "false"))
    if kind == "text":
        # No type check: a text field holds texts (and numbers read as text); skipping it halves the cost per row.
        return _text_q(text, op, value)
    if kind == "choice":
        return Q(Exact(json_kind, "string")) & Q(In(text, value))
    if kind == "number":
        # Django's own JSON key lookups compare numbers as numbers on both databases (jsonb, json_extract).
        path = f"data__{key}"
        if op == "between":
            compare = Q(**{f"{path}__gte": value[0], f"{path}__lte": value[1]})
        else:
            compare = Q(**{f"{path}__{'exact' if op == 'eq' else op}": value})
        return Q(Exact(json_kind, "number")) & compare
    # Dates are stored as "YYYY-MM-DD" strings, which compare as text in calendar order.
    result = Q(Exact(json_kind, "string")) & ~Q(Exact(text, ""))
    if op in ("in_last_days", "in_next_days"):
        span = datetime.timedelta(days=value)
        low, high = (
            (context.today - span, context.today) if op == "in_last_days" else (context.today, context.today + span)
        )
        op, value = "between", [low.isoformat(), high.isoformat()]
    if op == "anniversary_within_days":
        return result & Q(In(Substr(text, 6, 5), anniversary_days(context.today, value)))
    if op == "between":
        return result & Q(GreaterThanOrEqual(text, value[0])) & Q(LessThanOrEqual(text, value[1]))
    return result & Q({"eq": Exact, "lt": LessThan, "gt": GreaterThan}[op](text, value))


def field_q(node, context):
    name, op, value = node["field"], node["op"], node.get("value")
    found = field_kind(name, context.catalogue)
    if found is None:  # a custom field deleted since the segment was saved: nobody has it
        return NOTHING
    kind = found[0]
    if name.startswith(CUSTOM_PREFIX):
        return _custom_q(name[len(CUSTOM_PREFIX) :], kind, op, value, context)
    if kind in ("status", "source"):
        return Q(**{f"{name}__in": value})
    if kind.startswith("datetime"):
        return _datetime_q(name, op, value, context)
    if name == "email_domain":
        domain = Substr("email", StrIndex("email", Value("@")) + 1, output_field=TextField())
        return _text_q(domain, op, value)
    return _text_q(F(name), op, value)


# --- groups ---------------------------------------------------------------------------------------------------------


def _member_of(ids):
    return Exists(Membership.objects.filter(subscriber=OuterRef("pk"), group_id__in=ids))


def groups_q(node, context):
    mode, ids = node["groups"], node["ids"]
    if mode == "any":
        return Q(_member_of(ids))
    if mode == "none":
        return ~Q(_member_of(ids))
    result = Q()
    for pk in ids:
        result &= Q(_member_of([pk]))
    return result


# --- behaviour ------------------------------------------------------------------------------------------------------


def last_campaign_ids(count):
    """A subquery: the ``count`` campaigns started last (follow-ups are resends of one of them, so they don't count)."""
    return (
        Campaign.objects.filter(started_at__isnull=False, follow_up="")
        .order_by("-started_at", "-id")
        .values("pk")[:count]
    )


def scope_q(scope, campaign_field="campaign_id", context=None):
    """The campaigns a behaviour looks at, as a filter on ``campaign_field`` of the subquery's rows."""
    if "campaign" in scope:
        return Q(**{campaign_field: scope["campaign"]})
    if "last_campaigns" in scope:
        return Q(**{f"{campaign_field}__in": last_campaign_ids(scope["last_campaigns"])})
    if "last_days" in scope:
        since = context.now - datetime.timedelta(days=scope["last_days"])
        return Q(**{f"{campaign_field}__in": Campaign.objects.filter(started_at__gte=since).values("pk")})
    return Q()


def _activity(scope, context, **filters):
    """Someone's deliveries in the scope (found by subscriber and campaign, an index-only probe) with an Activity row
    matching ``filters`` (a probe of a partial index of Activity for opens and clicks)."""
    acted = Activity.objects.filter(delivery=OuterRef("pk"), **filters)
    rows = Delivery.objects.filter(scope_q(scope, context=context), Exists(acted), subscriber=OuterRef("pk"))
    return Q(Exists(rows))


def _received(scope, context):
    rows = Delivery.objects.filter(
        scope_q(scope, context=context), subscriber=OuterRef("pk"), status=DeliveryStatus.SENT
    )
    return Q(Exists(rows))


def _links_containing(text, scope, context):
    """(campaign id, [link indexes]) of the links whose address contains ``text`` in the campaigns of ``scope``: read
    from each campaign's link table once, before the subscribers' query."""
    campaigns = Campaign.objects.filter(scope_q(scope, "pk", context), compiled__isnull=False)
    needle = text.lower()
    pairs = []
    for pk, links in campaigns.values_list("pk", "compiled__links"):
        found = [
            link[0] for link in links or () if needle in (link[1] or "").lower() or needle in (link[2] or "").lower()
        ]
        if found:
            pairs.append((pk, found))
    return pairs


def _clicked_link_containing(node, context):
    pairs = _links_containing(node["text"], node["scope"], context)
    which = Q(pk__in=[])
    for campaign_id, links in pairs:
        which |= Q(campaign_id=campaign_id, link__in=links)
    if not pairs:
        return NOTHING
    return Q(Exists(LinkActivity.objects.filter(which, delivery__subscriber=OuterRef("pk"))))


def _clicked_link(node, context):
    rows = LinkActivity.objects.filter(
        campaign_id=node["scope"]["campaign"], link=node["link"], delivery__subscriber=OuterRef("pk")
    )
    return Q(Exists(rows))


BEHAVIOUR_SQL = {
    "received": lambda node, c: _received(node["scope"], c),
    "opened": lambda node, c: _activity(node["scope"], c, first_open_at__isnull=False),
    "clicked": lambda node, c: _activity(node["scope"], c, first_click_at__isnull=False),
    "not_opened": lambda node, c: (
        _received(node["scope"], c) & ~_activity(node["scope"], c, first_open_at__isnull=False)
    ),
    "not_clicked": lambda node, c: (
        _received(node["scope"], c) & ~_activity(node["scope"], c, first_click_at__isnull=False)
    ),
    "unengaged": lambda node, c: (
        _received(node["scope"], c) & ~_activity(node["scope"], c, first_open_at__isnull=False)
    ),
    "bounced": lambda node, c: _activity(
        node["scope"], c, bounced_at__isnull=False, **({"hard_bounce": True} if node.get("hard") else {})
    ),
    "clicked_link": _clicked_link,
    "clicked_link_containing": _clicked_link_containing,
}


def register_behaviour_sql(name, compile_behaviour):
    """``compile_behaviour(node, context) -> Q`` for a behaviour registered with ``behaviours.register_behaviour``
    (``scope_q`` gives its campaign filter)."""
    BEHAVIOUR_SQL[name] = compile_behaviour


def behaviour_q(node, context):
    return BEHAVIOUR_SQL[node["behaviour"]](node, context)


LEAF_SQL = {"field": field_q, "groups": groups_q, "behaviour": behaviour_q}


def register_condition_sql(key, compile_leaf):
    """``compile_leaf(node, context) -> Q`` for a condition type added with ``conditions.register_condition_type``."""
    LEAF_SQL[key] = compile_leaf
