"""Automations delivered by a real ``qcluster`` to a real SMTP server (aiosmtpd), with the test travelling in time
through ``tick(now=…)``: a welcome series started by its subscription form sends mail 1, 2 and 3 at their moments and
stops for a subscriber who unsubscribes after mail 1; a birthday mail at 9:00 in Paris on both sides of the change to
summer time. The cluster's own ticks run at the real time, before the simulated one: they find nothing due."""

import datetime
import time
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.models import Field, Status, Subscriber
from wagtail_newsletter.audience.optin import confirm_subscription, submit_subscription
from wagtail_newsletter.audience.subscription_form import SubscriptionForm
from wagtail_newsletter.growth.automations import clock
from wagtail_newsletter.growth.automations.models import (
    Automation,
    AutomationStep,
    Enrolment,
    EnrolmentStatus,
    StepKind,
    Trigger,
)
from wagtail_newsletter.growth.automations.tick import tick

from .automation_fixtures import make_series
from .compose_editor_fixtures import make_newsletter
from .send_cluster import cluster_log, start_qcluster, stop_qcluster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLUSTER = {"workers": 2, "timeout": 20, "retry": 25, "poll": 0.1}
# Simulated days after the real ones: the cluster's real-time ticks never find these people due.
T0 = datetime.datetime(2031, 3, 3, 8, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


@pytest.fixture
def cluster(smtp_server, tmp_path, queue_for_real):
    process = start_qcluster(smtp_server.port, tmp_path / "qcluster.log", CLUSTER)
    yield process
    stop_qcluster(process)


def newsletters(smtp_server):
    """Counter of (recipient, subject) of the newsletters received (the confirmation mails left out)."""
    return Counter(
        (message["to"][0], str(message["message"]["Subject"]))
        for message in list(smtp_server.messages)
        if "confirm" not in str(message["message"]["Subject"]).lower()
    )


def wait_count(smtp_server, cluster, count, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(newsletters(smtp_server).values()) >= count:
            return newsletters(smtp_server)
        time.sleep(0.3)
    pytest.fail(f"{count} newsletters expected, got {newsletters(smtp_server)}; qcluster said:\n{cluster_log(cluster)}")


def test_a_welcome_series_over_simulated_days(archive, smtp_server, cluster):
    form = SubscriptionForm.objects.create(name="Footer", consent_text="I agree.")
    series = make_series(archive, trigger=Trigger.CONFIRMED, form=form)
    with clock.travel(T0):
        for email in ("ann@example.net", "bob@example.net"):
            confirm_subscription(submit_subscription(form, email, {"first_name": email[:3].title()}).pk)
    assert Enrolment.objects.filter(automation=series).count() == 2

    tick(now=T0)
    got = wait_count(smtp_server, cluster, 2)
    assert got == {("ann@example.net", "Welcome mail 1"): 1, ("bob@example.net", "Welcome mail 1"): 1}
    services.unsubscribe(Subscriber.objects.filter(email="bob@example.net"))

    tick(now=T0 + DAY)
    tick(now=T0 + 2 * DAY - datetime.timedelta(minutes=1))
    time.sleep(2)
    assert sum(newsletters(smtp_server).values()) == 2  # not before its time
    tick(now=T0 + 2 * DAY)
    wait_count(smtp_server, cluster, 3)
    tick(now=T0 + 5 * DAY - datetime.timedelta(minutes=1))
    time.sleep(2)
    assert sum(newsletters(smtp_server).values()) == 3
    tick(now=T0 + 5 * DAY)
    tick(now=T0 + 6 * DAY)
    got = wait_count(smtp_server, cluster, 4)
    time.sleep(2)  # and nothing more comes
    assert newsletters(smtp_server) == {
        ("ann@example.net", "Welcome mail 1"): 1,
        ("bob@example.net", "Welcome mail 1"): 1,
        ("ann@example.net", "Welcome mail 2"): 1,
        ("ann@example.net", "Welcome mail 3"): 1,
    }
    bob = Enrolment.objects.get(subscriber__email="bob@example.net")
    assert (bob.status, bob.left_reason) == (EnrolmentStatus.LEFT, Status.UNSUBSCRIBED)
    assert Enrolment.objects.get(subscriber__email="ann@example.net").status == EnrolmentStatus.DONE
    # Every mail carries the engine's headers: one Message-ID each, an unsubscribe link.
    messages = [m["message"] for m in smtp_server.messages if "Welcome" in str(m["message"]["Subject"])]
    assert len({str(m["Message-ID"]) for m in messages}) == 4
    assert all(m["List-Unsubscribe"] for m in messages)


def test_a_birthday_mail_at_nine_in_paris_across_the_change_to_summer_time(archive, smtp_server, cluster, settings):
    """Summer time starts in Paris on Sunday 30 March 2031 (09:00 is 08:00 UTC before, 07:00 UTC after)."""
    settings.TIME_ZONE = "Europe/Paris"
    timezone.deactivate()
    paris = ZoneInfo("Europe/Paris")
    field = Field.objects.create(label="Birthday", key="birthday", type=Field.Type.DATE)
    page = make_newsletter(archive, title="Happy birthday", slug="birthday", subject="Happy birthday!")
    automation = Automation.objects.create(
        name="Birthday", trigger=Trigger.ANNIVERSARY, date_field=field, local_hour=9, active=True
    )
    AutomationStep.objects.create(automation=automation, sort_order=0, kind=StepKind.SEND, page=page)
    Subscriber.objects.create(email="sat@example.net", status=Status.SUBSCRIBED, data={"birthday": "1990-03-29"})
    Subscriber.objects.create(email="mon@example.net", status=Status.SUBSCRIBED, data={"birthday": "1980-03-31"})

    tick(now=datetime.datetime(2031, 3, 29, 0, 0, tzinfo=paris))
    tick(now=datetime.datetime(2031, 3, 29, 7, 59, tzinfo=datetime.UTC))  # 08:59 in Paris
    tick(now=datetime.datetime(2031, 3, 29, 8, 0, tzinfo=datetime.UTC))  # 09:00 in Paris
    assert wait_count(smtp_server, cluster, 1) == {("sat@example.net", "Happy birthday!"): 1}
    tick(now=datetime.datetime(2031, 3, 31, 6, 59, tzinfo=datetime.UTC))  # 08:59 in Paris, summer time
    time.sleep(2)
    assert sum(newsletters(smtp_server).values()) == 1
    tick(now=datetime.datetime(2031, 3, 31, 7, 0, tzinfo=datetime.UTC))  # 09:00 in Paris
    tick(now=datetime.datetime(2031, 3, 31, 12, 0, tzinfo=datetime.UTC))
    got = wait_count(smtp_server, cluster, 2)
    time.sleep(2)
    assert (
        newsletters(smtp_server)
        == got
        == {
            ("sat@example.net", "Happy birthday!"): 1,
            ("mon@example.net", "Happy birthday!"): 1,
        }
    )
