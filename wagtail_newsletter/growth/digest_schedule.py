"""When a digest is due: "every Monday at 8:00", "every day at 7:30", "on the 1st of each month at 9:00", in the
site's time zone (``settings.TIME_ZONE``), daylight-saving changes included.

Plain functions over a ``DigestSchedule`` (frequency, weekday, day of month, hour, minute): no model, no query. The
occurrences are local wall-clock times made aware with ``zoneinfo``: "8:00" stays 8:00 on both sides of a change
(the UTC instant moves by an hour). A local time that does not exist (2:30 on the night clocks go forward) is taken
as the same moment an hour later by the clock (3:30); one that happens twice (2:30 in October) is the first of them.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _


class Frequency:
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ALL = (DAILY, WEEKLY, MONTHLY)


# Days 29-31 are missing from some months: a monthly digest is due on a day every month has.
MAX_DAY_OF_MONTH = 28


class ScheduleError(ValueError):
    """A schedule field out of range: ``errors`` maps each field to a message for people."""

    def __init__(self, errors):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class DigestSchedule:
    frequency: str
    hour: int
    minute: int = 0
    weekday: int = 0  # Monday 0 … Sunday 6 (weekly)
    day_of_month: int = 1  # 1 … 28 (monthly)

    def __post_init__(self):
        validate(self)

    @property
    def zone(self):
        return ZoneInfo(settings.TIME_ZONE)


def validate(schedule):
    """Raise ScheduleError naming every field out of range."""
    errors = {}

    def integer_in(name, low, high):
        value = getattr(schedule, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = _("Enter a whole number from %(low)s to %(high)s.") % {"low": low, "high": high}

    if schedule.frequency not in Frequency.ALL:
        errors["frequency"] = _("Choose daily, weekly or monthly.")
    integer_in("hour", 0, 23)
    integer_in("minute", 0, 59)
    integer_in("weekday", 0, 6)
    integer_in("day_of_month", 1, MAX_DAY_OF_MONTH)
    if errors:
        raise ScheduleError(errors)


def at_local_time(day, schedule):
    """The moment of ``day`` (a date) at the schedule's hour and minute in the site's time zone, in UTC.

    A time skipped by a change to summer time comes out an hour later by the clock (zoneinfo gives a non-existent
    time the offset of before the change); of a repeated time, the first (``fold=0``). In UTC because Python never
    finds a time of the repeated hour equal to one in another zone (PEP 495)."""
    local = datetime.datetime.combine(day, datetime.time(schedule.hour, schedule.minute), tzinfo=schedule.zone)
    return local.astimezone(datetime.UTC)


def _is_due_day(day, schedule):
    if schedule.frequency == Frequency.WEEKLY:
        return day.weekday() == schedule.weekday
    if schedule.frequency == Frequency.MONTHLY:
        return day.day == schedule.day_of_month
    return True


def _due_days_back(day, schedule):
    """Due days from ``day`` backwards (``day`` included)."""
    if schedule.frequency == Frequency.MONTHLY:
        month_day = day.replace(day=schedule.day_of_month)
        if month_day > day:
            month_day = _previous_month(month_day)
        while True:
            yield month_day
            month_day = _previous_month(month_day)
    step = datetime.timedelta(days=1)
    while not _is_due_day(day, schedule):
        day -= step
    step = datetime.timedelta(days=7 if schedule.frequency == Frequency.WEEKLY else 1)
    while True:
        yield day
        day -= step


def _previous_month(day):
    first = day.replace(day=1) - datetime.timedelta(days=1)
    return first.replace(day=day.day)


def _next_month(day):
    following = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return following.replace(day=day.day)


def latest_occurrence(schedule, now):
    """The last due moment at or before ``now`` (aware)."""
    today = now.astimezone(schedule.zone).date()
    for day in _due_days_back(today, schedule):
        moment = at_local_time(day, schedule)
        if moment <= now:
            return moment
    raise AssertionError("unreachable")  # pragma: no cover


def next_occurrence(schedule, after):
    """The first due moment strictly after ``after`` (aware)."""
    day = after.astimezone(schedule.zone).date() - datetime.timedelta(days=1)
    if schedule.frequency == Frequency.MONTHLY:
        candidate = day.replace(day=schedule.day_of_month)
        while at_local_time(candidate, schedule) <= after:
            candidate = _next_month(candidate)
        return at_local_time(candidate, schedule)
    while True:
        if _is_due_day(day, schedule):
            moment = at_local_time(day, schedule)
            if moment > after:
                return moment
        day += datetime.timedelta(days=1)


def describe(schedule):
    """The schedule in words, e.g. "Every Monday at 08:00 (Europe/Paris)"."""
    time = f"{schedule.hour:02d}:{schedule.minute:02d}"
    values = {"time": time, "zone": settings.TIME_ZONE}
    if schedule.frequency == Frequency.WEEKLY:
        return _("Every %(weekday)s at %(time)s (%(zone)s)") % {**values, "weekday": WEEKDAYS[schedule.weekday]}
    if schedule.frequency == Frequency.MONTHLY:
        return _("On day %(day)s of each month at %(time)s (%(zone)s)") % {**values, "day": schedule.day_of_month}
    return _("Every day at %(time)s (%(zone)s)") % values
