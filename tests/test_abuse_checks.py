"""Abuse resistance: the plain checks, then what the subscribe view does with them."""

import time

import pytest
from django.core.cache import caches

from wagtail_newsletter.audience import abuse
from wagtail_newsletter.models import Subscriber

from .signup_fixtures import assert_nothing_written, subscribe_url, valid_post


@pytest.fixture
def newsletter_settings(settings):
    """Set WAGTAIL_NEWSLETTER values for one test: ``newsletter_settings(MIN_FILL_SECONDS=5)``."""

    def override(**values):
        settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, **values}

    return override


# The plain functions.


def test_honeypot_counts_only_when_filled():
    assert abuse.honeypot_filled("http://spam.example")
    assert not abuse.honeypot_filled("")
    assert not abuse.honeypot_filled("   ")
    assert not abuse.honeypot_filled(None)


def test_render_stamp_accepts_a_form_filled_in_a_human_time(newsletter_settings):
    newsletter_settings(MIN_FILL_SECONDS=2)
    stamp = abuse.make_render_stamp(7, now=1000.0)
    assert abuse.check_render_stamp(stamp, 7, now=1005.0) == abuse.FormTiming.OK


def test_render_stamp_rejects_a_form_filled_too_fast(newsletter_settings):
    newsletter_settings(MIN_FILL_SECONDS=2)
    stamp = abuse.make_render_stamp(7, now=1000.0)
    assert abuse.check_render_stamp(stamp, 7, now=1001.0) == abuse.FormTiming.TOO_FAST


def test_render_stamp_rejects_a_stale_form(newsletter_settings):
    newsletter_settings(MAX_FORM_AGE_SECONDS=3600)
    stamp = abuse.make_render_stamp(7, now=1000.0)
    assert abuse.check_render_stamp(stamp, 7, now=1000.0 + 3601) == abuse.FormTiming.STALE


@pytest.mark.parametrize("stamp", ["", "garbage", "7.1000000:forged"])
def test_render_stamp_rejects_missing_or_forged_stamps(stamp):
    assert abuse.check_render_stamp(stamp, 7) == abuse.FormTiming.STALE


def test_render_stamp_made_for_another_form_is_refused():
    stamp = abuse.make_render_stamp(8, now=time.time() - 10)
    assert abuse.check_render_stamp(stamp, 7) == abuse.FormTiming.STALE


def test_altered_render_stamp_is_refused():
    stamp = abuse.make_render_stamp(7, now=time.time() - 10)
    value, signature = stamp.rsplit(":", 1)
    assert abuse.check_render_stamp(value.replace("7.", "7.1") + ":" + signature, 7) == abuse.FormTiming.STALE


def test_body_size_limit():
    assert not abuse.body_too_large("500")
    assert abuse.body_too_large(str(abuse.MAX_BODY_BYTES + 1))
    assert abuse.body_too_large("not a number")


def test_ip_rate_limit_counts_per_network(newsletter_settings):
    newsletter_settings(RATE_LIMIT_PER_IP=(2, 60))
    assert abuse.allow_ip("198.51.100.1")
    assert abuse.allow_ip("198.51.100.2")  # same /24
    assert not abuse.allow_ip("198.51.100.3")
    assert abuse.allow_ip("192.0.2.1")  # another network


def test_email_rate_limit_counts_per_address(newsletter_settings):
    newsletter_settings(RATE_LIMIT_PER_EMAIL=(1, 60))
    assert abuse.allow_email("ada@example.org")
    assert not abuse.allow_email("ada@example.org")
    assert abuse.allow_email("grace@example.org")


def test_rate_limit_window_starts_again_when_the_counter_expires(newsletter_settings):
    newsletter_settings(RATE_LIMIT_PER_EMAIL=(1, 60))
    assert abuse.allow_email("ada@example.org")
    caches["default"].clear()  # the window expired
    assert abuse.allow_email("ada@example.org")


def test_rate_limit_uses_the_configured_cache(newsletter_settings, settings):
    settings.CACHES = {
        **settings.CACHES,
        "limits": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "limits"},
    }
    newsletter_settings(RATE_LIMIT_CACHE="limits", RATE_LIMIT_PER_EMAIL=(1, 60))
    assert abuse.allow_email("ada@example.org")
    assert not abuse.allow_email("ada@example.org")
    assert caches["default"].get(abuse._key("email", "ada@example.org")) is None


# The subscribe view.


@pytest.mark.django_db
def test_honeypot_hit_answers_like_a_success(client, signup_snippet):
    human = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, email="human@example.org"))
    bot = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, website="http://spam.example"))
    assert bot.serialize() == human.serialize()


@pytest.mark.django_db
def test_honeypot_hit_writes_and_sends_nothing(client, signup_snippet, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, website="http://spam.example"))
    assert callbacks == []
    assert_nothing_written()


@pytest.mark.django_db
def test_too_fast_submission_rerenders_the_form_and_writes_nothing(client, signup_snippet, newsletter_settings):
    newsletter_settings(MIN_FILL_SECONDS=30)
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 400
    assert "That was quick!" in response.content.decode()
    assert_nothing_written()


@pytest.mark.django_db
def test_form_rerendered_after_a_timing_error_carries_a_new_stamp(client, signup_snippet, newsletter_settings):
    newsletter_settings(MAX_FORM_AGE_SECONDS=60)
    old = abuse.make_render_stamp(signup_snippet.pk, now=time.time() - 120)
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, rendered=old))
    assert response.status_code == 400
    assert "This form has expired" in response.content.decode()
    assert old not in response.content.decode()
    assert_nothing_written()


@pytest.mark.django_db
def test_submission_without_a_stamp_writes_nothing(client, signup_snippet):
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, rendered=None))
    assert response.status_code == 400
    assert_nothing_written()


@pytest.mark.django_db
def test_rate_limit_per_ip_answers_429_and_writes_nothing(client, signup_snippet, newsletter_settings):
    newsletter_settings(RATE_LIMIT_PER_IP=(2, 3600))
    for number in range(2):
        data = valid_post(signup_snippet, email=f"person{number}@example.org")
        assert client.post(subscribe_url(signup_snippet), data, REMOTE_ADDR="198.51.100.9").status_code == 303
    before = Subscriber.all_objects.count()
    response = client.post(
        subscribe_url(signup_snippet),
        valid_post(signup_snippet, email="third@example.org"),
        REMOTE_ADDR="198.51.100.10",
    )
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "too many" in response.content.decode().lower()
    assert Subscriber.all_objects.count() == before
    assert not Subscriber.all_objects.filter(email="third@example.org").exists()


@pytest.mark.django_db
def test_rate_limit_per_address_answers_429_and_writes_nothing(client, signup_snippet, newsletter_settings):
    from wagtail_newsletter.models import Consent

    newsletter_settings(RATE_LIMIT_PER_EMAIL=(2, 3600))
    for ip in ("198.51.100.1", "192.0.2.1"):
        assert client.post(subscribe_url(signup_snippet), valid_post(signup_snippet), REMOTE_ADDR=ip).status_code == 303
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet), REMOTE_ADDR="203.0.113.1")
    assert response.status_code == 429
    assert Consent.objects.count() == 2


@pytest.mark.django_db
def test_oversized_request_body_is_refused_and_writes_nothing(client, signup_snippet):
    data = valid_post(signup_snippet, city="x" * (abuse.MAX_BODY_BYTES + 10))
    response = client.post(subscribe_url(signup_snippet), data)
    assert response.status_code == 413
    assert_nothing_written()
