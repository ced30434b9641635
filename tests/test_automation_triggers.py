"""Automation triggers: a confirmed subscription through a form (audience's signal), an anniversary at a local hour
across a daylight-saving change (Europe/Paris), a segment entered, a person's click on a link (never a scanner's),
and a branch on "opened the previous mail"."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import models
from django.utils import timezone

from wagtail_newsletter.audience.models import Field, Group, Status, Subscriber
from wagtail_newsletter.audience.optin import confirm_subscription, submit_subscription
from wagtail_newsletter.audience.subscription_form import SubscriptionForm
from wagtail_newsletter.growth.automations.enrol import start_automation
from wagtail_newsletter.growth.automations.models import (
    Automation,
    AutomationStep,
    Condition,
    Enrolment,
    EnrolmentStatus,
    StepKind,
    Trigger,
)
from wagtail_newsletter.growth.automations.tick import tick
from wagtail_newsletter.growth.segments import Segment
from wagtail_newsletter.send.models import Campaign, Delivery, DeliveryStatus
from wagtail_newsletter.track.models import Agent, EventKind

from .automation_fixtures import T0, make_series, people, recipients_of_step, step_campaign_ids
from .compose_editor_fixtures import make_newsletter
from .report_fixtures import fold, hit, sent_campaign

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def test_a_confirmed_subscription_through_the_form_starts_the_series(archive):
    readers = Group.objects.create(name="Readers")
    form = SubscriptionForm.objects.create(name="Footer", consent_text="I agree.")
    form.groups.add(readers)
    form.save()
    other = SubscriptionForm.objects.create(name="Other", consent_text="I agree.")
    by_form = make_series(archive, "By form", trigger=Trigger.CONFIRMED, form=form)
    by_group = make_series(archive, "By group", trigger=Trigger.CONFIRMED, group=readers)
    consent = submit_subscription(form, "ann@example.net", {"first_name": "Ann"})
    assert not Enrolment.objects.exists()  # pending: not yet
    confirm_subscription(consent.pk)
    confirm_subscription(consent.pk)  # a second click on the link changes nothing
    assert Enrolment.objects.filter(automation=by_form).count() == 1
    assert Enrolment.objects.filter(automation=by_group).count() == 1
    confirm_subscription(submit_subscription(other, "bob@example.net", {}).pk)
    assert not Enrolment.objects.filter(subscriber__email="bob@example.net").exists()


@pytest.fixture
def paris(settings):
    settings.TIME_ZONE = "Europe/Paris"
    timezone.deactivate()
    yield


def _birthday_automation(archive, hour=9):
    field = Field.objects.create(label="Birthday", key="birthday", type=Field.Type.DATE)
    page = make_newsletter(archive, title="Happy birthday", slug="happy-birthday", subject="Happy birthday!")
    automation = Automation.objects.create(
        name="Birthday", trigger=Trigger.ANNIVERSARY, date_field=field, local_hour=hour, active=True
    )
    AutomationStep.objects.create(automation=automation, sort_order=0, kind=StepKind.SEND, page=page)
    return automation


def test_a_birthday_mail_goes_at_nine_in_paris_on_both_sides_of_the_clock_change(archive, paris):
    """Summer time starts in Paris on Sunday 28 March 2027 at 02:00 (UTC+1 → UTC+2)."""
    automation = _birthday_automation(archive)
    Subscriber.objects.create(email="sat@example.net", status=Status.SUBSCRIBED, data={"birthday": "1990-03-27"})
    Subscriber.objects.create(email="mon@example.net", status=Status.SUBSCRIBED, data={"birthday": "1985-03-29"})
    Subscriber.objects.create(email="sun@example.net", status=Status.SUBSCRIBED, data={"birthday": "2001-03-28"})
    Subscriber.objects.create(email="other@example.net", status=Status.SUBSCRIBED, data={"birthday": "1990-07-27"})

    def ticks(local_times):
        for moment in local_times:
            tick(now=moment.astimezone(datetime.UTC))

    def got():
        return set(Delivery.objects.values_list("subscriber__email", flat=True))

    ticks([datetime.datetime(2027, 3, 26, 23, 0, tzinfo=PARIS)])  # starts before the first birthday
    ticks([datetime.datetime(2027, 3, 27, 8, 59, tzinfo=PARIS)])
    assert got() == set()
    # 09:00 in Paris on Saturday is 08:00 UTC…
    tick(now=datetime.datetime(2027, 3, 27, 8, 0, tzinfo=datetime.UTC))
    assert got() == {"sat@example.net"}
    # …on Sunday (the change happened at 02:00) it is 07:00 UTC: 07:59 UTC is 09:59 local, due.
    tick(now=datetime.datetime(2027, 3, 28, 6, 59, tzinfo=datetime.UTC))
    assert got() == {"sat@example.net"}
    tick(now=datetime.datetime(2027, 3, 28, 7, 0, tzinfo=datetime.UTC))
    assert got() == {"sat@example.net", "sun@example.net"}
    ticks([datetime.datetime(2027, 3, 29, 8, 59, tzinfo=PARIS)])
    assert "mon@example.net" not in got()
    ticks([datetime.datetime(2027, 3, 29, 9, 0, tzinfo=PARIS), datetime.datetime(2027, 3, 29, 18, 0, tzinfo=PARIS)])
    assert got() == {"sat@example.net", "sun@example.net", "mon@example.net"}
    due = dict(Enrolment.objects.values_list("subscriber__email", "due_at"))
    assert due["sun@example.net"].astimezone(PARIS).hour == 9
    assert due["sun@example.net"] == datetime.datetime(2027, 3, 28, 7, 0, tzinfo=datetime.UTC)
    assert due["sat@example.net"] == datetime.datetime(2027, 3, 27, 8, 0, tzinfo=datetime.UTC)
    assert set(Enrolment.objects.values_list("occurrence", flat=True)) == {"2027"}
    # Next year: a new occurrence and round, so a new campaign (a delivery is unique per campaign and person).
    tick(now=datetime.datetime(2028, 3, 27, 9, 0, tzinfo=PARIS).astimezone(datetime.UTC))
    assert Enrolment.objects.filter(subscriber__email="sat@example.net").count() == 2
    assert len(step_campaign_ids(automation)[1]) == 2
    assert Delivery.objects.filter(subscriber__email="sat@example.net").count() == 2


def test_a_29_february_birthday_is_kept_on_28_february(archive, paris):
    _birthday_automation(archive)
    Subscriber.objects.create(email="leap@example.net", status=Status.SUBSCRIBED, data={"birthday": "2004-02-29"})
    tick(now=datetime.datetime(2027, 2, 27, 12, 0, tzinfo=PARIS))
    tick(now=datetime.datetime(2027, 2, 28, 12, 0, tzinfo=PARIS))
    assert Delivery.objects.filter(subscriber__email="leap@example.net").count() == 1


def test_entering_a_segment_starts_it_but_being_in_it_already_does_not(archive):
    segment = Segment(name="Lyon", conditions={"field": "first_name", "op": "is", "value": "Lyon"})
    segment.full_clean()
    segment.save()
    automation = make_series(archive, trigger=Trigger.SEGMENT_ENTERED, segment=segment)
    ann, bob = people(2)
    Subscriber.objects.filter(pk=ann.pk).update(first_name="Lyon")
    tick(now=T0)  # the first look only notes who is in it
    assert not Enrolment.objects.exists()
    Subscriber.objects.filter(pk=bob.pk).update(first_name="Lyon")
    tick(now=T0 + datetime.timedelta(minutes=1))  # not looked at again so soon
    assert not Enrolment.objects.exists()
    tick(now=T0 + datetime.timedelta(minutes=6))
    assert list(Enrolment.objects.values_list("subscriber_id", flat=True)) == [bob.pk]
    assert recipients_of_step(automation, 1) == {bob.email}


def _sent_first_mail(archive, series, subscribers):
    start_automation(series, subscribers, now=T0)
    tick(now=T0)
    (campaign_id,) = step_campaign_ids(series)[1]
    sent_at = timezone.now() - datetime.timedelta(hours=3)
    Delivery.objects.filter(campaign_id=campaign_id).update(status=DeliveryStatus.SENT, sent_at=sent_at)
    return campaign_id


def test_a_branch_on_opening_the_previous_mail(archive):
    series = make_series(archive)
    # Mail 1, wait 2 days, go on only if they opened mail 1 (otherwise to step 6: mail 3), mail 2, stop, mail 3.
    AutomationStep.objects.filter(automation=series, sort_order=3).update(
        kind=StepKind.BRANCH, condition=Condition.OPENED_PREVIOUS, otherwise_go_to=6, wait_amount=0
    )
    AutomationStep.objects.filter(automation=series, sort_order__gte=1, sort_order__lte=3).update(
        sort_order=models.F("sort_order") + 10
    )
    steps = {step.sort_order: step for step in AutomationStep.objects.filter(automation=series)}
    order = [steps[0], steps[11], steps[13], steps[12], None, steps[4]]
    for position, step in enumerate(order):
        if step is not None:
            AutomationStep.objects.filter(pk=step.pk).update(sort_order=position)
    AutomationStep.objects.create(automation=series, sort_order=4, kind=StepKind.STOP)
    ann, bob, cid = people(3)
    campaign_id = _sent_first_mail(archive, series, [ann, bob, cid])
    Campaign.objects.filter(pk=campaign_id).update(started_at=timezone.now() - datetime.timedelta(hours=3))
    campaign = Campaign.objects.get(pk=campaign_id)
    deliveries = {d.subscriber_id: d for d in Delivery.objects.filter(campaign_id=campaign_id)}
    hit(campaign, deliveries[ann.pk], EventKind.OPEN, 30)
    hit(campaign, deliveries[cid.pk], EventKind.OPEN, 30, agent=Agent.PRIVACY_PROXY)  # a machine: not an open
    fold()
    tick(now=T0 + 2 * datetime.timedelta(days=1))
    assert recipients_of_step(series, 4) == {ann.email}
    assert recipients_of_step(series, 6) == {bob.email, cid.email}
    assert set(Enrolment.objects.values_list("status", flat=True)) == {EnrolmentStatus.DONE}


def test_a_person_s_click_on_the_link_starts_it_a_scanner_s_does_not(archive):
    ann, bob = people(2)
    automation = make_series(archive, trigger=Trigger.CLICKED_LINK, link_text="/offer")
    tick(now=T0)  # the first look starts from now
    campaign = sent_campaign(archive, None, urls=["https://example.org/offer", "https://example.org/other"])
    deliveries = {d.subscriber_id: d for d in Delivery.objects.filter(campaign=campaign)}
    hit(campaign, deliveries[ann.pk], EventKind.CLICK, 30, link=0)
    hit(campaign, deliveries[ann.pk], EventKind.CLICK, 31, link=0)
    hit(campaign, deliveries[bob.pk], EventKind.CLICK, 30, link=0, agent=Agent.SCANNER)
    hit(campaign, deliveries[bob.pk], EventKind.CLICK, 32, link=1)
    fold()
    tick(now=T0 + datetime.timedelta(minutes=1))
    tick(now=T0 + datetime.timedelta(minutes=2))
    assert list(Enrolment.objects.filter(automation=automation).values_list("subscriber_id", flat=True)) == [ann.pk]
