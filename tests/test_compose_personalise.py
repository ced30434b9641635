"""personalise: values escaped in HTML, plain in text, one line in headers; defaults; links; no database query."""

import pytest

from wagtail_newsletter.audience.models import Field, Subscriber
from wagtail_newsletter.compose.compiled import compile_email
from wagtail_newsletter.compose.merge_tags import standard_variables, today_text
from wagtail_newsletter.compose.personalise import InertLinks, personalise, sample_recipient

BASE = "https://example.org"
VARIABLES = {variable.name: variable for variable in standard_variables("en", BASE)}


def compile_body(body, subject="Hi {{ first_name|default:'friend' }}", **kwargs):
    document = f"<!DOCTYPE html><html><head></head><body>{body}</body></html>"
    return compile_email(document, subject=subject, base_url=BASE, variables=VARIABLES, **kwargs)


GREETING = compile_body('<p>Hello {{ first_name|default:"there" }}</p>')


def test_value_is_html_escaped_in_html():
    email = personalise(GREETING, {"email": "a@example.org", "first_name": "<script>alert('x')</script> & \"Co\""})
    assert "Hello &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Co&quot;" in email.html
    assert "<script>" not in email.html


def test_value_is_plain_in_text():
    email = personalise(GREETING, {"email": "a@example.org", "first_name": "<b>Tom</b> & Jerry"})
    assert "Hello <b>Tom</b> & Jerry" in email.text


def test_default_is_used_when_the_value_is_empty():
    email = personalise(GREETING, {"email": "a@example.org", "first_name": "  "})
    assert "Hello there" in email.html and "Hello there" in email.text and email.subject == "Hi friend"


def test_default_with_special_characters_is_escaped_in_html():
    compiled = compile_body('<p>Hello {{ first_name|default:"you & me" }}</p>')
    email = personalise(compiled, {"email": "a@example.org"})
    assert "Hello you &amp; me" in email.html and "Hello you & me" in email.text


def test_line_breaks_in_a_name_cannot_inject_a_header_through_the_subject():
    email = personalise(GREETING, {"email": "a@example.org", "first_name": "Ann\r\nBcc: x@evil"})
    assert "\r" not in email.subject and "\n" not in email.subject
    assert email.subject == "Hi Ann Bcc: x@evil"


def test_control_characters_are_removed_from_the_preheader():
    compiled = compile_body("<p>x</p>", preheader="For {{ first_name|default:'you' }}")
    email = personalise(compiled, {"email": "a@example.org", "first_name": "Ann\x00\x1b\u2028Lee"})
    assert email.preheader == "For Ann Lee"


def test_custom_field_values_come_from_data():
    variables = {**VARIABLES}
    compiled = compile_email("<p>{{ city|default:'your town' }}</p>", subject="S", base_url=BASE, variables=variables)
    assert "Lyon" in personalise(compiled, {"email": "a@example.org", "data": {"city": "Lyon"}}).html


def test_full_name_joins_first_and_last_name():
    compiled = compile_body("<p>{{ full_name|default:'reader' }}</p>")
    assert "<p>Ada Lovelace</p>" in personalise(compiled, {"first_name": "Ada", "last_name": "Lovelace"}).html


def test_without_links_clicks_go_to_the_final_url_and_unsubscribe_is_inert():
    compiled = compile_body('<a href="/a?x=1&amp;y=2">A</a> <a href="{{ unsubscribe_url }}">Unsubscribe</a>')
    email = personalise(compiled, {"email": "a@example.org"})
    assert 'href="https://example.org/a?x=1&amp;y=2"' in email.html
    assert 'href="https://example.org/?preview-unsubscribe"' in email.html
    assert "Unsubscribe (https://example.org/?preview-unsubscribe)" in email.text


class TrackingLinks:
    unsubscribe_url = "https://example.org/u/TOKEN?a=1&b=2"
    web_version_url = "https://example.org/w/TOKEN"

    def click_url(self, link_index, final_url):
        return f"https://example.org/c/{link_index}/?to={final_url}&sig=1"


def test_links_object_gives_click_and_unsubscribe_urls_escaped_in_html():
    compiled = compile_body(
        '<a href="/a">A</a> <a href="{{ unsubscribe_url }}">U</a> <a href="{{ web_version_url }}">W</a>'
    )
    email = personalise(compiled, {"email": "a@example.org"}, links=TrackingLinks())
    assert 'href="https://example.org/c/0/?to=https://example.org/a&amp;sig=1"' in email.html
    assert 'href="https://example.org/u/TOKEN?a=1&amp;b=2"' in email.html
    assert 'href="https://example.org/w/TOKEN"' in email.html
    assert "A (https://example.org/c/0/?to=https://example.org/a&sig=1)" in email.text


def test_inert_links_point_the_web_version_to_the_public_page():
    links = InertLinks(BASE, "https://example.org/newsletters/spring/")
    assert links.web_version_url == "https://example.org/newsletters/spring/"
    assert links.click_url(3, "https://example.org/x") == "https://example.org/x"


def test_date_is_today_in_the_newsletters_language():
    compiled = compile_body("<p>{{ date }}</p>", language="fr")
    assert f"<p>{today_text('fr')}</p>" in personalise(compiled, {"email": "a@example.org"}).html


@pytest.mark.django_db
def test_personalise_a_subscriber_makes_no_database_query(django_assert_num_queries):
    subscriber = Subscriber.objects.create(email="ann@example.org", first_name="Ann", data={"city": "Lyon"})
    compiled = compile_body('<p>Hi {{ first_name|default:"x" }} from {{ city|default:"?" }}</p><a href="/a">A</a>')
    with django_assert_num_queries(0):
        email = personalise(compiled, subscriber)
    assert "Hi Ann from Lyon" in email.html


@pytest.mark.django_db
def test_sample_recipient_carries_the_registry_sample_values():
    Field.objects.create(key="city", label="City", default="Paris")
    recipient = sample_recipient()
    assert recipient["first_name"] == "Ada" and recipient["data"]["city"] == "Paris"
