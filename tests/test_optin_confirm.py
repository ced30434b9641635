"""GET/POST /newsletter/confirm/<token>/: only a POST confirms; bad tokens write nothing."""

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from wagtail_newsletter.audience.optin import confirmation_token
from wagtail_newsletter.models import Consent, Status, StatusEvent, Subscriber

from .signup_fixtures import subscribe_url, valid_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(client, signup_snippet):
    """Submit the form once; return the consent."""
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    return Consent.objects.get()


def confirm_url(consent_or_token):
    token = consent_or_token if isinstance(consent_or_token, str) else confirmation_token(consent_or_token)
    return reverse("wagtail_newsletter:confirm", args=[token])


def snapshot():
    return (
        list(Subscriber.all_objects.values_list("status", "first_name", "updated_at")),
        list(Consent.objects.values_list("confirmed_at", flat=True)),
        StatusEvent.objects.count(),
    )


def test_get_shows_one_button_that_posts_to_the_same_url(client, submitted):
    url = confirm_url(submitted)  # once: the token carries a timestamp in seconds
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<button") == 1
    assert f'<form method="post" action="{url}">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_get_never_confirms(client, submitted):
    before = snapshot()
    client.get(confirm_url(submitted))
    client.head(confirm_url(submitted))
    assert snapshot() == before
    assert Subscriber.objects.get().status == Status.PENDING


def test_post_confirms_joins_the_groups_and_shows_the_confirmed_text(client, submitted, readers):
    response = client.post(confirm_url(submitted))
    assert response.status_code == 200
    assert "You are subscribed. Welcome!" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Status.SUBSCRIBED
    assert list(subscriber.groups.all()) == [readers]
    assert Consent.objects.get().confirmed_at is not None


def test_confirmation_with_a_confirmed_page_redirects_there(client, submitted, signup_snippet):
    from wagtail.models import Page

    page = Page.objects.get(depth=2)
    signup_snippet.confirmed_page = page
    signup_snippet.save()
    response = client.post(confirm_url(submitted))
    assert response.status_code == 303
    assert response["Location"] == page.url


def test_confirming_twice_is_harmless(client, submitted):
    client.post(confirm_url(submitted))
    first = snapshot()
    again = client.post(confirm_url(submitted))
    assert again.status_code == 200
    assert "You are subscribed" in again.content.decode()
    assert snapshot() == first


def test_get_after_confirming_shows_the_confirmed_page(client, submitted):
    client.post(confirm_url(submitted))
    response = client.get(confirm_url(submitted))
    assert "You are subscribed" in response.content.decode()
    assert "<button" not in response.content.decode()


def test_confirmation_needs_a_csrf_token(submitted):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(confirm_url(submitted)).status_code == 403
    assert Subscriber.objects.get().status == Status.PENDING
    page = strict.get(confirm_url(submitted))
    token = page.cookies["csrftoken"].value
    assert strict.post(confirm_url(submitted), {"csrfmiddlewaretoken": token}).status_code == 200
    assert Subscriber.objects.get().status == Status.SUBSCRIBED


def forged_tokens(consent):
    token = confirmation_token(consent)
    pk, stamp, signature = token.split(":")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_purpose = signing.TimestampSigner(salt="wagtail_newsletter.unsubscribe").sign(str(consent.pk))
    return {
        "altered signature": f"{pk}:{stamp}:{flipped}",
        "another consent": f"{int(pk) + 1}:{stamp}:{signature}",
        "made for unsubscribing": other_purpose,
        "garbage": "not-a-token",
        "signed without our key": signing.TimestampSigner(key="x" * 50, salt="wagtail_newsletter.confirm").sign(pk),
    }


@pytest.mark.parametrize(
    "kind", ["altered signature", "another consent", "made for unsubscribing", "garbage", "signed without our key"]
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_forged_or_altered_tokens_get_404_and_write_nothing(client, submitted, kind, method):
    before = snapshot()
    response = getattr(client, method)(confirm_url(forged_tokens(submitted)[kind]))
    assert response.status_code == 404
    assert "This link is invalid or has expired" in response.content.decode()
    assert snapshot() == before


def test_expired_token_gets_404_and_writes_nothing(client, submitted, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "CONFIRMATION_MAX_AGE": -1}
    before = snapshot()
    response = client.post(confirm_url(submitted))
    assert response.status_code == 404
    assert "This link is invalid or has expired" in response.content.decode()
    assert snapshot() == before


def test_token_signed_eight_days_ago_has_expired(client, submitted, monkeypatch):
    import time

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 8 * 24 * 3600)
    old_token = confirmation_token(submitted)
    monkeypatch.undo()
    assert client.post(confirm_url(old_token)).status_code == 404
    assert Subscriber.objects.get().status == Status.PENDING


def test_token_of_an_erased_subscriber_gets_404(client, submitted):
    Consent.objects.update(subscriber=None)
    assert client.get(confirm_url(submitted)).status_code == 404
    assert client.post(confirm_url(submitted)).status_code == 404


def test_resubscription_keeps_the_first_subscription_date_and_new_data_wins(client, signup_snippet):
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, first_name="Ada", city="London"))
    client.post(confirm_url(Consent.objects.get()))
    first_date = Subscriber.objects.get().first_subscribed_at
    Subscriber.objects.update(status=Status.UNSUBSCRIBED)
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, first_name="Augusta", city="Paris"))
    assert Subscriber.objects.get().first_name == "Ada"  # not before confirming
    client.post(confirm_url(Consent.objects.order_by("-pk").first()))
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Status.SUBSCRIBED
    assert subscriber.first_subscribed_at == first_date
    assert (subscriber.first_name, subscriber.data["city"]) == ("Augusta", "Paris")


def test_unsubscribed_person_is_subscribed_again_only_by_confirming(client, signup_snippet):
    Subscriber.objects.create(email="ada@example.org", status=Status.UNSUBSCRIBED)
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert Subscriber.objects.get().status == Status.UNSUBSCRIBED
    client.post(confirm_url(Consent.objects.get()))
    assert Subscriber.objects.get().status == Status.SUBSCRIBED


def test_confirmation_page_speaks_the_subscribers_language(client, signup_snippet):
    client.post(subscribe_url(signup_snippet), valid_post(signup_snippet), HTTP_ACCEPT_LANGUAGE="fr")
    response = client.get(confirm_url(Consent.objects.get()), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="fr">' in response.content.decode()


def test_confirming_sends_nothing_to_the_subscriber(client, submitted, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(confirm_url(submitted))
    assert mail.outbox == []


def test_old_link_after_unsubscribing_does_not_claim_a_subscription(client, submitted):
    from wagtail_newsletter.audience.services import unsubscribe

    client.post(confirm_url(submitted))
    unsubscribe(Subscriber.objects.all())
    for response in (client.get(confirm_url(submitted)), client.post(confirm_url(submitted))):
        assert "You are subscribed" not in response.content.decode()
        assert "no longer active" in response.content.decode()
    assert Subscriber.objects.get().status == Status.UNSUBSCRIBED
