"""Page digests: schedules in Europe/Paris across daylight-saving changes, the tick (new pages → an issue, nothing new →
skipped, idempotent, also from two threads at once), the issue's teasers and its audience, bad schedules refused."""

import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from wagtail.models import PageViewRestriction

from wagtail_newsletter.audience.models import Group, Status, Subscriber
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.growth.digest_runs import run_due_digests, waiting_for_review
from wagtail_newsletter.growth.digest_schedule import (
    DigestSchedule,
    ScheduleError,
    latest_occurrence,
    next_occurrence,
)
from wagtail_newsletter.growth.digests import Digest, DigestRun, RunOutcome
from wagtail_newsletter.growth.segments import Segment, segment_ids
from wagtail_newsletter.send.models import CampaignStatus

from .digest_fixtures import PARIS, add_page, add_readers, make_digest

UTC = datetime.UTC


def utc(*args):
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _paris(settings):
    settings.TIME_ZONE = "Europe/Paris"


# --- Schedules ---------------------------------------------------------------------------------------------------

MONDAY_8 = dict(frequency="weekly", weekday=0, hour=8, minute=0)


def test_monday_8_am_stays_8_am_when_summer_time_starts():
    """2027-03-28: clocks go from 2:00 to 3:00. Monday 8:00 is 07:00 UTC before, 06:00 UTC after."""
    schedule = DigestSchedule(**MONDAY_8)
    assert latest_occurrence(schedule, utc(2027, 3, 29, 5, 59)) == utc(2027, 3, 22, 7, 0)
    assert latest_occurrence(schedule, utc(2027, 3, 29, 6, 0)) == utc(2027, 3, 29, 6, 0)
    after = next_occurrence(schedule, utc(2027, 3, 22, 7, 0))
    assert after == utc(2027, 3, 29, 6, 0)
    assert after.astimezone(ZoneInfo("Europe/Paris")).hour == 8
    assert after - utc(2027, 3, 22, 7, 0) == datetime.timedelta(days=6, hours=23)


def test_monday_8_am_stays_8_am_when_summer_time_ends():
    """2027-10-31: clocks go from 3:00 back to 2:00. Monday 8:00 is 06:00 UTC before, 07:00 UTC after."""
    schedule = DigestSchedule(**MONDAY_8)
    assert next_occurrence(schedule, utc(2027, 10, 25, 6, 0)) == utc(2027, 11, 1, 7, 0)
    assert latest_occurrence(schedule, utc(2027, 11, 1, 6, 30)) == utc(2027, 10, 25, 6, 0)
    assert latest_occurrence(schedule, utc(2027, 11, 1, 7, 0)) == utc(2027, 11, 1, 7, 0)


def test_times_skipped_or_repeated_by_the_change():
    """2:30 does not exist on 2027-03-28 (it is 3:30 then) and happens twice on 2027-10-31 (the first one counts)."""
    schedule = DigestSchedule(frequency="daily", hour=2, minute=30)
    assert next_occurrence(schedule, utc(2027, 3, 27, 12, 0)) == utc(2027, 3, 28, 1, 30)  # 3:30 CEST
    assert next_occurrence(schedule, utc(2027, 3, 28, 1, 30)) == utc(2027, 3, 29, 0, 30)  # 2:30 CEST
    assert next_occurrence(schedule, utc(2027, 10, 30, 12, 0)) == utc(2027, 10, 31, 0, 30)  # 2:30 CEST, the first
    assert next_occurrence(schedule, utc(2027, 10, 31, 0, 30)) == utc(2027, 11, 1, 1, 30)  # 2:30 CET
    assert latest_occurrence(schedule, utc(2027, 10, 31, 1, 45)) == utc(2027, 10, 31, 0, 30)


def test_daily_and_monthly_occurrences():
    daily = DigestSchedule(frequency="daily", hour=7, minute=30)
    assert next_occurrence(daily, utc(2027, 3, 27, 6, 30)) == utc(2027, 3, 28, 5, 30)
    monthly = DigestSchedule(frequency="monthly", day_of_month=28, hour=9)
    assert latest_occurrence(monthly, utc(2027, 3, 1, 0, 0)) == utc(2027, 2, 28, 8, 0)
    assert next_occurrence(monthly, utc(2027, 2, 28, 8, 0)) == utc(2027, 3, 28, 7, 0)  # summer time that day
    assert next_occurrence(monthly, utc(2027, 12, 28, 8, 0)) == utc(2028, 1, 28, 8, 0)


