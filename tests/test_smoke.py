import io

import pytest
from django.core.mail import send_mail

from wagtail_newsletter.audience.import_readers import open_table
from wagtail_newsletter.audience.importing import guess_mapping, import_subscribers
from wagtail_newsletter.models import Status, Subscriber

from .signup_fixtures import subscribe_url, valid_post


@pytest.mark.django_db
def test_email_is_unique_whatever_the_case(client, signup_snippet):
    """An import and a sign-up of another case of a known address find its subscriber instead of adding one."""
    Subscriber.objects.create(email="ada@example.org", status=Status.SUBSCRIBED)
    table = open_table(io.BytesIO(b"email,first_name\nADA@Example.ORG,Ada\n"))
    import_subscribers(table, guess_mapping(table.headers))
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, email="Ada@EXAMPLE.org"))
    assert response.status_code == 303
    assert list(Subscriber.all_objects.values_list("email", flat=True)) == ["ada@example.org"]


@pytest.mark.django_db
def test_smtp_fixture_receives_mail(smtp_server):
    send_mail("hi", "body", "a@example.org", ["b@example.org"])
    assert smtp_server.wait_for(1)[0]["message"]["Subject"] == "hi"
