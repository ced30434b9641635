"""Segment behaviours about what people read with, where, and what they reached: the device type, mail client and
country of their opens and clicks, and the goals they converted on.

Each is a ``behaviours.Behaviour`` with its SQL (``segment_sql.register_behaviour_sql``), registered when this module
is imported (``growth.segments`` imports it). Device, client and country are read from tracking's per-recipient
``Activity`` row, which holds the first value a *person's* open or click named (machine opens and scanner clicks name
nothing), so "opened or clicked on a phone" is about the recipient's recorded device of that campaign. Conversions
are read from ``Conversion`` (one row per delivery and goal, attributed to the delivery's campaign). Every leaf is an
``EXISTS`` over the subscriber's deliveries in the scope: the segment stays one query, and true or false, never NULL.
"""

import re

from django.db.models import Exists, OuterRef, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..send.models import Delivery, DeviceType
from ..track.breakdowns import country_label
from ..track.devices import CLIENT_MAX_LENGTH
from ..track.models import Activity, AudienceBreakdown, Breakdown
from .behaviours import Behaviour, register_behaviour
from .conditions import MAX_LIST
from .goals import Conversion, Goal
from .segment_sql import register_behaviour_sql, scope_q

# The names conditions use (readable JSON) for tracking's device numbers; "unknown" is not offered: it is no device.
DEVICES = {"computer": DeviceType.COMPUTER, "phone": DeviceType.PHONE, "tablet": DeviceType.TABLET}
COUNTRY_CODE = re.compile(r"[A-Z]{2}")
CHOICES_OFFERED = 300  # clients or countries offered by the builder (the most frequent first)


# --- validation: each check returns the behaviour's normalised params or adds a problem and returns None -----------


def _list(node, key, path, problems, item):
    """A non-empty list (at most MAX_LIST) of ``node[key]``, each checked by ``item(value) -> normalised or None``,
    de-duplicated in order."""
    values = node.get(key)
    if not isinstance(values, list) or not values or len(values) > MAX_LIST:
        problems.add(f"{path}.{key}", _("a list of 1 to %(max)d values is needed.") % {"max": MAX_LIST})
        return None
    result = []
    for index, value in enumerate(values):
        clean = item(value)
        if clean is None:
            return index, value
        if clean not in result:
            result.append(clean)
    return result


def _check_devices(node, path, problems, catalogue):
    found = _list(node, "devices", path, problems, lambda v: v if isinstance(v, str) and v in DEVICES else None)
    if isinstance(found, tuple):
        index, value = found
        problems.add(
            f"{path}.devices[{index}]",
            _("“%(value)s” is not one of: %(allowed)s.") % {"value": value, "allowed": ", ".join(DEVICES)},
        )
        return None
    return None if found is None else {"devices": found}


def _client(value):
    if not isinstance(value, str) or re.search(r"[\x00-\x1f]", value):
        return None
    value = value.strip()
    return value if 0 < len(value) <= CLIENT_MAX_LENGTH else None


def _check_clients(node, path, problems, catalogue):
    found = _list(node, "clients", path, problems, _client)
    if isinstance(found, tuple):
        problems.add(
            f"{path}.clients[{found[0]}]",
            _("a mail client's name of 1 to %(max)d characters on one line is needed.") % {"max": CLIENT_MAX_LENGTH},
        )
        return None
    return None if found is None else {"clients": found}


def _country(value):
    if not isinstance(value, str):
        return None
    value = value.strip().upper()
    return value if COUNTRY_CODE.fullmatch(value) else None


def _check_countries(node, path, problems, catalogue):
    found = _list(node, "countries", path, problems, _country)
    if isinstance(found, tuple):
        problems.add(
            f"{path}.countries[{found[0]}]",
            _("“%(value)s” is not a two-letter country code (ISO 3166-1 alpha-2, e.g. FR).") % {"value": found[1]},
        )
        return None
    return None if found is None else {"countries": found}


def _check_goal(node, path, problems, catalogue):
    """``goal`` absent (or null): any goal; else the id of an existing goal."""
    goal = node.get("goal")
    if goal is None:
        return {}
    if isinstance(goal, bool) or not isinstance(goal, int) or not Goal.objects.filter(pk=goal).exists():
        problems.add(f"{path}.goal", _("unknown goal %(id)s.") % {"id": goal})
        return None
    return {"goal": goal}


# --- SQL ----------------------------------------------------------------------------------------------------------


def _delivery_with(node, context, rows):
    """The subscriber has a delivery in the node's scope for which ``rows`` (correlated to the delivery) exist."""
    deliveries = Delivery.objects.filter(
        scope_q(node["scope"], context=context), Exists(rows), subscriber=OuterRef("pk")
    )
    return Q(Exists(deliveries))


def _read_with(node, context, **filters):
    """... whose Activity row (only people's hits fill its device, client and country) matches ``filters``."""
    return _delivery_with(node, context, Activity.objects.filter(delivery=OuterRef("pk"), **filters))


def _device_sql(node, context):
    return _read_with(node, context, device__in=[int(DEVICES[name]) for name in node["devices"]])


def _converted_sql(node, context):
    rows = Conversion.objects.filter(delivery=OuterRef("pk"), **({"goal_id": node["goal"]} if "goal" in node else {}))
    return _delivery_with(node, context, rows)


for _behaviour, _sql in (
    (
        Behaviour("device", gettext_lazy("opened or clicked on a device type"), ("devices",), _check_devices),
        _device_sql,
    ),
    (
        Behaviour("client", gettext_lazy("opened or clicked with a mail client"), ("clients",), _check_clients),
        lambda node, context: _read_with(node, context, client__in=node["clients"]),
    ),
    (
        Behaviour("country", gettext_lazy("opened or clicked from a country"), ("countries",), _check_countries),
        lambda node, context: _read_with(node, context, country__in=node["countries"]),
    ),
    (Behaviour("converted", gettext_lazy("reached a goal"), ("goal",), _check_goal), _converted_sql),
):
    register_behaviour(_behaviour)
    register_behaviour_sql(_behaviour.name, _sql)


# --- what the builder offers ----------------------------------------------------------------------------------------


def seen_values(dimension, limit=CHOICES_OFFERED):
    """The clients or countries people's opens and clicks named, most people first: read from the campaigns'
    audience breakdowns (a small table), not from the per-recipient rows."""
    rows = (
        AudienceBreakdown.objects.filter(dimension=dimension, people__gt=0)
        .exclude(value="")
        .values("value")
        .annotate(total=Sum("people"))
        .order_by("-total", "value")[:limit]
    )
    return [row["value"] for row in rows]


def builder_choices():
    """The values the builder's inputs offer for these behaviours, as plain data for its JSON script."""
    return {
        "devices": [[name, str(DeviceType(number).label)] for name, number in DEVICES.items()],
        "clients": [[value, value] for value in seen_values(Breakdown.CLIENT)],
        "countries": [[value, country_label(value)] for value in seen_values(Breakdown.COUNTRY)],
        "goals": [[pk, name] for pk, name in Goal.objects.values_list("pk", "name")],
    }