@pytest.mark.parametrize(
    "fields, bad",
    [
        ({"hour": 24}, "hour"),
        ({"hour": -1}, "hour"),
        ({"minute": 60}, "minute"),
        ({"weekday": 7}, "weekday"),
        ({"day_of_month": 29}, "day_of_month"),
        ({"day_of_month": 0}, "day_of_month"),
        ({"frequency": "hourly"}, "frequency"),
    ],
)
def test_schedule_fields_out_of_range_are_refused(fields, bad):
    with pytest.raises(ScheduleError) as error:
        DigestSchedule(**{**MONDAY_8, "day_of_month": 1, **fields})
    assert set(error.value.errors) == {bad}


@pytest.mark.django_db
def test_a_digest_with_a_bad_schedule_does_not_validate_nor_run(archive):
    digest = make_digest(archive)
    digest.hour, digest.day_of_month = 25, 31
    with pytest.raises(ValidationError) as error:
        digest.full_clean()
    assert {"hour", "day_of_month"} <= set(error.value.message_dict)
    digest.save()  # bad data written behind the form's back: the tick leaves it alone
    assert run_due_digests(utc(2027, 3, 29, 9, 0)) == []
    assert not DigestRun.objects.exists()


# --- The tick ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_new_pages_make_an_issue_then_a_week_with_nothing_new_is_skipped(archive):
    add_readers(3)
    make_digest(archive)
    old = add_page("Old news", datetime.datetime(2027, 2, 20, tzinfo=PARIS))
    first = add_page("Tulips are out", datetime.datetime(2027, 3, 2, 10, 0, tzinfo=PARIS))
    second = add_page("Pruning roses", datetime.datetime(2027, 3, 5, 18, 0, tzinfo=PARIS))

    assert run_due_digests(utc(2027, 3, 8, 6, 59)) == []  # Monday 7:59 in Paris: not yet
    [run] = run_due_digests(utc(2027, 3, 8, 7, 0))
    assert (run.period_start, run.period_end) == (utc(2027, 3, 1, 7, 0), utc(2027, 3, 8, 7, 0))
    assert run.outcome == RunOutcome.SENT, run.note
    assert run.page_ids == [first.pk, second.pk] and old.pk not in run.page_ids
    assert run.campaign.status == CampaignStatus.SENDING and run.campaign.recipient_count == 3
    issue = NewsletterPage.objects.get(pk=run.newsletter_id)
    assert issue.live and issue.get_parent().pk == archive.pk
    teasers = [block.value for block in issue.body if block.block_type == "article_teaser"]
    assert [teaser["page"].pk for teaser in teasers] == [first.pk, second.pk]
    assert teasers[0]["summary"] == "About Tulips are out."
    assert [block.block_type for block in issue.body][-1] == "footer"  # teasers before the template's footer
    assert Digest.objects.get().published_since == utc(2027, 3, 8, 7, 0)

    [skipped] = run_due_digests(utc(2027, 3, 15, 7, 0))
    assert skipped.outcome == RunOutcome.SKIPPED and skipped.page_count == 0
    assert skipped.newsletter is None and skipped.campaign is None
    assert NewsletterPage.objects.filter(pk__gt=issue.pk).count() == 0


@pytest.mark.django_db
def test_the_tick_is_idempotent_and_catches_up_missed_weeks_in_one_issue(archive):
    add_readers(1)
    make_digest(archive)
    add_page("A", datetime.datetime(2027, 3, 3, tzinfo=PARIS))
    add_page("B", datetime.datetime(2027, 3, 20, tzinfo=PARIS))
    now = utc(2027, 3, 29, 9, 0)  # three Mondays have gone by since March 1
    [run] = run_due_digests(now)
    assert (run.period_start, run.period_end, run.page_count) == (utc(2027, 3, 1, 7, 0), utc(2027, 3, 29, 6, 0), 2)
    assert run_due_digests(now) == []
    assert run_due_digests(utc(2027, 4, 4, 23, 0)) == []  # still the same period
    assert DigestRun.objects.count() == 1 and NewsletterPage.objects.count() == 1


