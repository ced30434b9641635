"""Charts of the campaign report, drawn as SVG on the server: no chart library, no script, nothing from a CDN.

``timeline_svg`` draws the human opens and clicks of ``track.stats.timeline`` as two lines over time (hour by hour,
then day by day). The SVG names itself (<title>, <desc>) and labels its axes; the template shows the same numbers as
a table in a <details> element for screen readers and for copying.
"""

import math
from dataclasses import dataclass
from html import escape

from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 720, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 64  # room for the y labels, the x labels and the axis titles
MAX_X_LABELS = 12
# Wagtail's own colours where the admin defines them (dark mode included), with fallbacks for other places.
SERIES = (
    ("opens", "var(--w-color-secondary, #007d7e)", ""),
    ("clicks", "var(--w-color-warning-100, #faa500)", "6 3"),  # dashed as well: not told apart by colour alone
)


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


def nice_ceiling(value):
    """The smallest of 1, 2, 2.5, 5 × 10^n that is ≥ value (at least 1): a y axis that ends on a round number."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * power
        if top >= value and top == int(top):  # 2.5 only from 25 up: counts are whole numbers
            return int(top)
    return 10 * power


def y_ticks(top):
    """Five steps from 0 to ``top`` (whole numbers only: counts are never fractions)."""
    steps = 5 if top >= 5 else int(top)
    return sorted({round(top * i / steps) for i in range(steps + 1)})


def point_label(start, step, previous):
    """The x label of a point: the hour (with the date when the day changes), or the date."""
    local = timezone.localtime(start)
    if step == "day":
        return date_format(local, "j M")
    hour = date_format(local, "H:i")
    if previous is None or timezone.localtime(previous).date() != local.date():
        return f"{date_format(local, 'j M')} {hour}"
    return hour


def chart_points(timeline):
    """(label, opens, clicks) of each point, labels in the site's time zone."""
    rows, previous = [], None
    for point in timeline.points:
        rows.append((point_label(point.start, timeline.step, previous), point.opens, point.clicks))
        previous = point.start
    return rows


def _x(index, count):
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * index / (count - 1) if count > 1 else span / 2)


def _y(value, top):
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _fmt(number):
    return f"{number:.1f}".rstrip("0").rstrip(".")


def timeline_svg(timeline, chart_id="report-timeline-chart"):
    """The SVG of a ``Timeline`` (safe to put in a template as it is)."""
    rows = chart_points(timeline)
    per = _("hour") if timeline.step == "hour" else _("day")
    title = _("Opens and clicks per %(step)s") % {"step": per}
    total_opens = sum(row[1] for row in rows)
    total_clicks = sum(row[2] for row in rows)
    description = _("%(opens)s opens and %(clicks)s clicks by people over %(count)s %(step)s steps.") % {
        "opens": number_format(total_opens, force_grouping=True),
        "clicks": number_format(total_clicks, force_grouping=True),
        "count": len(rows),
        "step": per,
    }
    top = nice_ceiling(max([row[1] for row in rows] + [row[2] for row in rows] + [1]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}" data-step="{timeline.step}" '
        f'data-points="{len(rows)}" style="max-width:{WIDTH}px;height:auto;font-size:11px;font-family:inherit">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    # Grid and y axis.
    for value in y_ticks(top):
        y = _fmt(_y(value, top))
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y}" y2="{y}" stroke="currentColor" stroke-opacity="0.15"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" dominant-baseline="middle" fill="currentColor" '
            f'class="y-tick">{escape(number_format(value, force_grouping=True))}</text>'
        )
    bottom = HEIGHT - BOTTOM
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{bottom}" y2="{bottom}" stroke="currentColor"/>')
    parts.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{bottom}" stroke="currentColor"/>')
    # X labels, thinned out so that they never overlap.
    every = max(1, math.ceil(len(rows) / MAX_X_LABELS))
    shown = None  # the date is written again on the first label of each day shown
    for index in range(0, len(rows), every):
        start = timeline.points[index].start
        label, shown = point_label(start, timeline.step, shown), start
        x = _fmt(_x(index, len(rows)))
        parts.append(f'<line x1="{x}" x2="{x}" y1="{bottom}" y2="{bottom + 4}" stroke="currentColor"/>')
        parts.append(
            f'<text x="{x}" y="{bottom + 16}" text-anchor="middle" fill="currentColor" class="x-tick">'
            f"{escape(label)}</text>"
        )
    # Axis titles.
    x_title = _("Time (hour by hour)") if timeline.step == "hour" else _("Time (day by day)")
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 22}" text-anchor="middle" fill="currentColor" '
        f'class="axis-title">{escape(x_title)}</text>'
    )
    middle = (TOP + bottom) / 2
    y_title = _("Number per hour") if timeline.step == "hour" else _("Number per day")
    parts.append(
        f'<text x="12" y="{middle}" text-anchor="middle" fill="currentColor" class="axis-title" '
        f'transform="rotate(-90 12 {middle})">{escape(y_title)}</text>'
    )
    # The two series, and a legend under the x labels.
    labels = {"opens": _("Opens"), "clicks": _("Clicks")}
    for column, (name, colour, dash) in enumerate(SERIES, start=1):
        coordinates = " ".join(f"{_fmt(_x(i, len(rows)))},{_fmt(_y(row[column], top))}" for i, row in enumerate(rows))
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(f'<g class="series" data-series="{name}">')
        if rows:
            parts.append(f'<polyline points="{coordinates}" fill="none" stroke="{colour}" stroke-width="2"{dashes}/>')
        for i, row in enumerate(rows):
            parts.append(
                f'<circle cx="{_fmt(_x(i, len(rows)))}" cy="{_fmt(_y(row[column], top))}" r="2.5" fill="{colour}">'
                f"<title>{escape(row[0])}: {escape(labels[name])} {row[column]}</title></circle>"
            )
        parts.append("</g>")
        legend_x = LEFT + (column - 1) * 110
        parts.append(
            f'<line x1="{legend_x}" x2="{legend_x + 24}" y1="{HEIGHT - 6}" y2="{HEIGHT - 6}" stroke="{colour}" '
            f'stroke-width="2"{dashes}/><text x="{legend_x + 30}" y="{HEIGHT - 6}" dominant-baseline="middle" '
            f'fill="currentColor">{escape(labels[name])}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
