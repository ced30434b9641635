"""The confirmation email and the manager's notification, delivered to a real SMTP server."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from wagtail_newsletter.audience.confirmation_email import body_text, build_confirmation_email
from wagtail_newsletter.audience.optin import confirmation_token
from wagtail_newsletter.audience.subscription_form import DEFAULT_EMAIL_BODY
from wagtail_newsletter.audience.tasks import notify_manager
from wagtail_newsletter.mail_text import fill_tags
from wagtail_newsletter.models import Consent, Status, Subscriber
from wagtail_newsletter.send.system_mail import send_confirmation_email

from .signup_fixtures import subscribe_url, valid_post

pytestmark = pytest.mark.django_db


def submit(client, snippet, capture, **overrides):
    with capture(execute=True):
        response = client.post(subscribe_url(snippet), valid_post(snippet, **overrides))
    assert response.status_code == 303
    return Consent.objects.order_by("-pk").first()


def parts(message):
    """(text, html) of a received email.message.EmailMessage."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_confirmation_mail_reaches_the_smtp_server_and_its_link_confirms(
    client, signup_snippet, smtp_server, django_capture_on_commit_callbacks
):
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    received = smtp_server.wait_for(1)[0]
    assert received["to"] == ["ada@example.org"]
    text, html = parts(received["message"])
    url = re.search(r'href="(http://testserver/newsletter/confirm/[^"]+)"', html).group(1)
    assert url in text
    path = url.removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    assert Subscriber.objects.get().status == Status.PENDING
    assert client.post(path).status_code == 200
    assert Subscriber.objects.get().status == Status.SUBSCRIBED


def test_confirmation_mail_uses_the_forms_subject_and_default_sender(
    client, signup_snippet, django_capture_on_commit_callbacks, settings
):
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    assert message.subject == "Please confirm, Ada"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_confirmation_mail_uses_the_forms_sender_when_set(client, signup_snippet, django_capture_on_commit_callbacks):
    signup_snippet.email_from = "Readers club <club@example.org>"
    signup_snippet.save()
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    assert mail.outbox[0].from_email == "Readers club <club@example.org>"


def test_subject_with_line_breaks_cannot_inject_headers(client, signup_snippet, django_capture_on_commit_callbacks):
    signup_snippet.email_subject = "Confirm\r\nBcc: eve@example.org"
    signup_snippet.save()
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    message = mail.outbox[0].message()
    assert message["Subject"] == "Confirm Bcc: eve@example.org"
    assert message["Bcc"] is None


def test_variables_in_the_body_are_replaced_with_escaped_values(
    client, signup_snippet, django_capture_on_commit_callbacks
):
    submit(client, signup_snippet, django_capture_on_commit_callbacks, first_name="<b>Ada</b> & co")
    html = mail.outbox[0].alternatives[0][0]
    assert "Hello &lt;b&gt;Ada&lt;/b&gt; &amp; co," in html
    assert "confirm for ada@example.org." in html
    assert "{{" not in html
    assert "Hello <b>Ada</b> & co," in mail.outbox[0].body


def test_variable_default_is_used_when_the_value_is_empty(client, signup_snippet, django_capture_on_commit_callbacks):
    signup_snippet.form_fields.filter(builtin="first_name").delete()
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    assert "Hello friend," in mail.outbox[0].alternatives[0][0]


def test_default_mail_of_an_email_only_form_greets_without_a_dangling_comma(
    client, signup_snippet, smtp_server, django_capture_on_commit_callbacks
):
    signup_snippet.form_fields.filter(builtin="first_name").delete()
    signup_snippet.email_body = DEFAULT_EMAIL_BODY  # "Hello {{ first_name }}," as a new form has it
    signup_snippet.save()
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    text, html = parts(smtp_server.wait_for(1)[0]["message"])
    assert text.splitlines()[0] == "Hello," and "<p>Hello,</p>" in html


@pytest.mark.parametrize(
    ("text", "filled"),
    [
        ("<p>Hello&nbsp;{{ first_name }}!</p>", "<p>Hello!</p>"),
        ("<p>Hi {{ first_name }} and welcome.</p>", "<p>Hi  and welcome.</p>"),  # no punctuation: spaces kept
        ('<p>Hello {{ first_name|default:"there" }},</p>', "<p>Hello there,</p>"),
    ],
)
def test_an_empty_tag_before_punctuation_takes_its_space_along(text, filled):
    assert fill_tags(text, {"first_name": ""}, in_html=True) == filled


