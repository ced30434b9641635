"""Every kind of mail the app sends carries a Date in the site's time zone (TIME_ZONE), never UTC's "-0000": mail
clients and the example site's Outbox then list them in one zone, newest first. One row per kind of mail, each sent
through a real SMTP server (aiosmtpd) — and a test send through another email backend, which gets Django's message."""

import datetime
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.audience.optin import confirmation_token
from wagtail_newsletter.models import Consent
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.test_send import send_test_task
from wagtail_newsletter.send.worker import alert_editor

from .compose_editor_fixtures import make_newsletter
from .signup_fixtures import subscribe_url, valid_post

pytestmark = pytest.mark.django_db

ZONE = "Asia/Kolkata"  # +05:30 all year: neither UTC nor this machine's zone, and no DST to straddle


def received(env, count):
    return [item["message"] for item in env.smtp_server.wait_for(count)][:count]


def confirmation(env):
    with env.capture(execute=True):
        env.client.post(subscribe_url(env.signup_snippet), valid_post(env.signup_snippet))
    return received(env, 1)[0]


def new_subscriber_notification(env):
    env.signup_snippet.notify_email = "manager@example.org"
    env.signup_snippet.save()
    confirmation(env)
    token = confirmation_token(Consent.objects.get())
    with env.capture(execute=True):
        env.client.post(reverse("wagtail_newsletter:confirm", args=[token]))
    message = received(env, 2)[1]
    assert message["To"] == "manager@example.org"
    return message


def a_test_send(env):
    send_test_task(make_newsletter(env.archive).latest_revision_id, ["qa@example.org"])
    return received(env, 1)[0]


def campaign_mail(env):
    Subscriber.objects.create(email="reader@example.net", status=Status.SUBSCRIBED)
    campaign = campaigns.create_campaign(make_newsletter(env.archive))
    campaigns.set_audience(campaign, True)
    with env.capture(execute=True):
        campaigns.send_now(campaign)
    return received(env, 1)[0]


def campaign_paused_alert(env):
    campaign = campaigns.create_campaign(make_newsletter(env.archive), user=env.admin_user)
    alert_editor(campaign, "The mail server refused the sender.")
    return received(env, 1)[0]


def a_test_send_through_another_email_backend(env):
    env.settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send_test_task(make_newsletter(env.archive).latest_revision_id, ["qa@example.org"])
    return mail.outbox[0].message()


MAILS = [
    confirmation,
    new_subscriber_notification,
    a_test_send,
    campaign_mail,
    campaign_paused_alert,
    a_test_send_through_another_email_backend,
]


@pytest.mark.parametrize("send", MAILS, ids=[send.__name__ for send in MAILS])
def test_every_mail_is_dated_in_the_sites_time_zone(
    send, settings, client, admin_user, archive, signup_snippet, smtp_server, django_capture_on_commit_callbacks
):
    settings.TIME_ZONE = ZONE
    env = SimpleNamespace(
        settings=settings, client=client, admin_user=admin_user, archive=archive, signup_snippet=signup_snippet,
        smtp_server=smtp_server, capture=django_capture_on_commit_callbacks,
    )  # fmt: skip
    date = send(env)["Date"]
    assert date is not None
    assert not str(date).endswith(("-0000", "+0000", "GMT", "UTC")), str(date)
    sent_at = parsedate_to_datetime(str(date))
    assert sent_at.utcoffset() == datetime.timedelta(hours=5, minutes=30), str(date)
    assert sent_at.utcoffset() == timezone.now().astimezone(ZoneInfo(ZONE)).utcoffset()
    assert abs(timezone.now() - sent_at) < datetime.timedelta(minutes=2)
