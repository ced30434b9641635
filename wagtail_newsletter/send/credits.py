"""The credits ledger (optional, ``CREDITS_ENABLED``): 1 credit = 1 newsletter sent to 1 subscriber.

One balance holds two kinds of credits, as in Infomaniak's newsletter offer:

- free monthly credits: at the start of each month a balance below ``CREDITS_MONTHLY_ALLOWANCE`` is topped up *to*
  that level (level 3000, balance 1500: +1500; balance 10000: nothing). Unused free credits are not carried over:
  the top-up never takes the balance past the level.
- purchased credits, which never expire. While the balance is above the free level, purchased credits are the ones
  being spent; at or below it, the free ones are (see ``split``).

Every change locks the single ``CreditAccount`` row and appends a ``CreditEntry`` with the balance after it, so
concurrent sends on any number of hosts never overspend. ``Campaign.credits_charged`` is the campaign's net charge
(charges minus refunds). With credits off, charging, refunding and topping up do nothing; purchases and adjustments
are still recorded, so an administrator can prepare the balance before switching credits on.
"""

import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from ..conf import newsletter_settings
from .models import Campaign, CreditAccount, CreditEntry, Delivery, DeliveryStatus

Kind = CreditEntry.Kind


class CreditsError(Exception):
    """A credits operation was refused; ``message`` is meant for the user."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class InsufficientCredits(CreditsError):
    def __init__(self, needed, balance):
        self.needed = needed
        self.balance = balance
        super().__init__(
            ngettext(
                "This send needs %(needed)s credit; the balance is %(balance)s.",
                "This send needs %(needed)s credits; the balance is %(balance)s.",
                needed,
            )
            % {"needed": _number(needed), "balance": _number(balance)}
        )


def _number(value):
    return formats.number_format(value, force_grouping=True)


def enabled():
    return bool(newsletter_settings.CREDITS_ENABLED)


def free_level():
    return max(0, int(newsletter_settings.CREDITS_MONTHLY_ALLOWANCE or 0))


def split(balance, free_level):
    """``(free_part, purchased_part)`` of a balance: what is above the free level is purchased credits (spent
    first); the rest is this month's free credits."""
    balance = max(0, balance)
    free = min(balance, max(0, free_level))
    return free, balance - free


def _month(now=None):
    """First day of the site's current month (TIME_ZONE): free credits follow the site's calendar."""
    return timezone.localdate(now or timezone.now()).replace(day=1)


def account(lock=False):
    """The one ``CreditAccount`` row (created on first use). ``lock=True`` (inside ``transaction.atomic``) holds
    its write lock until the transaction ends, also on SQLite where SELECT … FOR UPDATE doesn't exist."""
    if not lock:
        try:
            return CreditAccount.objects.get(pk=1)
        except CreditAccount.DoesNotExist:
            pass
    CreditAccount.objects.bulk_create([CreditAccount(pk=1)], ignore_conflicts=True)
    if not lock:
        return CreditAccount.objects.get(pk=1)
    if not connection.features.has_select_for_update:
        CreditAccount.objects.filter(pk=1).update(balance=F("balance"))  # takes SQLite's write lock
    return CreditAccount.objects.select_for_update().get(pk=1)


def _record(acc, kind, amount, campaign=None, actor=None, note=""):
    """Apply ``amount`` to the locked account and append the ledger entry."""
    acc.balance += amount
    acc.save(update_fields=["balance", "topped_up_for"])
    return CreditEntry.objects.create(
        kind=kind,
        amount=amount,
        balance=acc.balance,
        campaign=campaign,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note[:255],
    )


def monthly_top_up(now=None):
    """Top the balance up to the free level once per month (idempotent); returns the credits added (0: none).

    Runs from a django-q2 schedule, and before any charge or balance reading, so the first send or look of a
    month sees the new credits even if the schedule has not run yet.
    """
    if not enabled():
        return 0
    month = _month(now)
    acc = account()
    if acc.topped_up_for and acc.topped_up_for >= month:
        return 0  # the cheap common case, without a lock
    with transaction.atomic():
        acc = account(lock=True)
        if acc.topped_up_for and acc.topped_up_for >= month:
            return 0
        added = max(0, free_level() - acc.balance)
        acc.topped_up_for = month
        if not added:
            acc.save(update_fields=["topped_up_for"])
            return 0
        note = gettext("Free credits of %(month)s") % {"month": formats.date_format(month, "YEAR_MONTH_FORMAT")}
        _record(acc, Kind.MONTHLY, added, note=note)
    return added


