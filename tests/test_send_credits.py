"""The credits ledger, with the rules of Infomaniak's FAQ: monthly top-up *to* the free level, no carry-over,
purchased credits never expire and are spent first, a send beyond the balance is refused before it starts."""

import datetime
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from django.urls import NoReverseMatch, include, path, reverse
from django.utils import translation
from example.urls import urlpatterns as site_urlpatterns
from openpyxl import load_workbook
from wagtail.admin.auth import require_admin_access
from wagtail.utils.urlpatterns import decorate_urlpatterns

from wagtail_newsletter.admin.send.credit_views import CreditsMenuItem, credits_viewset
from wagtail_newsletter.models import Subscriber
from wagtail_newsletter.send import credits
from wagtail_newsletter.send.models import Campaign, CampaignStatus, CreditAccount, CreditEntry, Delivery
from wagtail_newsletter.send.models import DeliveryStatus as DS

from .threads import run_threads

pytestmark = pytest.mark.django_db

Kind = CreditEntry.Kind
PARIS = datetime.timezone(datetime.timedelta(hours=1))
MARCH = datetime.datetime(2026, 3, 10, 12, tzinfo=PARIS)
APRIL = datetime.datetime(2026, 4, 1, 0, 5, tzinfo=PARIS)
MAY = datetime.datetime(2026, 5, 2, 9, tzinfo=PARIS)


@pytest.fixture
def enable(settings):
    def set_credits(enabled=True, level=3000):
        settings.WAGTAIL_NEWSLETTER = {
            **settings.WAGTAIL_NEWSLETTER,
            "CREDITS_ENABLED": enabled,
            "CREDITS_MONTHLY_ALLOWANCE": level,
        }

    set_credits()
    return set_credits


def set_balance(value, month=MARCH):
    CreditAccount.objects.update_or_create(
        pk=1, defaults={"balance": value, "topped_up_for": credits._month(month) if month else None}
    )


def campaign(name="March issue"):
    return Campaign.objects.create(name=name)


def entries():
    return list(CreditEntry.objects.order_by("id").values_list("kind", "amount", "balance"))


# --- The monthly top-up -------------------------------------------------------------------------------------------


def test_first_use_gives_this_months_free_credits(enable):
    assert credits.monthly_top_up(MARCH) == 3000
    assert credits.balance(MARCH) == 3000
    assert entries() == [(Kind.MONTHLY, 3000, 3000)]
    assert CreditEntry.objects.get().note == "Free credits of March 2026"


def test_a_balance_below_the_level_is_topped_up_to_it(enable):
    set_balance(1500)
    assert credits.monthly_top_up(APRIL) == 1500  # the FAQ: level 3000, balance 1500 -> +1500
    assert credits.balance(APRIL) == 3000
    assert entries() == [(Kind.MONTHLY, 1500, 3000)]


def test_a_balance_above_the_level_gets_nothing(enable):
    set_balance(10_000)
    assert credits.monthly_top_up(APRIL) == 0  # the FAQ: balance 10000 -> nothing
    assert credits.balance(APRIL) == 10_000
    assert entries() == []
    assert CreditAccount.objects.get().topped_up_for == datetime.date(2026, 4, 1)


def test_the_top_up_happens_once_a_month(enable):
    set_balance(0)
    assert credits.monthly_top_up(APRIL) == 3000
    credits.charge(campaign(), 1000, now=APRIL)
    assert credits.monthly_top_up(APRIL + datetime.timedelta(days=20)) == 0  # same month: no second top-up
    assert credits.monthly_top_up(MARCH) == 0  # never backwards
    assert credits.balance(APRIL) == 2000
    assert credits.monthly_top_up(MAY) == 1000
    assert credits.balance(MAY) == 3000


def test_unused_free_credits_are_not_carried_over(enable):
    set_balance(0, month=None)
    for month in range(1, 13):
        credits.monthly_top_up(datetime.datetime(2026, month, 15, tzinfo=PARIS))
    assert credits.balance(MAY) == 3000  # twelve months of free credits, nobody sending: still the level
    assert [amount for _kind, amount, _balance in entries()] == [3000]


def test_the_month_follows_the_sites_time_zone(enable):
    set_balance(0, month=datetime.datetime(2026, 3, 5, tzinfo=PARIS))
    # 23:30 UTC on 31 March is already 1 April in Paris (TIME_ZONE of the test site).
    assert credits.monthly_top_up(datetime.datetime(2026, 3, 31, 23, 30, tzinfo=datetime.UTC)) == 3000


def test_reading_the_balance_applies_a_pending_top_up(enable):
    set_balance(200)
    assert credits.balance(APRIL) == 3000  # the schedule has not run yet at 00:05 on the 1st


