"""The hourly quota shared by all workers: grants, the hour boundary, releases, and real concurrent callers."""

import datetime
import random

import pytest
from django.utils import timezone

from wagtail_newsletter.send import quotas
from wagtail_newsletter.send.models import QuotaWindow

from .threads import run_threads

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
T = datetime.datetime(2026, 3, 10, 14, 25, 7, tzinfo=UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def quota(settings):
    def set_quota(value):
        settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "HOURLY_QUOTA": value}

    return set_quota


def test_unlimited_grants_everything_without_a_query(quota, django_assert_num_queries):
    quota(None)
    with django_assert_num_queries(0):
        assert quotas.reserve(50_000, T) == (50_000, None)
        quotas.release(10, quotas.window_start(T))
    assert quotas.status(T) is None


def test_reserve_grants_up_to_the_quota_then_points_at_the_next_hour(quota):
    quota(100)
    assert quotas.reserve(60, T) == (60, None)
    assert quotas.reserve(60, T) == (40, datetime.datetime(2026, 3, 10, 15, tzinfo=UTC))  # partial grant
    assert quotas.reserve(1, T) == (0, datetime.datetime(2026, 3, 10, 15, tzinfo=UTC))
    assert quotas.used_this_hour(T) == 100
    assert quotas.status(T) == {
        "limit": 100,
        "used": 100,
        "remaining": 0,
        "resets_at": datetime.datetime(2026, 3, 10, 15, tzinfo=UTC),
    }
    assert QuotaWindow.objects.get().starts_at == datetime.datetime(2026, 3, 10, 14, tzinfo=UTC)


def test_nothing_or_a_negative_count_reserves_nothing(quota):
    quota(10)
    assert quotas.reserve(0, T) == (0, None)
    assert quotas.reserve(-3, T) == (0, None)
    assert not QuotaWindow.objects.exists()


def test_the_window_boundary(quota):
    quota(10)
    last_instant = datetime.datetime(2026, 3, 10, 14, 59, 59, 999999, tzinfo=UTC)
    assert quotas.reserve(10, last_instant) == (10, None)
    assert quotas.reserve(1, last_instant) == (0, datetime.datetime(2026, 3, 10, 15, tzinfo=UTC))
    next_hour = datetime.datetime(2026, 3, 10, 15, tzinfo=UTC)
    assert quotas.reserve(4, next_hour) == (4, None)  # a fresh hour has the whole quota again
    assert quotas.used_this_hour(last_instant) == 10
    assert quotas.used_this_hour(next_hour) == 4
    assert QuotaWindow.objects.count() == 2


def test_hours_are_clock_hours_whatever_the_time_zone(quota):
    quota(10)
    paris = datetime.timezone(datetime.timedelta(hours=1))
    same_hour = T.astimezone(paris).replace(minute=59)  # 15:59 in Paris = 14:59 UTC
    quotas.reserve(3, T)
    assert quotas.reserve(10, same_hour) == (7, T.replace(minute=0, second=0) + HOUR)


def test_release_gives_back_and_never_goes_below_zero(quota):
    quota(10)
    starts_at = quotas.window_start(T)
    quotas.reserve(10, T)
    quotas.release(4, starts_at)  # four messages of the batch were skipped
    assert quotas.used_this_hour(T) == 6
    assert quotas.reserve(10, T) == (4, starts_at + HOUR)
    quotas.release(50, starts_at)
    assert quotas.used_this_hour(T) == 0
    quotas.release(5, starts_at - HOUR)  # a window that never existed: nothing happens
    quotas.release(0, starts_at)
    quotas.release(5, None)
    assert QuotaWindow.objects.count() == 1


def test_lowering_the_quota_below_what_is_used_grants_nothing(quota):
    quota(100)
    quotas.reserve(80, T)
    quota(50)
    assert quotas.reserve(5, T) == (0, quotas.window_start(T) + HOUR)


def test_prune_deletes_old_windows_only(quota):
    quota(10)
    for days in (0, 3, 8, 30):
        quotas.reserve(1, T - datetime.timedelta(days=days))
    assert quotas.prune(older_than_days=7, now=T) == 2
    assert QuotaWindow.objects.count() == 2
    assert quotas.used_this_hour(T) == 1


def test_default_now_is_the_current_hour(quota):
    quota(5)
    assert quotas.reserve(2) == (2, None)
    assert quotas.used_this_hour() == 2
    assert QuotaWindow.objects.get().starts_at == quotas.window_start(timezone.now())


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_never_exceed_the_quota(quota):
    """Real threads, each with its own database connection, reserving small counts and releasing some: the total
    granted minus released never exceeds the quota, and the window's count matches what the callers hold."""
    limit, threads_count = 500, 8
    quota(limit)
    starts_at = quotas.window_start(T)
    held = []

    def worker(seed):
        rng = random.Random(seed)
        mine = 0
        for _ in range(60):
            granted, retry_at = quotas.reserve(rng.randint(1, 9), T)
            assert retry_at is None or retry_at == starts_at + HOUR
            giving_back = rng.randint(0, granted) if rng.random() < 0.2 else 0
            quotas.release(giving_back, starts_at)
            mine += granted - giving_back
        held.append(mine)

    run_threads(threads_count, worker)
    assert len(held) == threads_count
    used = QuotaWindow.objects.get(starts_at=starts_at).used
    assert sum(held) == used  # every grant and release accounted for, none lost to a race
    assert used <= limit
    assert used == limit  # 8 × 60 reservations of 1–9 messages ask for far more than the quota
    assert quotas.reserve(1, T)[0] == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_reservations_of_an_hour_create_one_window(quota):
    quota(1000)
    threads_count = 6
    granted = []
    run_threads(threads_count, lambda index: granted.append(quotas.reserve(7, T)[0]))
    assert granted == [7] * threads_count
    assert QuotaWindow.objects.get().used == 7 * threads_count
