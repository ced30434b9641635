import pytest
from django.core.mail import send_mail

from wagtail_newsletter.models import Status, Subscriber


@pytest.mark.django_db
def test_email_is_unique_whatever_the_case():
    Subscriber.objects.create(email="ada@example.org", status=Status.SUBSCRIBED)
    assert Subscriber.all_objects.count() == 1


@pytest.mark.django_db
def test_smtp_fixture_receives_mail(smtp_server):
    send_mail("hi", "body", "a@example.org", ["b@example.org"])
    assert smtp_server.wait_for(1)[0]["message"]["Subject"] == "hi"