# --- Purchases, splits, charges -----------------------------------------------------------------------------------


def test_purchased_credits_never_expire_and_are_spent_first(enable):
    set_balance(3000)
    credits.purchase(5000, note="Order 42")
    assert credits.split(credits.balance(MARCH), 3000) == (3000, 5000)
    credits.charge(campaign(), 6000, now=MARCH)  # 5000 purchased, then 1000 free
    assert credits.split(credits.balance(MARCH), 3000) == (2000, 0)
    set_balance(8000)
    assert credits.monthly_top_up(APRIL) == 0 and credits.balance(APRIL) == 8000  # purchased ones stay


def test_split():
    assert credits.split(10_000, 3000) == (3000, 7000)
    assert credits.split(1500, 3000) == (1500, 0)
    assert credits.split(3000, 3000) == (3000, 0)
    assert credits.split(500, 0) == (0, 500)
    assert credits.split(0, 3000) == (0, 0)


def test_charge_takes_credits_and_records_the_campaign(enable, admin_user):
    set_balance(3000)
    march = campaign()
    entry = credits.charge(march, 1200, actor=admin_user, now=MARCH)
    assert (entry.kind, entry.amount, entry.balance, entry.campaign, entry.actor) == (
        Kind.CHARGE,
        -1200,
        1800,
        march,
        admin_user,
    )
    assert march.credits_charged == 1200
    march.refresh_from_db()
    assert march.credits_charged == 1200
    assert credits.balance(MARCH) == 1800


def test_a_send_beyond_the_balance_is_refused_and_changes_nothing(enable):
    set_balance(2500)
    march = campaign()
    with pytest.raises(credits.InsufficientCredits) as refused:
        credits.charge(march, 20_000, now=MARCH)
    assert str(refused.value) == "This send needs 20,000 credits; the balance is 2,500."
    assert (refused.value.needed, refused.value.balance) == (20_000, 2500)
    assert isinstance(refused.value, credits.CreditsError)
    assert credits.balance(MARCH) == 2500
    assert entries() == []
    march.refresh_from_db()
    assert march.credits_charged == 0
    assert credits.check(20_000, MARCH) == "This send needs 20,000 credits; the balance is 2,500."
    assert credits.check(2500, MARCH) is None
    assert credits.charge(march, 2500, now=MARCH).balance == 0  # exactly the balance is fine


def test_a_refused_charge_rolls_back_the_callers_transaction(enable):
    set_balance(10)
    march = campaign()
    with pytest.raises(credits.InsufficientCredits), transaction.atomic():
        Campaign.objects.filter(pk=march.pk).update(status=CampaignStatus.SENDING)
        credits.charge(march, 11, now=MARCH)
    march.refresh_from_db()
    assert march.status == CampaignStatus.DRAFT


def test_the_refusal_is_translated(enable):
    set_balance(1)
    with translation.override("fr"), pytest.raises(credits.InsufficientCredits) as refused:
        credits.charge(campaign(), 2, now=MARCH)
    assert refused.value.message  # the French catalogue is filled in by the translators later
    assert "2" in refused.value.message and "1" in refused.value.message


def test_bad_amounts_are_refused(enable):
    set_balance(100)
    for bad in (0, -5, 2.5, "10", True):
        with pytest.raises(ValueError):
            credits.purchase(bad)
    with pytest.raises(ValueError):
        credits.charge(campaign(), -1, now=MARCH)
    with pytest.raises(ValueError):
        credits.adjust(0)
    with pytest.raises(credits.CreditsError, match="The balance is 100; it can't be lowered by 101."):
        credits.adjust(-101)
    assert credits.balance(MARCH) == 100 and entries() == []
    assert credits.adjust(-100, note="Typo in an order").balance == 0


# --- Refunds ------------------------------------------------------------------------------------------------------


def test_refunds_never_exceed_what_the_campaign_was_charged(enable):
    set_balance(3000)
    march, other = campaign(), campaign("Other")
    credits.charge(march, 1000, now=MARCH)
    credits.charge(other, 500, now=MARCH)
    assert credits.refund(march, 300, note="cancelled").amount == 300
    assert march.credits_charged == 700
    assert credits.refund(march, 5000).amount == 700  # capped
    assert credits.refund(march, 1) is None
    assert credits.refund(march, 0) is None
    march.refresh_from_db()
    assert march.credits_charged == 0
    assert credits.balance(MARCH) == 2500  # the other campaign's charge stands
    assert entries()[-2:] == [(Kind.REFUND, 300, 1800), (Kind.REFUND, 700, 2500)]


