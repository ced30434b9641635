"""Automations (growth/automations): the tick moves people through their steps exactly once, set-based; enrolment is
unique per trigger occurrence; people leave when they unsubscribe, bounce, complain or pause; bad input changes
nothing. Time travels through ``tick(now=…)`` and the automations' clock, never sleeps."""

import datetime

import pytest
from django.utils import timezone

from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.models import Group, Status, Subscriber
from wagtail_newsletter.growth.automations import clock
from wagtail_newsletter.growth.automations.enrol import AutomationError, start_automation
from wagtail_newsletter.growth.automations.models import (
    AutomationStep,
    Enrolment,
    EnrolmentStatus,
    StepCampaign,
    StepKind,
    Trigger,
)
from wagtail_newsletter.growth.automations.steps import next_weekday_hour
from wagtail_newsletter.growth.automations.tick import tick
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery

from .automation_fixtures import T0, make_series, people, recipients_of_step, step_campaign_ids

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


def test_a_series_sends_each_mail_at_its_time_and_once(archive):
    series = make_series(archive)
    ann, bob = people(2)
    with clock.travel(T0):
        assert start_automation(series, [ann, bob]) == 2
    tick(now=T0)
    assert recipients_of_step(series, 1) == {ann.email, bob.email}
    assert not recipients_of_step(series, 3)
    tick(now=T0 + DAY)
    tick(now=T0 + 2 * DAY - datetime.timedelta(minutes=1))
    assert not recipients_of_step(series, 3)
    tick(now=T0 + 2 * DAY)
    assert recipients_of_step(series, 3) == {ann.email, bob.email}
    tick(now=T0 + 5 * DAY)
    tick(now=T0 + 5 * DAY)  # a second tick at the same moment does nothing more
    assert recipients_of_step(series, 5) == {ann.email, bob.email}
    assert Delivery.objects.filter(subscriber=ann).count() == 3
    assert set(Enrolment.objects.values_list("status", flat=True)) == {EnrolmentStatus.DONE}
    counts = dict(AutomationStep.objects.filter(automation=series).values_list("sort_order", "passed_count"))
    assert counts == {0: 2, 1: 2, 2: 2, 3: 2, 4: 2}
    # One campaign per send step, sending: the engine sends its deliveries.
    campaigns = Campaign.objects.filter(pk__in=sum(step_campaign_ids(series).values(), []))
    assert campaigns.count() == 3
    assert {c.status for c in campaigns} == {CampaignStatus.SENDING}
    assert campaigns.get(name__endswith="step 1").recipient_count == 2


@pytest.mark.parametrize("status", [Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED])
def test_people_leave_when_they_may_no_longer_be_mailed(archive, status):
    series = make_series(archive)
    ann, bob = people(2)
    start_automation(series, [ann, bob], now=T0)
    tick(now=T0)
    Subscriber.objects.filter(pk=bob.pk).update(status=status)
    tick(now=T0 + 2 * DAY)
    assert recipients_of_step(series, 3) == {ann.email}
    left = Enrolment.objects.get(subscriber=bob)
    assert (left.status, left.left_reason, left.position) == (EnrolmentStatus.LEFT, status, 2)


def test_a_pause_makes_them_leave(archive):
    series = make_series(archive)
    (ann,) = people(1)
    start_automation(series, [ann], now=T0)
    Subscriber.objects.filter(pk=ann.pk).update(paused_until=T0 + 30 * DAY)
    tick(now=T0)
    assert not Delivery.objects.exists()
    assert Enrolment.objects.get().left_reason == "paused"


def test_enrolment_is_unique_per_occurrence(archive):
    series = make_series(archive)
    ann, bob = people(2)
    assert start_automation(series, [ann], occurrence="order-1", now=T0) == 1
    assert start_automation(series, [ann, bob], occurrence="order-1", now=T0) == 1  # only bob is new
    assert start_automation(series, [ann], occurrence="order-2", now=T0) == 0  # still going through it
    tick(now=T0 + 10 * DAY)
    assert Enrolment.objects.filter(status=EnrolmentStatus.DONE).count() == 2
    # Done: a new occurrence lets ann in again, in round 2, with new campaigns (a delivery is unique per campaign).
    assert start_automation(series, [ann], occurrence="order-2", now=T0 + 10 * DAY) == 1
    tick(now=T0 + 20 * DAY)
    assert Delivery.objects.filter(subscriber=ann).count() == 6
    assert StepCampaign.objects.filter(round=2).count() == 3


