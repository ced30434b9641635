"""Behaviour conditions: what people did (or did not do) with campaigns, as a catalogue of ``Behaviour`` entries.

``{"behaviour": "opened", "scope": {"last_campaigns": 3}}``: each behaviour names its label, its extra keys and the
scopes it accepts; its SQL is registered beside it in ``segment_sql.register_behaviour_sql``. Importing this module
adds ``BehaviourCondition`` to ``conditions.CONDITION_TYPES`` (``segments`` imports it, so models loading is enough).
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from .conditions import MAX_DAYS, ConditionType, check_count, check_text, register_condition_type


class Behaviour:
    """A thing people did (or did not do) with campaigns; ``params`` are its extra keys, checked by ``check``."""

    def __init__(self, name, label, params=(), check=None, scopes=("campaign", "last_campaigns", "last_days", "any")):
        self.name, self.label, self.params, self.check, self.scopes = name, label, params, check, scopes


def _check_link(node, path, problems, catalogue):
    scope = node.get("scope") or {}
    if "campaign" not in scope:
        problems.add(f"{path}.scope", _("a chosen link needs its campaign."))
        return None
    link = node.get("link")
    if isinstance(link, bool) or not isinstance(link, int) or not 0 <= link < 10000:
        problems.add(f"{path}.link", _("choose a link of the campaign."))
        return None
    return {"link": link}


def _check_link_text(node, path, problems, catalogue):
    text = check_text(node.get("text"), f"{path}.text", problems, max_length=200)
    return None if text is None else {"text": text}


def _check_hard(node, path, problems, catalogue):
    hard = node.get("hard", False)
    if not isinstance(hard, bool):
        problems.add(f"{path}.hard", _("must be true or false."))
        return None
    return {"hard": hard} if hard else {}


BEHAVIOURS = {}


def register_behaviour(behaviour):
    """Add a behaviour (its SQL goes to ``segment_sql.register_behaviour_sql``)."""
    BEHAVIOURS[behaviour.name] = behaviour


for _behaviour in (
    Behaviour("received", pgettext_lazy("segment behaviour", "received")),
    Behaviour("opened", gettext_lazy("opened")),
    Behaviour("not_opened", gettext_lazy("received but did not open")),
    Behaviour("clicked", gettext_lazy("clicked a link in")),
    Behaviour("not_clicked", gettext_lazy("received but clicked no link in")),
    Behaviour("clicked_link", gettext_lazy("clicked the chosen link"), ("link",), _check_link, scopes=("campaign",)),
    Behaviour("clicked_link_containing", gettext_lazy("clicked a link containing"), ("text",), _check_link_text),
    Behaviour("bounced", gettext_lazy("bounced"), ("hard",), _check_hard),
    Behaviour("unengaged", gettext_lazy("opened none of the last N campaigns"), scopes=("last_campaigns",)),
):
    register_behaviour(_behaviour)


def _scope(value, path, problems, catalogue, allowed):
    """``{"campaign": id}``, ``{"last_campaigns": n}``, ``{"last_days": n}`` or ``{}`` (any campaign)."""
    value = {} if value is None else value
    if not isinstance(value, dict) or len(value) > 1:
        problems.add(path, _("choose one: a campaign, the last N campaigns, the last N days, or any campaign."))
        return None
    kind = next(iter(value), "any")
    if kind not in allowed:
        problems.add(path, _("must be one of: %(allowed)s.") % {"allowed": ", ".join(allowed)})
        return None
    if kind == "any":
        return {}
    number = value[kind]
    if kind == "campaign":
        if (
            isinstance(number, bool)
            or not isinstance(number, int)
            or (catalogue.campaign_ids is not None and number not in catalogue.campaign_ids)
        ):
            problems.add(f"{path}.campaign", _("unknown campaign %(id)s.") % {"id": number})
            return None
        return {"campaign": number}
    checked = check_count(number, f"{path}.{kind}", problems, maximum=MAX_DAYS if kind == "last_days" else 1000)
    return None if checked is None else {kind: checked}


class BehaviourCondition(ConditionType):
    key = "behaviour"

    @property
    def keys(self):
        return ("behaviour", "scope", *{p for b in BEHAVIOURS.values() for p in b.params})

    def validate(self, node, path, problems, catalogue):
        behaviour = BEHAVIOURS.get(node.get("behaviour"))
        if behaviour is None:
            allowed = ", ".join(BEHAVIOURS)
            problems.add(
                f"{path}.behaviour",
                _("unknown behaviour “%(name)s” (allowed: %(allowed)s).")
                % {"name": node.get("behaviour"), "allowed": allowed},
            )
            return None
        extra = set(node) - {"behaviour", "scope", *behaviour.params}
        if extra:
            problems.add(path, _("unknown keys: %(keys)s.") % {"keys": ", ".join(sorted(extra))})
            return None
        scope = _scope(node.get("scope"), f"{path}.scope", problems, catalogue, behaviour.scopes)
        if scope is None:
            return None
        params = behaviour.check(node, path, problems, catalogue) if behaviour.check else {}
        if params is None:
            return None
        return {"behaviour": behaviour.name, "scope": scope, **params}


register_condition_type(BehaviourCondition())