def test_settle_refunds_messages_that_were_not_sent(enable):
    set_balance(3000)
    march = campaign()
    statuses = [DS.SENT] * 5 + [DS.FAILED, DS.SKIPPED] + [DS.QUEUED] * 2 + [DS.CLAIMED]
    for number, status in enumerate(statuses):
        subscriber = Subscriber.objects.create(email=f"s{number}@example.org")
        Delivery.objects.create(campaign=march, subscriber=subscriber, status=status)
    credits.charge(march, len(statuses), now=MARCH)
    assert credits.settle(march).amount == 2  # failed and skipped
    assert credits.settle(march) is None  # idempotent
    Campaign.objects.filter(pk=march.pk).update(status=CampaignStatus.CANCELLED)
    assert credits.settle(march).amount == 2  # the queued ones will never go out
    assert credits.settle(march) is None
    assert march.credits_charged == 6  # five sent, one in flight
    assert credits.balance(MARCH) == 3000 - 6


# --- Credits off --------------------------------------------------------------------------------------------------


def test_with_credits_off_nothing_is_charged_but_an_admin_can_prepare(enable, admin_user):
    enable(False)
    march = campaign()
    assert credits.monthly_top_up(MARCH) == 0
    assert credits.charge(march, 1_000_000, now=MARCH) is None
    assert credits.check(1_000_000, MARCH) is None
    assert credits.refund(march, 10) is None and credits.settle(march) is None
    assert march.credits_charged == 0
    credits.purchase(700, actor=admin_user)
    credits.adjust(-200)
    assert credits.balance(MARCH) == 500
    assert entries() == [(Kind.PURCHASE, 700, 700), (Kind.ADJUSTMENT, -200, 500)]
    enable(True)
    assert credits.balance(MARCH) == 3000  # switching on gives this month's free credits