def test_pending_and_deleted_people_do_not_enter(archive):
    series = make_series(archive)
    ann, bob, cid = people(3)
    Subscriber.objects.filter(pk=bob.pk).update(status=Status.PENDING)
    services.delete_subscribers([cid.pk])
    assert start_automation(series, [ann.pk, bob.pk, cid.pk], now=T0) == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda series, ann: start_automation(series.pk + 1000, [ann]), "no automation"),
        (lambda series, ann: start_automation(series, ["ann@example.net"]), "Give subscribers"),
        (lambda series, ann: start_automation(series, [ann], occurrence=""), "1 to 64"),
        (lambda series, ann: start_automation("1", [ann]), "Give an automation"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(archive, call, message):
    series = make_series(archive)
    (ann,) = people(1)
    with pytest.raises(AutomationError, match=message):
        call(series, ann)
    assert not Enrolment.objects.exists()


def test_an_inactive_automation_lets_nobody_in_and_moves_nobody(archive):
    series = make_series(archive)
    (ann,) = people(1)
    start_automation(series, [ann], now=T0)
    series.active = False
    series.save()
    with pytest.raises(AutomationError, match="not active"):
        start_automation(series, [ann], occurrence="again")
    tick(now=T0 + 10 * DAY)
    assert not Delivery.objects.exists()


def test_joining_a_group_starts_an_automation(archive):
    group = Group.objects.create(name="Gardeners")
    series = make_series(archive, trigger=Trigger.JOINED_GROUP, group=group)
    ann, bob = people(2)
    services.add_to_group([ann.pk, bob.pk], group)
    services.add_to_group([ann.pk], group)  # already in: no new occurrence
    assert set(Enrolment.objects.values_list("subscriber_id", flat=True)) == {ann.pk, bob.pk}
    assert Enrolment.objects.count() == 2
    assert Enrolment.objects.filter(automation=series).count() == 2


def test_a_step_that_cannot_send_waits_and_says_why(archive):
    series = make_series(archive)
    AutomationStep.objects.filter(automation=series, sort_order=0).update(page=None)
    (ann,) = people(1)
    start_automation(series, [ann], now=T0)
    tick(now=T0)
    series.refresh_from_db()
    assert "has no newsletter" in series.status_note
    assert Enrolment.objects.get().position == 0
    assert not Campaign.objects.exists()


def test_group_steps_and_stop(archive):
    group = Group.objects.create(name="Welcomed")
    series = make_series(archive)
    AutomationStep.objects.filter(automation=series, sort_order=1).update(kind=StepKind.ADD_TO_GROUP, group=group)
    AutomationStep.objects.filter(automation=series, sort_order=3).update(kind=StepKind.STOP)
    (ann,) = people(1)
    start_automation(series, [ann], now=T0)
    tick(now=T0)
    assert group.memberships.filter(subscriber=ann).exists()
    assert recipients_of_step(series, 3) == {ann.email}
    assert not recipients_of_step(series, 5)
    assert Enrolment.objects.get().status == EnrolmentStatus.DONE


def test_a_send_step_sends_the_published_version_not_a_later_draft(archive):
    series = make_series(archive)
    page = series.steps.get(sort_order=0).page.specific
    page.subject = "Draft subject"
    page.save_revision()
    (ann,) = people(1)
    start_automation(series, [ann], now=T0)
    tick(now=T0)
    assert Campaign.objects.get(name__endswith="step 1").subject == "Welcome mail 1"


def test_wait_until_a_weekday_and_hour_in_the_site_time_zone(archive, settings):
    """Summer time starts in Paris on Sunday 28 March 2027: Monday 8:00 is then 06:00 UTC, Saturday 8:00 07:00 UTC."""
    settings.TIME_ZONE = "Europe/Paris"
    timezone.deactivate()
    friday = datetime.datetime(2027, 3, 26, 10, 0, tzinfo=datetime.UTC)
    assert next_weekday_hour(friday, 0, 8) == datetime.datetime(2027, 3, 29, 6, 0, tzinfo=datetime.UTC)
    assert next_weekday_hour(friday, None, 8) == datetime.datetime(2027, 3, 27, 7, 0, tzinfo=datetime.UTC)
    early = datetime.datetime(2027, 3, 26, 6, 0, tzinfo=datetime.UTC)
    assert next_weekday_hour(early, 4, 8) == datetime.datetime(2027, 3, 26, 7, 0, tzinfo=datetime.UTC)
    series = make_series(archive)
    AutomationStep.objects.filter(automation=series, sort_order=1).update(kind=StepKind.WAIT_UNTIL, weekday=0, hour=8)
    (ann,) = people(1)
    start_automation(series, [ann], now=friday)
    tick(now=friday)
    tick(now=datetime.datetime(2027, 3, 29, 5, 59, tzinfo=datetime.UTC))
    assert not recipients_of_step(series, 3)
    tick(now=datetime.datetime(2027, 3, 29, 6, 0, tzinfo=datetime.UTC))
    assert recipients_of_step(series, 3) == {ann.email}


def test_the_figures_show_people_waiting_at_the_wait_step_until_their_time_is_over(archive):
    """The tick moves people past a wait at once (with a due time): the figures count them at the wait step, as
    waiting and not passed, until that time, then waiting at the next step until the tick runs it."""
    from wagtail_newsletter.growth.automations.stats import step_figures

    series = make_series(archive)
    ann, bob, cid = people(3)
    start_automation(series, [ann, bob, cid], now=T0)
    tick(now=T0)

    def shown(now):
        figures, _totals = step_figures(series, now=now)
        return [(row["waiting"], row["passed"], row["left"]) for row in figures]

    assert shown(T0) == [(0, 3, 0), (3, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0)]
    Subscriber.objects.filter(pk=cid.pk).update(status=Status.UNSUBSCRIBED)
    tick(now=T0 + DAY)  # cid leaves during the wait: at the wait step
    assert shown(T0 + DAY) == [(0, 3, 0), (2, 0, 1), (0, 0, 0), (0, 0, 0), (0, 0, 0)]
    # The two days are over, the tick has not run yet: they passed the wait and wait at the send step.
    assert shown(T0 + 2 * DAY) == [(0, 3, 0), (0, 2, 1), (2, 0, 0), (0, 0, 0), (0, 0, 0)]
    tick(now=T0 + 2 * DAY)
    assert shown(T0 + 2 * DAY) == [(0, 3, 0), (0, 2, 1), (0, 2, 0), (2, 0, 0), (0, 0, 0)]
    tick(now=T0 + 5 * DAY)
    figures, totals = step_figures(series, now=T0 + 5 * DAY)
    assert [(row["waiting"], row["passed"]) for row in figures] == [(0, 3), (0, 2), (0, 2), (0, 2), (0, 2)]
    assert totals == {"active": 0, "done": 2, "left": 1}


@pytest.mark.parametrize(
    "condition, otherwise, segment_gets_mail_2",
    [
        ("in_segment", None, True),
        ("in_segment", 5, True),
        ("not_in_segment", None, False),
        ("not_in_segment", 5, False),
    ],
)
def test_a_branch_on_a_segment(archive, condition, otherwise, segment_gets_mail_2):
    """Step 2 goes on only for people in (or not in) the segment; the others leave the series (finished) or, with
    "otherwise go to step 5", skip to mail 3 at once."""
    from wagtail_newsletter.growth.segments import Segment

    segment = Segment.objects.create(name="Ann", conditions={"field": "email", "op": "is", "value": "p0@example.net"})
    series = make_series(archive)
    AutomationStep.objects.filter(automation=series, sort_order=1).update(
        kind=StepKind.BRANCH, condition=condition, segment=segment, otherwise_go_to=otherwise
    )
    ann, bob, cid = people(3)
    start_automation(series, [ann, bob, cid], now=T0)
    tick(now=T0)
    on, off = ({ann.email}, {bob.email, cid.email}) if segment_gets_mail_2 else ({bob.email, cid.email}, {ann.email})
    assert recipients_of_step(series, 1) == on | off
    assert recipients_of_step(series, 3) == on
    assert recipients_of_step(series, 5) == (off if otherwise else set())
    done = set(Enrolment.objects.filter(status=EnrolmentStatus.DONE).values_list("subscriber__email", flat=True))
    assert done == off
    tick(now=T0 + 3 * DAY)
    assert recipients_of_step(series, 5) == ((on | off) if otherwise else on)
    assert Delivery.objects.count() == 3 + len(on) * 2 + (len(off) if otherwise else 0)
    assert AutomationStep.objects.get(automation=series, sort_order=1).passed_count == 3
