"""The form block on a page: what it renders, and the per-form counters."""

import json

import pytest
from wagtail.models import Page

from wagtail_newsletter.audience.optin import confirm_subscription
from wagtail_newsletter.models import Consent, SubscriptionForm

from .signup_fixtures import subscribe_url, valid_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def home_page(signup_snippet):
    from home.models import HomePage

    body = [
        {"type": "heading", "value": "Welcome"},
        {"type": "newsletter_form", "value": {"form": signup_snippet.pk}},
    ]
    page = HomePage(title="Block test", slug="block-test", body=json.dumps(body))
    Page.objects.get(depth=2).add_child(instance=page)
    page.save_revision().publish()
    return page


def views_of(snippet):
    return SubscriptionForm.objects.get(pk=snippet.pk).views


def test_block_renders_the_form_posting_to_the_subscribe_url(client, home_page, signup_snippet):
    html = client.get(home_page.url).content.decode()
    assert f'action="{subscribe_url(signup_snippet)}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<h2 class="wn-signup__title">Join us</h2>' in html
    assert signup_snippet.consent_text in html
    assert 'name="website"' in html and 'tabindex="-1"' in html and 'autocomplete="off"' in html


def test_block_uses_the_snippets_colours_and_button_label(client, home_page, signup_snippet):
    signup_snippet.primary_colour = "#123456"
    signup_snippet.button_label = "Count me in"
    signup_snippet.save()
    html = client.get(home_page.url).content.decode()
    assert "--wn-primary: #123456;" in html
    assert '<button type="submit" class="wn-signup__button">Count me in</button>' in html


def test_labels_inside_fields_render_as_placeholders_with_hidden_labels(client, home_page, signup_snippet):
    signup_snippet.label_style = "inside"
    signup_snippet.save()
    html = client.get(home_page.url).content.decode()
    assert 'placeholder="Email address *"' in html
    assert 'class="wn-signup__label wn-visually-hidden"' in html


def test_form_posted_from_the_page_subscribes(client, home_page, signup_snippet):
    client.get(home_page.url)
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 303
    assert Consent.objects.get().form == signup_snippet


def test_each_view_of_a_live_page_counts(client, home_page, signup_snippet):
    client.get(home_page.url)
    client.get(home_page.url)
    assert views_of(signup_snippet) == 2


def test_preview_does_not_count_a_view(home_page, signup_snippet, rf):
    response = home_page.make_preview_request()
    assert response.status_code == 200
    assert "wn-signup" in response.content.decode()
    assert views_of(signup_snippet) == 0


def test_unpublished_page_does_not_count_a_view(home_page, signup_snippet, admin_client):
    home_page.unpublish()
    preview = admin_client.get(f"/admin/pages/{home_page.pk}/view_draft/")
    assert preview.status_code == 200
    assert views_of(signup_snippet) == 0


def test_counting_a_view_is_one_atomic_update(home_page, signup_snippet, django_assert_num_queries):
    from wagtail_newsletter.audience.blocks import count_view

    with django_assert_num_queries(1) as captured:
        count_view(signup_snippet, {"request": object(), "page": home_page})
    assert '"views" = (' in captured.captured_queries[0]["sql"]


def test_counters_give_submissions_confirmations_and_rates(client, signup_snippet):
    SubscriptionForm.objects.filter(pk=signup_snippet.pk).update(views=10)
    for number in range(4):
        client.post(subscribe_url(signup_snippet), valid_post(signup_snippet, email=f"p{number}@example.org"))
    confirm_subscription(Consent.objects.order_by("pk").first().pk)
    form = SubscriptionForm.objects.with_counters().get(pk=signup_snippet.pk)
    assert (form.views, form.submissions, form.confirmations) == (10, 4, 1)
    assert form.conversion_rate == pytest.approx(0.4)
    assert form.confirmation_rate == pytest.approx(0.25)
    assert signup_snippet.counters() == {
        "views": 10,
        "submissions": 4,
        "confirmations": 1,
        "conversion_rate": pytest.approx(0.4),
        "confirmation_rate": pytest.approx(0.25),
    }


def test_rates_are_none_without_views_or_submissions(signup_snippet):
    form = SubscriptionForm.objects.with_counters().get(pk=signup_snippet.pk)
    assert (form.submissions, form.confirmations, form.conversion_rate, form.confirmation_rate) == (0, 0, None, None)


def test_counters_of_many_forms_take_one_query(signup_snippet, django_assert_num_queries):
    SubscriptionForm.objects.create(name="Footer")
    with django_assert_num_queries(1):
        rows = [(form.name, form.submissions) for form in SubscriptionForm.objects.with_counters()]
    assert rows == [("Footer", 0), ("Home", 0)]


def test_form_on_a_page_carries_a_working_csrf_token(home_page, signup_snippet):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.get(home_page.url)
    data = {**valid_post(signup_snippet), "csrfmiddlewaretoken": strict.cookies["csrftoken"].value}
    assert strict.post(subscribe_url(signup_snippet), data).status_code == 303
    assert Consent.objects.count() == 1