# --- Concurrency --------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_charges_never_overspend(enable):
    set_balance(1000)
    campaigns = [campaign(f"c{index}") for index in range(8)]
    results = {index: [0, 0] for index in range(8)}  # charged, refused

    def charge_many(index):
        for _ in range(40):
            try:
                credits.charge(campaigns[index], 7, now=MARCH)
                results[index][0] += 7
            except credits.InsufficientCredits:
                results[index][1] += 1

    run_threads(8, charge_many)
    charged = sum(ok for ok, _refused in results.values())
    assert charged == 7 * (1000 // 7)  # 142 charges fit; every other one was refused
    assert credits.balance(MARCH) == 1000 - charged
    # The ledger is a chain: each entry's balance follows from the one before it.
    balance = 1000
    for _kind, amount, after in entries():
        balance += amount
        assert after == balance
    for index, item in enumerate(campaigns):
        item.refresh_from_db()
        assert item.credits_charged == results[index][0]


@pytest.mark.django_db(transaction=True)
def test_concurrent_refunds_of_one_campaign_never_exceed_its_charge(enable):
    set_balance(1000)
    march = campaign()
    credits.charge(march, 100, now=MARCH)
    run_threads(6, lambda index: [credits.refund(Campaign.objects.get(pk=march.pk), 9) for _ in range(5)])
    march.refresh_from_db()
    assert march.credits_charged == 0
    assert credits.balance(MARCH) == 1000
    assert sum(amount for kind, amount, _balance in entries() if kind == Kind.REFUND) == 100


@pytest.mark.django_db(transaction=True)
def test_refunds_inside_and_outside_a_campaign_lock_do_not_deadlock(enable):
    """The lifecycle refunds while holding the campaign's row; settle() refunds without it. Locks are always taken
    campaign first, then account, so mixing both never deadlocks (PostgreSQL would abort one of them)."""
    set_balance(1000)
    march = campaign()
    credits.charge(march, 400, now=MARCH)

    def refund_some(index):
        for _ in range(10):
            if index % 2:
                with transaction.atomic():
                    locked = Campaign.objects.select_for_update().get(pk=march.pk)
                    Campaign.objects.filter(pk=march.pk).update(status_note=f"t{index}")
                    credits.refund(locked, 1)
            else:
                credits.refund(Campaign.objects.get(pk=march.pk), 1)

    run_threads(8, refund_some)
    march.refresh_from_db()
    assert march.credits_charged == 400 - 80
    assert credits.balance(MARCH) == 1000 - 400 + 80


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_top_ups_give_the_free_credits_once(enable):
    run_threads(6, lambda index: credits.monthly_top_up(MARCH))
    assert credits.balance(MARCH) == 3000
    assert entries() == [(Kind.MONTHLY, 3000, 3000)]


# --- The admin page -----------------------------------------------------------------------------------------------


def _urlpatterns():
    """The example site's URLs, plus the credits page if the admin hooks don't register it (yet)."""
    try:
        reverse("newsletter_credits:index", urlconf="example.urls")
        return site_urlpatterns
    except NoReverseMatch:
        # Wrapped like every admin URL registered through Wagtail's hooks.
        patterns = decorate_urlpatterns(credits_viewset.get_urlpatterns(), require_admin_access)
        mine = include((patterns, credits_viewset.url_namespace))
        return [path("admin/newsletter/credits/", mine), *site_urlpatterns]


urlpatterns = _urlpatterns()


@pytest.fixture
def page(settings, enable):
    settings.ROOT_URLCONF = __name__
    return reverse("newsletter_credits:index")


@pytest.fixture
def make_user(django_user_model):
    def make(*codenames):
        user = django_user_model.objects.create_user(username="-".join(codenames) or "nobody", password="x")
        user.user_permissions.add(*Permission.objects.filter(codename__in=["access_admin", *codenames]))
        return django_user_model.objects.get(pk=user.pk)  # no stale permission cache

    return make


def test_the_page_shows_balance_split_level_quota_and_ledger(admin_client, page, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "HOURLY_QUOTA": 2000}
    assert credits.balance() == 3000  # this month's free credits
    credits.purchase(7000, note="Order 42")
    credits.charge(campaign("Spring sale"), 1500)
    html = admin_client.get(page).content.decode()
    assert 'data-figure="balance"><strong>8,500</strong>' in html
    assert 'data-figure="purchased">5,500<' in html and 'data-figure="free">3,000<' in html
    assert 'data-figure="level">3,000<' in html
    assert "0 of 2,000" in html
    for text in ("Order 42", "Spring sale", "+7,000", "-1,500", "Monthly free credits"):
        assert text in html
    assert "data-credits-purchase" in html  # a superuser may record purchases


def test_the_page_and_its_menu_item_need_credits_on_and_a_permission(client, admin_client, page, enable, make_user):
    request = type("Request", (), {})()
    item = CreditsMenuItem("Credits", page)
    request.user = make_user()
    assert not item.is_shown(request)
    client.force_login(request.user)
    refused = client.get(page)
    assert refused.status_code == 302 and refused.url == reverse("wagtailadmin_home")  # Wagtail's "permission denied"
    request.user = make_user("view_creditentry")
    assert item.is_shown(request)
    client.force_login(request.user)
    html = client.get(page).content.decode()
    assert "data-credits-summary" in html and "data-credits-purchase" not in html
    assert client.post(page, {"amount": 100}).url == reverse("wagtailadmin_home")
    assert not CreditEntry.objects.filter(kind=Kind.PURCHASE).exists()
    enable(False)
    assert not item.is_shown(request)
    assert admin_client.get(page).status_code == 404
    enable(True)
    client.logout()
    assert "login" in client.get(page).url


def test_recording_a_purchase(client, page, make_user):
    buyer = make_user("add_creditentry")
    credits.balance()
    client.force_login(buyer)
    response = client.post(page, {"amount": "2500", "note": "Invoice 7"})
    assert response.status_code == 302 and response.url == page
    entry = CreditEntry.objects.get(kind=Kind.PURCHASE)
    assert (entry.amount, entry.balance, entry.note, entry.actor) == (2500, 3000 + 2500, "Invoice 7", buyer)
    html = client.get(page).content.decode()
    assert "2,500 credits added; the balance is now 5,500." in html


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "", "2.5"])
def test_an_invalid_purchase_shows_an_error_and_writes_nothing(admin_client, page, amount):
    credits.balance()
    before = entries()
    response = admin_client.post(page, {"amount": amount})
    assert response.status_code == 200
    assert response.context["purchase_form"].errors["amount"]
    assert "error-message" in response.content.decode()
    assert entries() == before


def test_ledger_filters_and_exports(admin_client, page):
    credits.balance()
    credits.purchase(40, note="Order 1")
    credits.charge(campaign("Autumn"), 30)
    results = admin_client.get(reverse("newsletter_credits:index_results"), {"kind": "purchase"}).content.decode()
    assert "Order 1" in results and "Autumn" not in results

    response = admin_client.get(page, {"export": "csv"})
    csv_text = b"".join(response.streaming_content).decode()
    lines = csv_text.strip().splitlines()
    assert lines[0] == "Date,Kind,Credits,Balance after,Campaign,Note,By"
    assert ",Campaign,-30,3010,Autumn," in lines[1]  # newest first
    assert ",Purchase,40,3040,,Order 1," in lines[2]
    assert ",Monthly free credits,3000,3000,," in lines[3]

    response = admin_client.get(page, {"export": "xlsx", "kind": "charge"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [row[1:5] for row in sheet.iter_rows(values_only=True)]
    assert rows == [("Kind", "Credits", "Balance after", "Campaign"), ("Campaign", -30, 3010, "Autumn")]
