"""A campaign's readers by device type, mail client and country, read from ``AudienceBreakdown`` (folded by
``aggregate``; never the events) in one query.

``people`` of a value are the recipients whose first human open or click that said so had it; the readers nothing
ever said it of (a mailbox proxy's opens only, a private address, TRACK_COUNTRY off) are the "unknown" row: the
campaign's readers (``CampaignStats.unique_opens``) less everyone counted under a value.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from .countries import country_name
from .models import AudienceBreakdown, Breakdown, CampaignStats, DeviceType

MAX_ROWS = 12  # per breakdown: the rest are summed into "Other"


@dataclass
class BreakdownRow:
    value: str  # as stored: the device type's number, the client's name, the country code; "" unknown
    label: str
    people: int
    opens: int
    clicks: int
    share: float | None = None  # of the readers, 0..1


@dataclass
class AudienceBreakdowns:
    readers: int
    devices: list
    clients: list
    countries: list

    def items(self):
        return (
            (Breakdown.DEVICE, self.devices),
            (Breakdown.CLIENT, self.clients),
            (Breakdown.COUNTRY, self.countries),
        )


def value_label(dimension, value):
    """What an editor reads for a stored value."""
    if value == "":
        return _("Unknown")
    if dimension == Breakdown.DEVICE:
        return str(DeviceType(int(value)).label).capitalize() if value.isdigit() else value
    if dimension == Breakdown.COUNTRY:
        return country_label(value)
    return value


def country_label(code):
    """ "🇫🇷 France" in the active language: the flag and the country's name (the code when it has no name)."""
    return f"{flag(code)} {country_name(code)}".strip()


def flag(code):
    """The flag emoji of a two-letter country code (regional indicator symbols), "" for anything else."""
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        return ""
    return "".join(chr(0x1F1E6 + ord(letter) - ord("A")) for letter in code.upper())


def audience_breakdowns(campaign):
    """``AudienceBreakdowns`` of ``campaign``: rows by people, then opens, most first; unknown last."""
    readers = CampaignStats.objects.filter(campaign=campaign).values_list("unique_opens", flat=True).first() or 0
    found = {dimension: [] for dimension in Breakdown.values}
    for dimension, value, people, opens, clicks in AudienceBreakdown.objects.filter(campaign=campaign).values_list(
        "dimension", "value", "people", "opens", "clicks"
    ):
        found[dimension].append(BreakdownRow(value, value_label(dimension, value), people, opens, clicks))
    return AudienceBreakdowns(
        readers,
        _ordered(found[Breakdown.DEVICE], readers, limit=None),
        _ordered(found[Breakdown.CLIENT], readers),
        _ordered(found[Breakdown.COUNTRY], readers),
    )


def _ordered(rows, readers, limit=MAX_ROWS):
    unknown = next((row for row in rows if row.value == ""), None) or BreakdownRow("", _("Unknown"), 0, 0, 0)
    known = sorted((row for row in rows if row.value), key=lambda row: (-row.people, -row.opens, row.label))
    unknown.people = max(0, readers - sum(row.people for row in known))
    if limit is not None and len(known) > limit:
        rest = known[limit - 1 :]
        other = BreakdownRow("*", _("Other"), *(sum(getattr(row, name) for row in rest) for name in COUNTS))
        known = [*known[: limit - 1], other]
    result = [row for row in [*known, unknown] if row.people or row.opens or row.clicks]
    for row in result:
        row.share = row.people / readers if readers else None
    return result


COUNTS = ("people", "opens", "clicks")
