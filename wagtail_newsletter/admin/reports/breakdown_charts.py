"""Bar charts of a campaign's readers by device type, mail client and country, drawn as SVG on the server like the
timeline (``charts``): no library, no script; the template shows the same numbers as a table beside it."""

from html import escape

from django.utils.formats import number_format
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from . import click_map

WIDTH, ROW, LABEL, RIGHT, TOP = 560, 26, 190, 120, 8
BAR_COLOUR = "var(--w-color-secondary, #007d7e)"


def bars_svg(rows, title, chart_id):
    """Horizontal bars of ``rows`` (``track.breakdowns.BreakdownRow``): each value's share of the readers."""
    height = TOP * 2 + ROW * max(len(rows), 1)
    description = "; ".join(
        _("%(label)s: %(people)s people")
        % {"label": row.label, "people": number_format(row.people, force_grouping=True)}
        for row in rows
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" id="{chart_id}" data-bars="{len(rows)}" '
        f'style="max-width:{WIDTH}px;height:auto;font-size:12px;font-family:inherit">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description or _("Nothing yet."))}</desc>',
    ]
    span = WIDTH - LABEL - RIGHT
    top = max([row.share or 0 for row in rows] + [0.0001])
    for index, row in enumerate(rows):
        y = TOP + index * ROW
        width = span * (row.share or 0) / top
        middle = y + ROW / 2
        parts.append(
            f'<text x="{LABEL - 8}" y="{middle}" text-anchor="end" dominant-baseline="middle" fill="currentColor">'
            f"{escape(row.label[:28])}</text>"
        )
        parts.append(
            f'<rect x="{LABEL}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" rx="3" fill="{BAR_COLOUR}">'
            f"<title>{escape(row.label)}: {row.people}</title></rect>"
        )
        share = click_map.percent(row.share) if row.share is not None else "—"
        parts.append(
            f'<text x="{LABEL + width + 6:.1f}" y="{middle}" dominant-baseline="middle" fill="currentColor">'
            f"{escape(share)} ({escape(number_format(row.people, force_grouping=True))})</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
