"""The report's split by language: sends, opens and clicks of each translation a campaign went out in."""

from ...send.translations import default_language
from ...track.languages import language_split


def _percent(part, whole):
    return f"{100 * part / whole:.1f} %" if whole else "—"


def language_report(campaign):
    """Rows for admin/report/languages.html (the campaign's own language first), or None when every recipient got
    the same language. One grouped query, and one for the locales' names."""
    split = language_split(campaign)
    if not any(row.language for row in split):
        return None
    from wagtail.models import Locale

    names = {locale.language_code: locale.get_display_name() for locale in Locale.objects.all()}
    own = default_language(campaign)
    rows = []
    for row in split:
        code = row.language or own
        rows.append(
            {
                "code": code,
                "name": names.get(code) or code,
                "default": not row.language,
                "row": row,
                "open_rate": _percent(row.openers, row.sent),
                "click_rate": _percent(row.clickers, row.sent),
            }
        )
    totals = {name: sum(getattr(row, name) for row in split) for name in ("recipients", "sent", "opens", "clicks")}
    return {"rows": rows, "totals": totals}
