"""What a subscriber may change about themselves on their preference page, each change logged.

Plain functions over a subscriber and the campaign whose mail brought them (a number, for the reports). Only public
groups are topics and only fields marked "editable by the subscriber" are theirs to edit: anything else passed in is
ignored. Each function changes the database in one transaction and appends one ``PreferenceChange`` when something
really changed (nothing otherwise), and returns whether it did.
"""

import calendar
import re

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..conf import newsletter_settings
from .fields import InvalidValue, coerce_field_value
from .models import Field, Group, Membership, Subscriber
from .preference_log import PreferenceChange, PreferenceChangeKind, UnsubscribeReason
from .services import joined_group

REASON_TEXT_LENGTH = 500
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def public_groups():
    """The topics subscribers choose themselves: the public groups, by name."""
    return Group.objects.filter(public=True).order_by("name")


def editable_fields():
    """The custom fields subscribers edit themselves, in the editors' order."""
    return Field.objects.filter(editable_by_subscriber=True).order_by("sort_order", "label")


def languages():
    """(code, name) of the languages a subscriber may choose: the site's content languages."""
    return list(getattr(settings, "WAGTAIL_CONTENT_LANGUAGES", None) or settings.LANGUAGES)


def pause_months():
    return [int(months) for months in newsletter_settings.PAUSE_MONTHS]


def _log(subscriber, kind, campaign_id, data=None, **fields):
    PreferenceChange.objects.create(
        subscriber_id=subscriber.pk, kind=kind, campaign_id=campaign_id, data=data or {}, **fields
    )


def _locked(subscriber):
    """The subscriber's row, locked until the transaction ends (two tabs saving at once apply one after the other)."""
    return Subscriber.all_objects.select_for_update().get(pk=subscriber.pk)


def topic_ids(subscriber):
    """Ids of the public groups ``subscriber`` is in."""
    return set(
        Membership.objects.filter(subscriber_id=subscriber.pk, group__public=True).values_list("group_id", flat=True)
    )


def set_topics(subscriber, group_ids, campaign_id=None):
    """Make ``subscriber``'s public groups exactly ``group_ids`` (ids of other groups are ignored: their private
    groups are the editors' business). Returns True when a membership was added or removed."""
    with transaction.atomic():
        _locked(subscriber)
        public = dict(public_groups().values_list("pk", "name"))
        wanted = {int(pk) for pk in group_ids if int(pk) in public}
        current = topic_ids(subscriber)
        added, removed = wanted - current, current - wanted
        if not added and not removed:
            return False
        Membership.objects.bulk_create(
            [Membership(subscriber_id=subscriber.pk, group_id=pk) for pk in added], ignore_conflicts=True
        )
        Membership.objects.filter(subscriber_id=subscriber.pk, group_id__in=removed).delete()
        for group_id in added:  # the topics chosen join their groups like any other way in
            joined_group.send(sender=Membership, group=Group(pk=group_id), subscriber_ids=[subscriber.pk])
        Subscriber.all_objects.filter(pk=subscriber.pk).update(updated_at=timezone.now())
        data = {"added": sorted(public[pk] for pk in added), "removed": sorted(public[pk] for pk in removed)}
        _log(subscriber, PreferenceChangeKind.TOPICS, campaign_id, data)
    return True


def set_language(subscriber, language, campaign_id=None):
    """Set ``subscriber``'s language to one of ``languages()`` (or none: ""). Raises InvalidValue for another."""
    language = (language or "").strip()
    if language and language not in dict(languages()):
        raise InvalidValue(f"{language!r} is not a language of this site.")
    with transaction.atomic():
        old = _locked(subscriber).language
        if old == language:
            return False
        Subscriber.all_objects.filter(pk=subscriber.pk).update(language=language, updated_at=timezone.now())
        _log(subscriber, PreferenceChangeKind.LANGUAGE, campaign_id, {"from": old, "to": language})
    subscriber.language = language
    return True


def set_fields(subscriber, values, campaign_id=None):
    """Set the editable custom fields named in ``values`` ({key: raw value}); other keys are ignored. Raises
    InvalidValue (naming the field) before changing anything when a value does not fit its field."""
    fields = {field.key: field for field in editable_fields()}
    cleaned = {key: coerce_field_value(fields[key], raw) for key, raw in values.items() if key in fields}
    with transaction.atomic():
        data = dict(_locked(subscriber).data or {})
        changes = {}
        for key, value in cleaned.items():
            if data.get(key) != value:
                changes[key] = [data.get(key), value]
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
        if not changes:
            return False
        Subscriber.all_objects.filter(pk=subscriber.pk).update(data=data, updated_at=timezone.now())
        _log(subscriber, PreferenceChangeKind.FIELDS, campaign_id, {"fields": changes})
    subscriber.data = data
    return True


def add_months(moment, months):
    """``moment`` plus calendar ``months`` (31 January + 1 month = the last day of February)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def pause(subscriber, months, campaign_id=None, now=None):
    """No newsletter for ``months`` (one of ``pause_months()``) from now: the planner skips ``subscriber`` until
    then, and they come back by themselves. Pausing again sets a new end. Returns the end of the pause."""
    months = int(months)
    if months not in pause_months():
        raise InvalidValue(f"A pause lasts {', '.join(map(str, pause_months()))} months, not {months}.")
    now = now or timezone.now()
    until = add_months(now, months)
    with transaction.atomic():
        _locked(subscriber)
        Subscriber.all_objects.filter(pk=subscriber.pk).update(paused_until=until, updated_at=now)
        _log(subscriber, PreferenceChangeKind.PAUSE, campaign_id, {"months": months, "until": until.isoformat()})
    subscriber.paused_until = until
    return until


def is_paused(subscriber, now=None):
    return subscriber.paused_until is not None and subscriber.paused_until > (now or timezone.now())


def resume(subscriber, campaign_id=None):
    """End a pause early. Returns False when ``subscriber`` was not paused."""
    with transaction.atomic():
        locked = _locked(subscriber)
        if not is_paused(locked):
            return False
        Subscriber.all_objects.filter(pk=subscriber.pk).update(paused_until=None, updated_at=timezone.now())
        _log(subscriber, PreferenceChangeKind.RESUME, campaign_id, {"until": locked.paused_until.isoformat()})
    subscriber.paused_until = None
    return True


def record_unsubscribe(subscriber, reason="", reason_text="", campaign_id=None):
    """Log that ``subscriber`` left from their preference page, with their reason (one of ``UnsubscribeReason``
    or none) and their own words. The status change itself is ``services.unsubscribe``'s (in the same
    transaction, by the caller)."""
    if reason and reason not in UnsubscribeReason.values:
        raise InvalidValue(f"Unknown reason {reason!r}.")
    # Their words on one line, without control characters, cut to the column's length.
    text = " ".join(_CONTROL.sub(" ", str(reason_text or "")).split())[:REASON_TEXT_LENGTH]
    data = {"paused_until": subscriber.paused_until.isoformat()} if is_paused(subscriber) else {}
    _log(subscriber, PreferenceChangeKind.UNSUBSCRIBE, campaign_id, data, reason=reason, reason_text=text)


def pause_end(months, now=None):
    """When a pause of ``months`` started now would end (for the page's labels)."""
    return add_months(now or timezone.now(), months)