@pytest.mark.django_db
def test_only_new_public_pages_below_the_parents_of_the_chosen_types(archive):
    add_readers(1)
    digest = make_digest(archive)
    section = add_page("Section", datetime.datetime(2027, 2, 1, tzinfo=PARIS))
    nested = add_page("Deep page", datetime.datetime(2027, 3, 2, tzinfo=PARIS), parent=section)
    digest.parent_pages.update(page=section)
    add_page("Elsewhere", datetime.datetime(2027, 3, 2, tzinfo=PARIS))  # not below the section
    private = add_page("Members only", datetime.datetime(2027, 3, 2, tzinfo=PARIS), parent=section)
    PageViewRestriction.objects.create(page=private, restriction_type=PageViewRestriction.LOGIN)
    [run] = run_due_digests(utc(2027, 3, 8, 7, 0))
    assert run.page_ids == [nested.pk]


@pytest.mark.django_db
def test_a_reviewed_digest_leaves_a_draft_and_says_it_waits(archive):
    add_readers(2)
    make_digest(archive, review=True)
    add_page("Tulips are out", datetime.datetime(2027, 3, 2, tzinfo=PARIS))
    [run] = run_due_digests(utc(2027, 3, 8, 7, 0))
    assert run.outcome == RunOutcome.REVIEW
    issue = NewsletterPage.objects.get(pk=run.newsletter_id)
    assert not issue.live and issue.has_unpublished_changes
    assert run.campaign.status == CampaignStatus.DRAFT and not run.campaign.all_subscribers
    assert [group.name for group in run.campaign.include_groups.all()] == ["Readers"]
    assert list(waiting_for_review()) == [run]
    run.campaign.status = CampaignStatus.SENDING
    run.campaign.save()
    assert list(waiting_for_review()) == []


@pytest.mark.django_db
def test_an_issue_that_cannot_be_sent_is_recorded_with_the_reason(archive):
    make_digest(archive)  # nobody in the group
    add_page("Tulips are out", datetime.datetime(2027, 3, 2, tzinfo=PARIS))
    [run] = run_due_digests(utc(2027, 3, 8, 7, 0))
    assert run.outcome == RunOutcome.FAILED
    assert "No subscriber" in run.note
    assert run.campaign.status == CampaignStatus.DRAFT  # the editor can fix the audience and send it


@pytest.mark.django_db(transaction=True)
def test_two_ticks_at_once_make_one_issue(archive):
    """Two threads (two clusters' ticks) run the same due period at the same moment: one run, one page."""
    add_readers(1)
    make_digest(archive, review=True)
    add_page("Tulips are out", datetime.datetime(2027, 3, 2, tzinfo=PARIS))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def tick():
        try:
            barrier.wait()
            results.append(len(run_due_digests(utc(2027, 3, 8, 7, 0))))
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(results) == [0, 1]
    assert DigestRun.objects.count() == 1
    assert NewsletterPage.objects.filter(title__startswith="Weekly pages").count() == 1


@pytest.mark.django_db
def test_a_digest_to_a_segment_minus_a_group(archive):
    """The audience as a campaign's: a segment (empty conditions: everyone) without the group 'Readers'."""
    add_readers(2)
    Subscriber.objects.create(email="other@example.net", status=Status.SUBSCRIBED)
    everyone = Segment.objects.create(name="Everyone")
    digest = make_digest(archive)
    digest.include_groups.set([])
    digest.include_segments.set([everyone])
    digest.exclude_groups.set([Group.objects.get(name="Readers")])
    digest.save()
    add_page("Tulips are out", datetime.datetime(2027, 3, 2, tzinfo=PARIS))
    [run] = run_due_digests(utc(2027, 3, 8, 7, 0))
    assert run.outcome == RunOutcome.SENT, run.note
    assert segment_ids(run.campaign) == ([everyone.pk], [])
    assert run.campaign.recipient_count == 1
