import datetime

import pytest

from wagtail_newsletter.audience.fields import InvalidValue, clean_text, coerce_field_value, normalise_email
from wagtail_newsletter.models import Field


@pytest.mark.parametrize(
    "raw, stored",
    [
        ("  Ada@Example.ORG ", "ada@example.org"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("josé@exemple.fr", "josé@exemple.fr"),
        ("user@bücher.de", "user@bücher.de"),
    ],
)
def test_valid_addresses_are_normalised(raw, stored):
    assert normalise_email(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plainaddress",
        "@example.org",
        "a@",
        "a@b",
        "a..b@example.org",
        "a@example..org",
        "a b@example.org",
        "a@example.org\r\nBcc: victim@example.org",
        "a@example.org\n",  # stripped -> still valid? no: strip removes trailing newline, see below
        "x" * 65 + "@example.org",
        "a@" + "b" * 250 + ".org",
        "a@localhost",
        "a@example.invalid",
        None,
        42,
    ],
)
def test_invalid_addresses_are_rejected(raw):
    if raw == "a@example.org\n":
        # Surrounding whitespace (incl. a trailing newline from a CSV) is stripped, not an error.
        assert normalise_email(raw) == "a@example.org"
        return
    with pytest.raises(InvalidValue):
        normalise_email(raw)


def test_fast_path_agrees_with_email_validator():
    from email_validator import validate_email

    for address in ["a.b-c_d@ex-ample.org", "o'hara@example.ie", "x+y=z@example.travel", "1@2.fr"]:
        assert normalise_email(address) == validate_email(address, check_deliverability=False).normalized.lower()


@pytest.mark.parametrize("raw", ["Ada\r\nBcc: x@example.org", "Ada\nLovelace", "A\x00da", "Ada\u2028Lovelace"])
def test_text_with_line_breaks_or_controls_is_rejected(raw):
    with pytest.raises(InvalidValue):
        clean_text(raw, label="First name")


def test_text_longer_than_limit_is_rejected():
    with pytest.raises(InvalidValue, match="at most 5"):
        clean_text("abcdef", max_length=5, label="Name")


def _field(type_, **kwargs):
    return Field(label="F", key="f", type=type_, **kwargs)


@pytest.mark.parametrize(
    "type_, raw, value",
    [
        ("text", "  Paris ", "Paris"),
        ("number", "42", 42),
        ("number", "3,5", 3.5),
        ("number", 7, 7),
        ("date", "2024-02-29", "2024-02-29"),
        ("date", "29/02/2024", "2024-02-29"),
        ("date", datetime.datetime(2024, 2, 29, 10, 0), "2024-02-29"),
        ("boolean", "oui", True),
        ("boolean", "No", False),
        ("boolean", True, True),
        ("text", "", None),
    ],
)
def test_custom_field_values_are_coerced(type_, raw, value):
    assert coerce_field_value(_field(type_), raw) == value


def test_choice_value_matches_an_option_case_insensitively():
    assert coerce_field_value(_field("choice", choices="Red\nGreen"), "green") == "Green"


@pytest.mark.parametrize(
    "type_, raw",
    [
        ("number", "forty"),
        ("number", "nan"),
        ("number", True),
        ("date", "2024-02-30"),
        ("date", "tomorrow"),
        ("boolean", "maybe"),
        ("text", "a\r\nb"),
    ],
)
def test_wrong_custom_field_types_are_rejected(type_, raw):
    with pytest.raises(InvalidValue, match="F"):
        coerce_field_value(_field(type_), raw)


def test_choice_outside_options_is_rejected():
    with pytest.raises(InvalidValue, match="one of"):
        coerce_field_value(_field("choice", choices="Red\nGreen"), "Blue")
