"""The Django form built from a SubscriptionForm snippet, tested without HTTP."""

import pytest

from wagtail_newsletter.audience.signup_form import SignupForm
from wagtail_newsletter.models import Consent, Subscriber

from .signup_fixtures import valid_post

pytestmark = pytest.mark.django_db


def bound(snippet, **overrides):
    return SignupForm(snippet, data=valid_post(snippet, **overrides))


def test_valid_submission_gives_normalised_email_and_typed_values(signup_snippet):
    form = bound(signup_snippet, member="on")
    assert form.is_valid(), form.errors
    email, values = form.subscription_values()
    assert email == "ada@example.org"
    assert values == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "city": "London",
        "age": 36,
        "birthday": "1815-12-10",
        "member": True,
        "colour": "Green",
    }


def test_fields_follow_the_snippet_order_after_the_email(signup_snippet):
    names = SignupForm(signup_snippet).person_field_names()
    assert names == ["email", "first_name", "last_name", "city", "age", "birthday", "member", "colour"]


def test_consent_label_is_the_snippet_consent_text(signup_snippet):
    assert SignupForm(signup_snippet).fields["consent"].label == signup_snippet.consent_text


def test_missing_consent_is_an_error(signup_snippet):
    form = bound(signup_snippet, consent=None)
    assert not form.is_valid()
    assert "consent" in form.errors


@pytest.mark.parametrize(
    "email",
    ["", "not-an-address", "ada@", "a" * 250 + "@example.org", "ada@example.org\r\nBcc: eve@example.org"],
)
def test_invalid_or_oversized_email_is_an_error(signup_snippet, email):
    form = bound(signup_snippet, email=email)
    assert not form.is_valid()
    assert "email" in form.errors


@pytest.mark.parametrize("name", ["Ada\r\nBcc: eve@example.org", "Ada\nLovelace", "Ada\x00", "Ada\x07"])
def test_names_with_line_breaks_or_control_characters_are_rejected(signup_snippet, name):
    form = bound(signup_snippet, first_name=name)
    assert not form.is_valid()
    assert "first_name" in form.errors


def test_too_long_name_is_rejected(signup_snippet):
    form = bound(signup_snippet, last_name="x" * 101)
    assert not form.is_valid()
    assert "last_name" in form.errors


def test_too_long_custom_text_is_rejected(signup_snippet):
    form = bound(signup_snippet, city="x" * 256)
    assert not form.is_valid()
    assert "city" in form.errors


@pytest.mark.parametrize(
    ("key", "value"),
    [("age", "thirty"), ("age", "NaN"), ("birthday", "yesterday"), ("birthday", "2024-13-45"), ("colour", "Blue")],
)
def test_wrong_custom_field_types_are_rejected(signup_snippet, key, value):
    form = bound(signup_snippet, **{key: value})
    assert not form.is_valid()
    assert key in form.errors


def test_required_builtin_field_must_be_filled(signup_snippet):
    form = bound(signup_snippet, first_name="  ")
    assert not form.is_valid()
    assert "first_name" in form.errors


def test_required_custom_field_must_be_filled(signup_snippet):
    signup_snippet.form_fields.filter(custom_field__key="city").update(required=True)
    form = bound(signup_snippet, city="")
    assert not form.is_valid()
    assert "city" in form.errors


def test_optional_fields_may_stay_empty(signup_snippet):
    form = bound(signup_snippet, last_name="", city="", age="", birthday="", colour="")
    assert form.is_valid(), form.errors
    _email, values = form.subscription_values()
    assert values["age"] is None and values["city"] is None and values["member"] is False


def test_honeypot_is_hidden_from_people_and_from_autofill(signup_snippet):
    attrs = SignupForm(signup_snippet).honeypot_field.field.widget.attrs
    assert attrs == {"autocomplete": "off", "tabindex": "-1"}
    assert not SignupForm(signup_snippet).honeypot_field.field.required


def test_labels_inside_fields_become_placeholders(signup_snippet):
    signup_snippet.label_style = "inside"
    form = SignupForm(signup_snippet)
    assert form["email"].field.widget.attrs["placeholder"] == "Email address *"
    assert form["last_name"].field.widget.attrs["placeholder"] == "Last name"
    assert "placeholder" not in form["member"].field.widget.attrs
    assert form["colour"].field.choices[0] == ("", "Colour")
    assert not getattr(form["birthday"].field, "label_inside", False)  # a date picker keeps its label


def test_labels_above_fields_have_no_placeholders(signup_snippet):
    form = SignupForm(signup_snippet)
    assert "placeholder" not in form["email"].field.widget.attrs


def test_invalid_fields_point_to_their_error_message(signup_snippet):
    form = bound(signup_snippet, email="nope")
    form.is_valid()
    assert form["email"].field.widget.attrs["aria-invalid"] == "true"
    assert form["email"].field.widget.attrs["aria-describedby"] == f"wn-{signup_snippet.pk}-email-error"


def test_custom_field_named_like_a_control_field_gets_a_prefix(signup_snippet):
    from wagtail_newsletter.models import Field, SubscriptionFormField

    custom = Field.objects.create(key="website", label="Your website")
    SubscriptionFormField.objects.create(form=signup_snippet, custom_field=custom, sort_order=99)
    form = bound(signup_snippet, field_website="https://example.org")
    assert form.is_valid(), form.errors
    assert form.subscription_values()[1]["website"] == "https://example.org"


def test_building_and_validating_a_form_writes_nothing(signup_snippet):
    bound(signup_snippet).is_valid()
    assert Subscriber.all_objects.count() == 0 and Consent.objects.count() == 0
