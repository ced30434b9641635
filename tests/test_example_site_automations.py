"""The example site's automations (setup_demo): a three-mail welcome series started by the home page's form and a
birthday mail at 9:00; a confirmed sign-up through the form enters the series and gets mail 1; running setup_demo
again changes nothing for the people going through them."""

import os

import pytest
from django.core.management import call_command

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.audience.optin import confirm_subscription, submit_subscription
from wagtail_newsletter.growth.automations.models import Automation, Enrolment, StepKind, Trigger
from wagtail_newsletter.growth.automations.tick import tick
from wagtail_newsletter.models import SubscriptionForm
from wagtail_newsletter.send.models import Delivery

pytestmark = pytest.mark.django_db


def setup_demo():
    call_command("setup_demo", stdout=open(os.devnull, "w"))


def test_the_demo_ships_a_welcome_series_and_a_birthday_mail():
    setup_demo()
    form = SubscriptionForm.objects.get(name="Home page form")
    welcome = Automation.objects.get(name="Welcome series")
    assert (welcome.trigger, welcome.form, welcome.active) == (Trigger.CONFIRMED, form, True)
    steps = list(welcome.steps.order_by("sort_order").values_list("kind", "wait_amount"))
    assert [kind for kind, _ in steps] == [StepKind.SEND, StepKind.WAIT, StepKind.SEND, StepKind.WAIT, StepKind.SEND]
    assert [steps[1][1], steps[3][1]] == [2, 3]
    birthday = Automation.objects.get(name="Birthday mail")
    assert (birthday.trigger, birthday.date_field.key, birthday.local_hour) == (Trigger.ANNIVERSARY, "birthday", 9)
    assert birthday.steps.get().page.live

    consent = submit_subscription(form, "newcomer@example.net", {"first_name": "Nia"})
    confirm_subscription(consent.pk)
    tick()
    assert Subscriber.objects.get(email="newcomer@example.net").status == Status.SUBSCRIBED
    assert Enrolment.objects.filter(automation=welcome, subscriber__email="newcomer@example.net").exists()
    assert Delivery.objects.filter(subscriber__email="newcomer@example.net").count() == 1

    setup_demo()  # idempotent: the same automations, the newcomer still on their way
    assert Automation.objects.filter(name__in=["Welcome series", "Birthday mail"]).count() == 2
    assert welcome.steps.count() == 5
    assert Enrolment.objects.get(subscriber__email="newcomer@example.net").position == 2
