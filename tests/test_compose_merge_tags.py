"""Merge tags: syntax, the variable registry, and problems reported instead of silently emptied values."""

import pytest

from wagtail_newsletter.audience.models import Field
from wagtail_newsletter.compose.merge_tags import (
    available_variables,
    find_variables,
    malformed_tags,
    standard_variables,
    variable_problems,
)

STANDARD = {variable.name: variable for variable in standard_variables("en", "https://example.org")}


def test_plain_tag_is_found_with_its_span():
    text = "Hello {{ first_name }}!"
    [tag] = find_variables(text)
    assert (tag.name, tag.default) == ("first_name", None)
    assert text[tag.span[0] : tag.span[1]] == "{{ first_name }}"


@pytest.mark.parametrize(
    "text",
    ['{{first_name|default:"there"}}', "{{ first_name | default : 'there' }}", '{{  first_name|default:"there"  }}'],
)
def test_default_in_double_or_single_quotes_whatever_the_spacing(text):
    [tag] = find_variables(text)
    assert (tag.name, tag.default) == ("first_name", "there")


def test_html_escaped_quotes_of_a_rich_text_editor_are_understood():
    [tag] = find_variables("<p>Hi {{ first_name|default:&quot;dear &amp; friend&quot; }}</p>", in_html=True)
    assert (tag.name, tag.default) == ("first_name", "dear & friend")


def test_unknown_variable_is_reported():
    problems = variable_problems(find_variables("{{ frist_name|default:'x' }}"), STANDARD)
    assert [(p.code, p.variable) for p in problems] == [("unknown-variable", "frist_name")]


def test_variable_that_may_be_empty_without_default_is_reported():
    problems = variable_problems(find_variables("Hi {{ first_name }}"), STANDARD)
    assert [(p.code, p.variable) for p in problems] == [("missing-default", "first_name")]


def test_variables_that_are_never_empty_need_no_default():
    text = "{{ email }} {{ unsubscribe_url }} {{ web_version_url }} {{ date }}"
    assert variable_problems(find_variables(text), STANDARD) == []


def test_a_problem_is_reported_once_however_often_the_tag_appears():
    problems = variable_problems(find_variables("{{ nope }} {{ nope }}"), STANDARD)
    assert len(problems) == 1


def test_malformed_tag_is_reported():
    malformed = malformed_tags("Hello {{ first name }} and {{ email }}")
    assert malformed == ["{{ first name }}"]
    assert [p.code for p in variable_problems([], STANDARD, malformed)] == ["malformed-tag"]


def test_standard_variables_each_have_label_description_and_sample():
    for variable in STANDARD.values():
        assert variable.label and variable.description and variable.sample


def test_date_sample_is_written_in_the_newsletters_language():
    french = {v.name: v for v in standard_variables("fr")}["date"].sample
    english = {v.name: v for v in standard_variables("en")}["date"].sample
    assert french != english


@pytest.mark.django_db
def test_custom_fields_are_variables_with_their_default():
    Field.objects.create(key="city", label="City", default="your town")
    Field.objects.create(key="plan", label="Plan", type=Field.Type.CHOICE, choices="Free\nPro")
    variables = available_variables()
    assert variables["city"].default == "your town" and not variables["city"].may_be_empty
    assert variables["plan"].sample == "Free" and variables["plan"].may_be_empty


@pytest.mark.django_db
def test_custom_field_with_its_own_default_needs_none_in_the_tag():
    Field.objects.create(key="city", label="City", default="your town")
    assert variable_problems(find_variables("{{ city }}"), available_variables()) == []