def balance(now=None):
    """The balance now (this month's free credits included)."""
    monthly_top_up(now)
    return account().balance


def check(count, now=None):
    """None if ``count`` credits can be charged now (or credits are off), else the message saying why not."""
    if not enabled() or count <= 0:
        return None
    available = balance(now)
    return None if count <= available else InsufficientCredits(count, available).message


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return value


def purchase(amount, actor=None, note=""):
    """Record purchased credits (never expire). Works with credits on or off."""
    _positive_int(amount, "amount")
    with transaction.atomic():
        return _record(account(lock=True), Kind.PURCHASE, amount, actor=actor, note=note)


def adjust(amount, actor=None, note=""):
    """Correct the balance by a signed ``amount``; refused (``CreditsError``) if it would go below zero."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValueError(f"amount must be a non-zero integer, not {amount!r}")
    with transaction.atomic():
        acc = account(lock=True)
        if acc.balance + amount < 0:
            raise CreditsError(
                gettext("The balance is %(balance)s; it can't be lowered by %(amount)s.")
                % {"balance": _number(acc.balance), "amount": _number(-amount)}
            )
        return _record(acc, Kind.ADJUSTMENT, amount, actor=actor, note=note)


def _lock_campaign(campaign):
    """Lock the campaign's row (PostgreSQL) and return its ``credits_charged``. Always campaign first, then the
    account, like the lifecycle functions that call us while holding the campaign: no lock-order deadlock."""
    return Campaign.objects.select_for_update().filter(pk=campaign.pk).values_list("credits_charged", flat=True).get()


def charge(campaign, count, actor=None, now=None):
    """Charge ``count`` credits for ``campaign`` before it starts sending.

    Raises ``InsufficientCredits`` and changes nothing when the balance is too small. Returns the ledger entry, or
    None when credits are off or ``count`` is 0. Call it inside the transaction that starts the campaign, so a
    refused charge rolls the start back too.
    """
    if not enabled() or count == 0:
        return None
    _positive_int(count, "count")
    with transaction.atomic():
        _lock_campaign(campaign)
        monthly_top_up(now)  # this month's free credits count; it takes the account lock after the campaign's
        acc = account(lock=True)
        if count > acc.balance:
            raise InsufficientCredits(count, acc.balance)
        entry = _record(acc, Kind.CHARGE, -count, campaign=campaign, actor=actor, note=campaign.name[:255])
        Campaign.objects.filter(pk=campaign.pk).update(credits_charged=F("credits_charged") + count)
    campaign.credits_charged += count
    return entry


def refund(campaign, count, note=""):
    """Give back credits of messages never sent (cancelled, skipped, failed): at most what the campaign is still
    charged (``credits_charged``, lowered accordingly). Returns the entry, or None if nothing was refunded."""
    if not enabled() or count <= 0:
        return None
    return _refund(campaign, lambda charged: min(count, charged), note)


def settle(campaign):
    """Refund what ``campaign`` is charged beyond the messages it sent or may still send. Idempotent, so it can run
    after every batch, at the end and on cancel; a finished campaign keeps only its sent and in-flight messages."""
    if not enabled():
        return None

    def excess(charged):
        campaign.refresh_from_db(fields=["status"])
        kept = [DeliveryStatus.SENT, DeliveryStatus.CLAIMED]
        if not campaign.is_finished:
            kept.append(DeliveryStatus.QUEUED)
        due = Delivery.objects.filter(campaign_id=campaign.pk, status__in=kept).count()
        return charged - due

    return _refund(campaign, excess, gettext("Messages not sent"))


def _refund(campaign, amount_for, note):
    with transaction.atomic():
        # Both locks held: two refunds of one campaign can't both give back the same credits.
        charged = _lock_campaign(campaign)
        acc = account(lock=True)
        amount = min(amount_for(charged), charged) if charged > 0 else 0
        campaign.credits_charged = charged
        if amount <= 0:
            return None
        entry = _record(acc, Kind.REFUND, amount, campaign=campaign, note=note)
        Campaign.objects.filter(pk=campaign.pk).update(credits_charged=charged - amount)
    campaign.credits_charged = charged - amount
    return entry


def ledger_summary(now=None):
    """Figures for the credits page: balance, its free/purchased split, the free level, next top-up date."""
    current = balance(now)
    level = free_level()
    free, purchased = split(current, level)
    month = _month(now)
    next_month = (month + datetime.timedelta(days=32)).replace(day=1)
    return {
        "enabled": enabled(),
        "balance": current,
        "free": free,
        "purchased": purchased,
        "free_level": level,
        "next_top_up": next_month,
    }