def test_mail_says_when_the_link_expires(client, signup_snippet, django_capture_on_commit_callbacks, settings):
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    assert "This link expires in 7 days." in mail.outbox[0].body
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "CONFIRMATION_MAX_AGE": 3 * 3600}
    assert "This link expires in 3 hours." in build_confirmation_email(Consent.objects.get()).body


def test_button_has_the_forms_colour_and_label(client, signup_snippet, django_capture_on_commit_callbacks):
    signup_snippet.primary_colour = "#aa3300"
    signup_snippet.email_button_label = "Yes, sign me up"
    signup_snippet.save()
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    html = mail.outbox[0].alternatives[0][0]
    assert 'bgcolor="#aa3300"' in html
    assert "Yes, sign me up</a>" in html


def test_links_to_site_pages_in_the_body_become_absolute(client, signup_snippet, django_capture_on_commit_callbacks):
    from wagtail.models import Page

    page = Page.objects.get(depth=2)
    signup_snippet.email_body = f'<p>Read <a linktype="page" id="{page.pk}">our page</a>.</p>'
    signup_snippet.save()
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    message = mail.outbox[0]
    assert 'href="http://testserver/"' in message.alternatives[0][0]
    assert "our page (http://testserver/)" in message.body


def test_an_already_subscribed_address_also_gets_a_confirmation_mail(
    client, signup_snippet, django_capture_on_commit_callbacks
):
    Subscriber.objects.create(email="ada@example.org", status=Status.SUBSCRIBED)
    submit(client, signup_snippet, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1


def test_no_mail_once_the_consent_is_confirmed(client, signup_snippet, django_capture_on_commit_callbacks):
    consent = submit(client, signup_snippet, django_capture_on_commit_callbacks)
    Consent.objects.filter(pk=consent.pk).update(confirmed_at="2024-01-01T00:00:00Z")
    mail.outbox.clear()
    assert send_confirmation_email(consent.pk) == "skipped"
    assert mail.outbox == []


def test_no_mail_for_an_unknown_consent(db):
    assert send_confirmation_email(12345) == "skipped"
    assert mail.outbox == []


def test_manager_is_notified_on_confirmation(client, signup_snippet, smtp_server, django_capture_on_commit_callbacks):
    signup_snippet.notify_email = "manager@example.org"
    signup_snippet.save()
    consent = submit(client, signup_snippet, django_capture_on_commit_callbacks)
    smtp_server.wait_for(1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("wagtail_newsletter:confirm", args=[confirmation_token(consent)]))
    received = smtp_server.wait_for(2)[1]
    assert received["to"] == ["manager@example.org"]
    message = received["message"]
    assert "ada@example.org" in message["Subject"]
    assert "Home" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "first_name: Ada" in body and "city: London" in body


def test_manager_is_not_notified_before_confirmation_or_without_an_address(
    client, signup_snippet, django_capture_on_commit_callbacks
):
    consent = submit(client, signup_snippet, django_capture_on_commit_callbacks)
    assert notify_manager(consent.pk) == "skipped"  # no notify_email
    signup_snippet.notify_email = "manager@example.org"
    signup_snippet.save()
    assert notify_manager(consent.pk) == "skipped"  # not confirmed yet
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]


def test_body_text_keeps_paragraphs_lists_and_link_targets_as_newsletters_do():
    text = body_text(
        '<p>Hello <b>Ada</b>,</p><ul><li>one</li><li>two</li></ul><p><a href="https://x.org/">site</a></p>'
        '<p><a class="button" href="https://x.org/go">Go</a></p>'
    )
    assert text == "Hello Ada,\n\n  * one\n  * two\n\nsite (https://x.org/)\n\nGo: https://x.org/go"


def test_mail_is_written_in_the_subscribers_language(client, signup_snippet, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(subscribe_url(signup_snippet), valid_post(signup_snippet), HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="fr">' in mail.outbox[0].alternatives[0][0]
