"""What an A/B test's report shows: the variants side by side, each against A with the two-proportion test in words,
the leader against the runner-up, then the whole campaign (the variants and the send to the rest together).

Opens and clicks are people's (``Activity.first_open_at`` / ``first_click_at``), as the winner's choice reads them.
"""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from ..send.models import Delivery, DeliveryStatus
from .ab_significance import PeopleRates, two_proportion_test, verdict
from .ab_tests import AbMetric
from .ab_winner import variant_results


@dataclass
class Totals(PeopleRates):
    recipients: int = 0
    sent: int = 0
    openers: int = 0
    clickers: int = 0


def campaign_totals(campaign_ids):
    """Recipients, sent messages, people who opened and who clicked, over these campaigns: one query."""
    row = Delivery.objects.filter(campaign_id__in=campaign_ids).aggregate(
        recipients=Count("id"),
        sent=Count("id", filter=Q(status=DeliveryStatus.SENT)),
        openers=Count("id", filter=Q(activity__first_open_at__isnull=False)),
        clickers=Count("id", filter=Q(activity__first_click_at__isnull=False)),
    )
    return Totals(**row)


def changes_of(variant):
    """What this variant changes, in words ("" for none: the newsletter as it is)."""
    parts = []
    if variant.subject:
        parts.append(_("subject “%(value)s”") % {"value": variant.subject})
    if variant.preheader:
        parts.append(_("preheader “%(value)s”") % {"value": variant.preheader})
    if variant.sender_name:
        parts.append(_("sender name “%(value)s”") % {"value": variant.sender_name})
    rest_page_id = variant.ab_test.campaign.page_id
    if variant.campaign.page_id and variant.campaign.page_id != rest_page_id:
        parts.append(_("newsletter “%(title)s”") % {"title": variant.campaign.page.get_admin_display_title()})
    return ", ".join(parts)


def ab_report(test):
    """The report's data: ``rows`` (one per variant), ``headline`` (the verdict between the two best), ``metric``
    (the rate compared: clicks for a test by clicks, else opens) and ``whole`` (every message of the campaign)."""
    results = variant_results(test)
    metric = AbMetric.CLICKS if test.metric == AbMetric.CLICKS else AbMetric.OPENS
    control = results[0]
    rows = []
    for result in results:
        row = {
            "result": result,
            "letter": result.letter,
            "campaign": result.variant.campaign,
            "changes": changes_of(result.variant) or _("the newsletter as it is"),
            "winner": test.winner_id == result.variant.pk,
            "percent": result.variant.sample_percent,
        }
        if result is not control:
            comparison = two_proportion_test(
                control.successes(metric), control.sent, result.successes(metric), result.sent
            )
            row.update(
                difference_points=round(comparison.difference * 100, 1),
                p_value=comparison.p_value,
                verdict=verdict(comparison, control.letter, result.letter),
            )
        rows.append(row)
    headline = None
    ranked = sorted(results, key=lambda result: (-result.rate(metric), result.letter))
    if len(ranked) >= 2 and any(result.sent for result in results):
        runner_up, leader = ranked[1], ranked[0]
        comparison = two_proportion_test(
            runner_up.successes(metric), runner_up.sent, leader.successes(metric), leader.sent
        )
        headline = verdict(comparison, runner_up.letter, leader.letter)
    variant_ids = [result.variant.campaign_id for result in results]
    return {
        "rows": rows,
        "headline": headline,
        "metric": metric,
        "metric_label": _("clicks") if metric == AbMetric.CLICKS else _("opens"),
        "variants_total": campaign_totals(variant_ids),
        "rest": campaign_totals([test.campaign_id]),
        "whole": campaign_totals([*variant_ids, test.campaign_id]),
    }
