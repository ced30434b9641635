"""The A/B test's results, its winner, and the send of the winner to the rest of the audience.

Only people count: a variant's opens and clicks are its recipients whose ``Activity`` has a person's first open or
click (``track`` folds machine opens — privacy proxies, pre-fetchers — and scanner clicks apart, in
``machine_opens`` / ``machine_clicks``), so a variant whose mails were fetched by robots never wins for it.

``pick_winner`` is the django-q2 task (a one-off schedule at ``decide_at``, backed up every minute by
``pick_due_winners``). It locks the test's row and acts only on a test still *testing* whose time has come, so a
second run, or two workers at once, change nothing; the send to the rest is ``send.campaigns.send_now``, idempotent
itself.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ..send import campaigns as lifecycle
from ..send.credits import CreditsError
from ..send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from ..track import aggregate
from .ab_significance import PeopleRates
from .ab_start import AbTestError
from .ab_tests import AbMetric, AbStatus, AbTest, AbVariant

# What the rest campaign takes from the winner (what the variant sends and how).
WINNER_FIELDS = (*lifecycle.EMAIL_SETTINGS, "page")
# Events are folded into Activity before the winner is chosen, within this many seconds.
AGGREGATE_SECONDS = 20


@dataclass
class VariantResult(PeopleRates):
    variant: AbVariant
    recipients: int
    sent: int
    openers: int
    clickers: int

    @property
    def letter(self):
        return self.variant.letter

    def successes(self, metric):
        return self.clickers if metric == AbMetric.CLICKS else self.openers

    def rate(self, metric):
        return self.click_rate if metric == AbMetric.CLICKS else self.open_rate


def variant_results(ab_test):
    """One ``VariantResult`` per variant, in letter order: one grouped query over the variants' deliveries."""
    variants = list(ab_test.variants.select_related("campaign"))
    rows = (
        Delivery.objects.filter(campaign_id__in=[variant.campaign_id for variant in variants])
        .values("campaign_id")
        .annotate(
            recipients=Count("id"),
            sent=Count("id", filter=Q(status=DeliveryStatus.SENT)),
            openers=Count("id", filter=Q(activity__first_open_at__isnull=False)),
            clickers=Count("id", filter=Q(activity__first_click_at__isnull=False)),
        )
        .order_by()
    )
    by_campaign = {row.pop("campaign_id"): row for row in rows}
    empty = {"recipients": 0, "sent": 0, "openers": 0, "clickers": 0}
    return [VariantResult(variant, **by_campaign.get(variant.campaign_id, empty)) for variant in variants]


def choose(results, metric):
    """The result with the best rate for ``metric`` (the earlier letter on a tie); None when chosen by hand or when
    no variant has a sent message."""
    if metric == AbMetric.MANUAL or not any(result.sent for result in results):
        return None
    return max(results, key=lambda result: (result.rate(metric), -ord(result.letter)))


def pick_winner(ab_test_id, now=None):
    """django-q2 task: choose the winner of a test whose wait is over and, unless the editor wants to decide, send
    it to the rest. Idempotent: returns False when there is nothing (more) to do."""
    now = now or timezone.now()
    test = AbTest.objects.filter(pk=ab_test_id, status=AbStatus.TESTING, decide_at__lte=now).first()
    if test is None:
        return False
    aggregate.aggregate(budget_seconds=AGGREGATE_SECONDS)  # the latest opens and clicks first (its own lock)
    with transaction.atomic():
        test = AbTest.objects.select_for_update().filter(pk=ab_test_id).first()
        if test is None or test.status != AbStatus.TESTING or test.decide_at > now:
            return False
        best = choose(variant_results(test), test.metric)
        test.decided_at = now
        if best is None:
            test.status = AbStatus.WAITING
            test.note = (
                _("Waiting for you to choose the winner.")
                if test.metric == AbMetric.MANUAL
                else _("No variant's messages were sent: choose the winner yourself.")
            )
            test.save(update_fields=["status", "decided_at", "note"])
            return True
        test.winner = best.variant
        if not test.send_winner:
            test.status = AbStatus.WAITING
            test.note = _("Variant %(letter)s leads; send it to the rest when you are ready.") % {"letter": best.letter}
            test.save(update_fields=["status", "decided_at", "winner", "note"])
            return True
        _send_to_rest(test, best.variant, user=None)
    return True


def choose_winner(ab_test, variant_id, user=None, now=None):
    """The editor's pick: send variant ``variant_id`` of ``ab_test`` to the rest now (testing or waiting only)."""
    with transaction.atomic():
        test = AbTest.objects.select_for_update().get(pk=ab_test.pk)
        if test.status not in (AbStatus.TESTING, AbStatus.WAITING):
            raise AbTestError(_("The winner of this A/B test has already been chosen."))
        variant = AbVariant.objects.filter(ab_test=test, pk=variant_id).select_related("campaign").first()
        if variant is None:
            raise AbTestError(_("Choose one of this test's variants."))
        if user is not None and not lifecycle.may_send(user):
            raise AbTestError(_("You don't have permission to send newsletters."))
        test.winner = variant
        test.decided_at = now or timezone.now()
        _send_to_rest(test, variant, user)
    return test


def _send_to_rest(test, variant, user):
    """Inside the test's lock: the rest campaign takes the winner's content and starts (or the test waits, saying
    why, when it can't)."""
    rest = Campaign.objects.select_for_update().get(pk=test.campaign_id)
    if rest.status == CampaignStatus.DRAFT:
        for field in WINNER_FIELDS:
            setattr(rest, field, getattr(variant.campaign, field))
        rest.save(update_fields=list(WINNER_FIELDS))
        if not lifecycle.count_recipients_of(rest):
            test.status = AbStatus.DONE
            test.note = _("Everyone in the audience was in a sample: there was nobody left to send the winner to.")
            test.save(update_fields=["status", "decided_at", "winner", "note"])
            return
        test.status = AbStatus.DONE  # saved first: the rest campaign's send check lets it start now
        test.save(update_fields=["status"])
        try:
            lifecycle.send_now(rest, user)
        except (lifecycle.CampaignError, CreditsError) as error:
            test.status = AbStatus.WAITING
            test.note = _("Variant %(letter)s won, but the send to the rest could not start: %(error)s") % {
                "letter": variant.letter,
                "error": error,
            }
            test.save(update_fields=["status", "decided_at", "winner", "note"])
            return
    test.status = AbStatus.DONE
    test.note = ""
    test.save(update_fields=["status", "decided_at", "winner", "note"])


def pick_due_winners(now=None):
    """Periodic (every minute): pick the winners whose time has come (backing up their one-off schedules)."""
    now = now or timezone.now()
    due = AbTest.objects.filter(status=AbStatus.TESTING, decide_at__lte=now).values_list("pk", flat=True)
    return sum(bool(pick_winner(pk, now=now)) for pk in list(due))


def cancel_ab_test(ab_test, user=None):
    """Stop a test: its variants' campaigns are cancelled (unsent messages skipped), the rest campaign stays a
    draft the editor may still send or delete."""
    with transaction.atomic():
        test = AbTest.objects.select_for_update().get(pk=ab_test.pk)
        if test.status in (AbStatus.DONE, AbStatus.CANCELLED):
            raise AbTestError(_("This A/B test has already finished."))
        for variant in test.variants.select_related("campaign"):
            if not variant.campaign.is_finished and variant.campaign.status != CampaignStatus.DRAFT:
                lifecycle.cancel(variant.campaign, user)
        test.status = AbStatus.CANCELLED
        test.save(update_fields=["status"])
    return test
