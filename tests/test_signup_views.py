"""POST /newsletter/subscribe/<form_id>/: what a visitor sees, and what is (not) written."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from wagtail_newsletter.models import Consent, Status, StatusEvent, Subscriber

from .signup_fixtures import CONSENT_TEXT, assert_nothing_written, subscribe_url, valid_post

pytestmark = pytest.mark.django_db


def test_get_renders_the_form_on_a_standalone_page(client, signup_snippet):
    response = client.get(subscribe_url(signup_snippet))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 class="wn-signup__title">Join us</h2>' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="rendered"' in html
    assert CONSENT_TEXT in html
    assert_nothing_written()


def test_unknown_form_is_404(client, db):
    assert client.get(reverse("wagtail_newsletter:subscribe", args=[999])).status_code == 404


def test_valid_submission_creates_a_pending_subscriber_and_redirects_to_check_your_inbox(
    client, signup_snippet, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 303
    assert response["Location"] == reverse("wagtail_newsletter:subscribe_done", args=[signup_snippet.pk])
    subscriber = Subscriber.objects.get()
    assert (subscriber.email, subscriber.status, subscriber.first_name) == ("ada@example.org", Status.PENDING, "Ada")
    assert subscriber.data == {
        "city": "London",
        "age": 36,
        "birthday": "1815-12-10",
        "colour": "Green",
        "member": False,
    }
    assert len(mail.outbox) == 1


def test_check_your_inbox_page_shows_the_success_text(client, signup_snippet):
    signup_snippet.success_text = "<p>Look in your mailbox, please.</p>"
    signup_snippet.save()
    response = client.get(reverse("wagtail_newsletter:subscribe_done", args=[signup_snippet.pk]))
    assert "Look in your mailbox, please." in response.content.decode()


def test_success_page_of_the_snippet_is_where_the_visitor_goes(client, signup_snippet):
    from wagtail.models import Page

    page = Page.objects.get(depth=2)
    signup_snippet.success_page = page
    signup_snippet.save()
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 303
    assert response["Location"] == page.url


def test_consent_stores_the_exact_text_and_the_minimised_ip(client, signup_snippet):
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet), REMOTE_ADDR="203.0.113.77")
    consent = Consent.objects.get()
    assert consent.text == CONSENT_TEXT
    assert consent.ip_network == "203.0.113.0/24"
    assert consent.form == signup_snippet
    assert consent.confirmed_at is None


def test_invalid_submission_rerenders_the_form_with_errors_and_writes_nothing(client, signup_snippet):
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, email="not an address"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert 'value="Ada"' in html  # what the visitor typed is kept
    assert_nothing_written()


def test_oversized_email_writes_nothing(client, signup_snippet):
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, email="a" * 250 + "@example.org"))
    assert response.status_code == 400
    assert "at most 254 characters" in response.content.decode()
    assert_nothing_written()


def test_header_injection_in_a_name_writes_nothing(client, signup_snippet):
    response = client.post(
        subscribe_url(signup_snippet), valid_post(signup_snippet, first_name="Ada\r\nBcc: eve@example.org")
    )
    assert response.status_code == 400
    assert "line breaks" in response.content.decode()
    assert_nothing_written()


def test_missing_consent_writes_nothing(client, signup_snippet):
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, consent=None))
    assert response.status_code == 400
    assert "Please tick the box" in response.content.decode()
    assert_nothing_written()


def test_wrong_custom_field_type_writes_nothing(client, signup_snippet):
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, age="many"))
    assert response.status_code == 400
    assert "Age must be a number." in response.content.decode()
    assert_nothing_written()


def test_already_subscribed_address_gets_the_same_answer_as_a_new_one(client, signup_snippet):
    Subscriber.objects.create(email="known@example.org", status=Status.SUBSCRIBED)
    new = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, email="new@example.org"))
    known = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, email="known@example.org"))
    assert new.status_code == known.status_code == 303
    assert new.serialize() == known.serialize()


def test_already_subscribed_address_keeps_its_status_and_data_until_confirming(client, signup_snippet):
    Subscriber.objects.create(email="ada@example.org", status=Status.SUBSCRIBED, first_name="Augusta")
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, first_name="Mallory"))
    subscriber = Subscriber.objects.get()
    assert (subscriber.status, subscriber.first_name) == (Status.SUBSCRIBED, "Augusta")
    assert Consent.objects.get().data["first_name"] == "Mallory"


def test_unsubscribed_person_resubscribing_stays_unsubscribed_until_confirming(client, signup_snippet):
    Subscriber.objects.create(email="ada@example.org", status=Status.UNSUBSCRIBED)
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 303
    assert Subscriber.objects.get().status == Status.UNSUBSCRIBED


def test_groups_are_not_joined_before_confirmation(client, signup_snippet):
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert Subscriber.objects.get().groups.count() == 0


def test_a_new_pending_subscriber_gets_one_history_entry(client, signup_snippet):
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    event = StatusEvent.objects.get()
    assert (event.old_status, event.new_status, event.source) == ("", Status.PENDING, "form")


def test_the_request_language_is_remembered_when_the_form_does_not_ask(client, signup_snippet):
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet), HTTP_ACCEPT_LANGUAGE="fr")
    assert Consent.objects.get().data["language"] == "fr"


def test_csrf_is_enforced(signup_snippet):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 403
    assert_nothing_written()


def test_csrf_token_from_the_rendered_form_is_accepted(signup_snippet):
    strict = Client(enforce_csrf_checks=True)
    strict.get(subscribe_url(signup_snippet))
    token = strict.cookies["csrftoken"].value
    response = strict.post(subscribe_url(signup_snippet), {**valid_post(signup_snippet), "csrfmiddlewaretoken": token})
    assert response.status_code == 303
    assert Subscriber.objects.count() == 1


def test_other_methods_are_refused(client, signup_snippet):
    assert client.put(subscribe_url(signup_snippet)).status_code == 405
    assert_nothing_written()


def test_public_pages_extend_the_configured_base_template(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BASE_TEMPLATE": "base.html"}
    html = client.get(subscribe_url(signup_snippet)).content.decode()
    assert "Example newsletter site" in html  # the example site's own base.html
    assert 'class="wn-signup__form"' in html
