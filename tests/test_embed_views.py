"""Forms embedded on other sites: /newsletter/embed/<id>/ (the page in the iframe, posting to
itself without CSRF) and /newsletter/embed/<id>.js (the loader script), and the admin's code panel."""

import pytest
from django.test import Client
from django.urls import reverse

from wagtail_newsletter.audience.abuse import make_render_stamp
from wagtail_newsletter.models import Consent, Status, Subscriber, SubscriptionForm

from .signup_fixtures import CONSENT_TEXT, assert_nothing_written, valid_post

pytestmark = pytest.mark.django_db


def embed_url(form):
    return reverse("wagtail_newsletter:embed", args=[form.pk])


def loader_url(form):
    return reverse("wagtail_newsletter:embed_loader", args=[form.pk])


@pytest.fixture
def browser_client():
    """Like a browser inside another site's iframe: CSRF checked, no CSRF cookie to send."""
    return Client(enforce_csrf_checks=True)


def post_embedded(client, form, **overrides):
    return client.post(embed_url(form), valid_post(form, **overrides), HTTP_ORIGIN="http://127.0.0.1:9999")


def test_embed_page_may_be_framed_by_any_site(client, signup_snippet):
    response = client.get(embed_url(signup_snippet))
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == "frame-ancestors *"


def test_embed_page_shows_the_form_posting_to_itself_without_a_csrf_token(client, signup_snippet):
    html = client.get(embed_url(signup_snippet)).content.decode()
    assert f'action="{embed_url(signup_snippet)}" target="_self"' in html
    assert 'name="csrfmiddlewaretoken"' not in html
    assert 'name="rendered"' in html
    assert CONSENT_TEXT in html
    assert signup_snippet.background_colour in html


