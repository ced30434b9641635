"""Helpers for the automation tests: newsletters, a welcome series, subscribers, and a clock that travels."""

import datetime

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.growth.automations.models import Automation, AutomationStep, StepCampaign, StepKind, Trigger
from wagtail_newsletter.send.models import Delivery

from .compose_editor_fixtures import make_newsletter

T0 = datetime.datetime(2027, 3, 1, 8, 0, tzinfo=datetime.UTC)


def make_series(archive, name="Welcome series", trigger=Trigger.API, active=True, **fields):
    """Mail 1 at once, mail 2 two days later, mail 3 three days after that."""
    pages = [make_newsletter(archive, title=f"Welcome {n}", slug=f"welcome-{n}-{name[:8].lower().replace(' ', '-')}",
                             subject=f"Welcome mail {n}") for n in (1, 2, 3)]  # fmt: skip
    automation = Automation.objects.create(name=name, trigger=trigger, active=active, **fields)
    steps = [
        dict(kind=StepKind.SEND, page=pages[0]),
        dict(kind=StepKind.WAIT, wait_amount=2, wait_unit="days"),
        dict(kind=StepKind.SEND, page=pages[1]),
        dict(kind=StepKind.WAIT, wait_amount=3, wait_unit="days"),
        dict(kind=StepKind.SEND, page=pages[2]),
    ]
    for order, values in enumerate(steps):
        AutomationStep.objects.create(automation=automation, sort_order=order, **values)
    return automation


def people(count, prefix="p", **fields):
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.net", status=Status.SUBSCRIBED, **fields) for i in range(count)]
    )
    return list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))


def step_campaign_ids(automation):
    """{step number (1 first): [campaign ids]}"""
    result = {}
    for step_order, campaign_id in StepCampaign.objects.filter(step__automation=automation).values_list(
        "step__sort_order", "campaign_id"
    ):
        result.setdefault(step_order + 1, []).append(campaign_id)
    return result


def recipients_of_step(automation, number):
    ids = step_campaign_ids(automation).get(number, [])
    return set(Delivery.objects.filter(campaign_id__in=ids).values_list("subscriber__email", flat=True))
