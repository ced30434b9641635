"""A campaign's figures per language: sends, opens and clicks of each translation it went out in."""

from typing import NamedTuple

from django.db.models import Count, Q, Sum

from ..send.models import Delivery, DeliveryStatus


class LanguageRow(NamedTuple):
    language: str  # "" is the campaign's own language
    recipients: int
    sent: int
    openers: int  # people who opened (machine opens apart)
    opens: int
    clickers: int
    clicks: int


def language_split(campaign):
    """[LanguageRow] of ``campaign``, its own language first, then by language code: one grouped query over its
    deliveries and their folded Activity (people's opens and clicks; machines' apart, as in the campaign's totals)."""
    rows = (
        Delivery.objects.filter(campaign=campaign)
        .order_by()
        .values("language")
        .annotate(
            recipients=Count("pk"),
            sent=Count("pk", filter=Q(status=DeliveryStatus.SENT)),
            openers=Count("pk", filter=Q(activity__first_open_at__isnull=False)),
            opens=Sum("activity__opens", default=0),
            clickers=Count("pk", filter=Q(activity__first_click_at__isnull=False)),
            clicks=Sum("activity__clicks", default=0),
        )
    )
    split = [LanguageRow(*(row[name] for name in LanguageRow._fields)) for row in rows]
    return sorted(split, key=lambda row: (row.language != "", row.language))
