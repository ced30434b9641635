"""Turning what callers pass (objects, ids, names, addresses) into rows, or clear errors: shared by the API modules."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from ..audience.fields import InvalidValue, clean_text, normalise_email
from ..audience.models import Group, Source, Subscriber
from ..growth.segments import Segment
from ..send.models import Campaign
from .errors import InvalidEmail, InvalidInput, NotFound

# "fr", "pt-BR", "zh-Hant-TW": what Subscriber.language holds (10 characters at most).
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,4}){0,2}$")


def clean_email(raw: Any, field: str = "email") -> str:
    """The address as stored (stripped, lower case), or InvalidEmail."""
    try:
        return normalise_email(raw)
    except InvalidValue as error:
        raise InvalidEmail(
            _("“%(email)s”: %(error)s") % {"email": str(raw)[:254], "error": error}, field=field
        ) from error


def clean_one_line(raw: Any, field: str, label: str, max_length: int) -> str:
    """A one-line text (no line break or control character: nothing can be injected into a header), or
    InvalidInput naming ``field``."""
    try:
        return clean_text(raw, max_length, label)
    except InvalidValue as error:
        raise InvalidInput(str(error), field=field) from error


def clean_language(raw: Any) -> str:
    value = clean_one_line(raw, "language", _("Language"), 10)
    if value and not _LANGUAGE.match(value):
        raise InvalidInput(_("“%(value)s” is not a language code such as “fr” or “pt-BR”.") % {"value": value},
                           field="language")  # fmt: skip
    return value


def clean_source(source: Any) -> str:
    if source not in Source.values:
        raise InvalidInput(
            _("“%(source)s” is not a source; use one of: %(sources)s.")
            % {"source": source, "sources": ", ".join(Source.values)},
            field="source",
        )
    return str(source)


def _resolve(model, items: Iterable[Any], field: str, what: str) -> list:
    """Rows of ``model`` for ``items`` (objects, ids or names), in the given order, without duplicates."""
    if isinstance(items, (str, int, model)):
        items = [items]
    wanted = list(dict.fromkeys(getattr(item, "pk", item) for item in items))
    ids = [item for item in wanted if isinstance(item, int) and not isinstance(item, bool)]
    names = [item for item in wanted if isinstance(item, str)]
    odd = [item for item in wanted if item not in ids and item not in names]
    if odd:
        raise InvalidInput(
            _("%(what)s are given as objects, ids or names, not %(value)r.") % {"what": what, "value": odd[0]},
            field=field,
        )
    found = {row.pk: row for row in model.objects.filter(pk__in=ids)} if ids else {}
    by_name = {row.name: row for row in model.objects.filter(name__in=names)} if names else {}
    missing = [str(item) for item in ids if item not in found] + [item for item in names if item not in by_name]
    if missing:
        raise NotFound(
            _("No %(what)s named or numbered: %(missing)s.") % {"what": what, "missing": ", ".join(missing)},
            field=field,
        )
    rows = [found[item] if isinstance(item, int) else by_name[item] for item in wanted]
    return list({row.pk: row for row in rows}.values())


def resolve_groups(groups: Iterable[Any], field: str = "groups") -> list[Group]:
    """The Group rows of ``groups`` (Group objects, ids or names); NotFound names every unknown one."""
    return _resolve(Group, groups, field, _("group"))


def resolve_segments(segments: Iterable[Any], field: str = "segments") -> list[Segment]:
    """The Segment rows of ``segments`` (Segment objects, ids or names); NotFound names every unknown one."""
    return _resolve(Segment, segments, field, _("segment"))


def get_campaign(campaign: Campaign | int) -> Campaign:
    """The campaign as it is in the database now (a Campaign or its id)."""
    pk = getattr(campaign, "pk", campaign)
    found = Campaign.objects.filter(pk=pk).first() if isinstance(pk, int) and not isinstance(pk, bool) else None
    if found is None:
        raise NotFound(_("No campaign with id %(id)s.") % {"id": pk}, field="campaign")
    return found


def get_subscriber(subscriber: Subscriber | int | str, *, hidden: bool = False) -> Subscriber:
    """A subscriber by object, id or address; ``hidden``: deleted and forgotten ones count too."""
    manager = Subscriber.all_objects if hidden else Subscriber.objects
    if isinstance(subscriber, Subscriber):
        found = manager.filter(pk=subscriber.pk).first()
    elif isinstance(subscriber, int) and not isinstance(subscriber, bool):
        found = manager.filter(pk=subscriber).first()
    else:
        found = manager.filter(email=clean_email(subscriber)).first()
    if found is None:
        raise NotFound(_("No subscriber %(who)s.") % {"who": subscriber}, field="email")
    return found