def test_embed_page_has_no_site_layout(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BASE_TEMPLATE": "base.html"}
    html = client.get(embed_url(signup_snippet)).content.decode()
    assert "Example newsletter site" not in html
    assert "background: transparent" in html


def test_showing_the_embed_page_counts_a_view(client, signup_snippet):
    client.get(embed_url(signup_snippet))
    client.get(embed_url(signup_snippet))
    assert SubscriptionForm.objects.get(pk=signup_snippet.pk).views == 2


def test_allowed_origins_restrict_who_may_frame_it(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {
        **settings.WAGTAIL_NEWSLETTER,
        "EMBED_ALLOWED_ORIGINS": ["https://partner.example", "https://blog.example.org/"],
    }
    response = client.get(embed_url(signup_snippet))
    assert response["Content-Security-Policy"] == (
        "frame-ancestors 'self' https://partner.example https://blog.example.org"
    )


def test_no_allowed_origins_turns_embedding_off(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "EMBED_ALLOWED_ORIGINS": []}
    assert client.get(embed_url(signup_snippet)).status_code == 404
    assert client.get(loader_url(signup_snippet)).status_code == 404
    assert post_embedded(client, signup_snippet).status_code == 404
    assert_nothing_written()


def test_post_without_csrf_records_a_pending_sign_up_and_mails_the_confirmation(
    browser_client, signup_snippet, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_embedded(browser_client, signup_snippet)
    assert response.status_code == 303
    assert response["Location"] == reverse("wagtail_newsletter:embed_done", args=[signup_snippet.pk])
    subscriber = Subscriber.all_objects.get()
    assert (subscriber.email, subscriber.status) == ("ada@example.org", Status.PENDING)
    consent = Consent.objects.get()
    assert (consent.form, consent.text) == (signup_snippet, CONSENT_TEXT)
    [received] = smtp_server.wait_for(1)
    assert received["to"] == ["ada@example.org"]
    assert "/newsletter/confirm/" in received["message"].get_body(preferencelist=("plain",)).get_content()


def test_success_text_is_shown_inside_the_frame(client, signup_snippet):
    signup_snippet.success_text = "<p>Look in your mailbox, please.</p>"
    signup_snippet.save()
    response = client.post(embed_url(signup_snippet), valid_post(signup_snippet), follow=True)
    assert response.status_code == 200
    assert "Look in your mailbox, please." in response.content.decode()
    assert response["Content-Security-Policy"] == "frame-ancestors *"
    assert "X-Frame-Options" not in response


def test_success_page_of_the_snippet_is_not_followed_from_the_frame(client, signup_snippet):
    from wagtail.models import Page

    signup_snippet.success_page = Page.objects.get(depth=2)
    signup_snippet.save()
    response = client.post(embed_url(signup_snippet), valid_post(signup_snippet))
    assert response["Location"] == reverse("wagtail_newsletter:embed_done", args=[signup_snippet.pk])


@pytest.mark.parametrize("stamp", ["", "garbage", "1.1700000000000:forged"])
def test_missing_or_forged_render_stamp_writes_nothing(client, signup_snippet, stamp):
    response = post_embedded(client, signup_snippet, rendered=stamp)
    assert response.status_code == 400
    assert "This form has expired" in response.content.decode()
    assert_nothing_written()


def test_render_stamp_of_another_form_writes_nothing(client, signup_snippet):
    other = SubscriptionForm.objects.create(name="Other")
    response = post_embedded(client, signup_snippet, rendered=make_render_stamp(other.pk))
    assert response.status_code == 400
    assert_nothing_written()


def test_invalid_input_rerenders_the_form_in_the_frame_and_writes_nothing(client, signup_snippet):
    response = post_embedded(client, signup_snippet, email="not an address")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert f'action="{embed_url(signup_snippet)}"' in html
    assert response["Content-Security-Policy"] == "frame-ancestors *"
    assert_nothing_written()


def test_honeypot_answers_like_a_success_and_writes_nothing(client, signup_snippet):
    response = post_embedded(client, signup_snippet, website="http://spam.example")
    assert response.status_code == 303
    assert response["Location"] == reverse("wagtail_newsletter:embed_done", args=[signup_snippet.pk])
    assert_nothing_written()


def test_rate_limit_per_ip_applies_in_the_frame(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "RATE_LIMIT_PER_IP": (1, 600)}
    assert post_embedded(client, signup_snippet, email="one@example.org").status_code == 303
    response = post_embedded(client, signup_snippet, email="two@example.org")
    assert response.status_code == 429
    assert response["Retry-After"] == "600"
    assert "Too many attempts" in response.content.decode()
    assert response["Content-Security-Policy"] == "frame-ancestors *"
    assert list(Subscriber.all_objects.values_list("email", flat=True)) == ["one@example.org"]


def test_rate_limit_per_address_applies_in_the_frame(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "RATE_LIMIT_PER_EMAIL": (1, 600)}
    post_embedded(client, signup_snippet)
    response = client.post(embed_url(signup_snippet), valid_post(signup_snippet), REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 429
    assert Consent.objects.count() == 1


def test_oversized_body_writes_nothing(client, signup_snippet):
    response = post_embedded(client, signup_snippet, city="x" * 40_000)
    assert response.status_code == 413
    assert_nothing_written()


def test_already_subscribed_address_gets_the_same_answer_as_a_new_one(client, signup_snippet):
    Subscriber.objects.create(email="known@example.org", status=Status.SUBSCRIBED)
    new = post_embedded(client, signup_snippet, email="new@example.org")
    known = post_embedded(client, signup_snippet, email="known@example.org")
    assert new.status_code == known.status_code == 303
    assert new.serialize() == known.serialize()
    done = reverse("wagtail_newsletter:embed_done", args=[signup_snippet.pk])
    assert client.get(done).content == client.get(done).content


def test_unknown_form_is_404(client, db):
    assert client.get(reverse("wagtail_newsletter:embed", args=[999])).status_code == 404
    assert client.get(reverse("wagtail_newsletter:embed_loader", args=[999])).status_code == 404
    assert client.post(reverse("wagtail_newsletter:embed", args=[999]), {}).status_code == 404


def test_other_methods_are_refused(client, signup_snippet):
    assert client.put(embed_url(signup_snippet)).status_code == 405
    assert client.post(loader_url(signup_snippet)).status_code == 405
    assert_nothing_written()


def test_loader_is_cacheable_javascript(client, signup_snippet):
    response = client.get(loader_url(signup_snippet))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert "max-age=3600" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]


def test_loader_contains_the_absolute_embed_url(client, signup_snippet):
    script = client.get(loader_url(signup_snippet)).content.decode()
    assert f'"page": "http://testserver/newsletter/embed/{signup_snippet.pk}/"' in script
    assert "event.origin !== origin" in script


def test_loader_uses_the_request_host_without_a_base_url(client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BASE_URL": ""}
    script = client.get(loader_url(signup_snippet), HTTP_HOST="localhost").content.decode()
    assert f'"page": "http://localhost/newsletter/embed/{signup_snippet.pk}/"' in script


def test_loader_escapes_the_form_title(client, signup_snippet):
    signup_snippet.title = 'Join "us" </script><script>alert(1)</script>'
    signup_snippet.save()
    script = client.get(loader_url(signup_snippet)).content.decode()
    assert "<script>alert" not in script
    assert r"Join \"us\"" in script


def test_admin_edit_view_shows_the_embed_codes(admin_client, signup_snippet):
    url = reverse("wagtailsnippets_wagtail_newsletter_subscriptionform:edit", args=[signup_snippet.pk])
    html = admin_client.get(url).content.decode()
    assert "Embed on another site" in html
    assert (
        f"&lt;script src=&quot;http://testserver/newsletter/embed/{signup_snippet.pk}.js&quot; async&gt;&lt;/script&gt;"
        in html
    )
    assert f"&lt;iframe src=&quot;http://testserver/newsletter/embed/{signup_snippet.pk}/&quot;" in html


def test_admin_create_view_has_no_embed_codes(admin_client):
    html = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_subscriptionform:add")).content.decode()
    assert "Embed on another site" not in html
    assert "/newsletter/embed/" not in html


def test_admin_says_when_embedding_is_off(admin_client, signup_snippet, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "EMBED_ALLOWED_ORIGINS": []}
    url = reverse("wagtailsnippets_wagtail_newsletter_subscriptionform:edit", args=[signup_snippet.pk])
    html = admin_client.get(url).content.decode()
    assert "Embedding on other sites is turned off" in html
    assert "/newsletter/embed/" not in html
