"""Personalisation variables: the registry of names and the problems of the tags an email uses.

The ``{{ name }}`` / ``{{ name|default:"text" }}`` syntax is ``mail_text``'s (confirmation mails use it too).
Plain functions over plain data, except :func:`available_variables`, which reads the custom fields once.
"""

import datetime
from dataclasses import dataclass
from functools import lru_cache

from django.utils import formats, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..audience.models import Field
from ..mail_text import HTML_TAG, PLAIN_TAG, FoundTag, find_variables, malformed_tags  # noqa: F401 (the syntax)

# Variables whose value is a link: filled per recipient by the sender, never empty.
LINK_VARIABLES = ("unsubscribe_url", "web_version_url", "preferences_url")


@dataclass(frozen=True)
class Variable:
    """A variable editors may insert, with what the chooser and the preview show."""

    name: str
    label: str
    description: str
    sample: str
    may_be_empty: bool = True
    # A custom field's own default value (used when the tag gives none).
    default: str = ""

    @property
    def tag(self):
        return "{{ " + self.name + " }}"


@dataclass(frozen=True)
class Problem:
    """Something wrong with the variables of an email; ``message`` is for people."""

    code: str  # "unknown-variable", "missing-default", "malformed-tag"
    variable: str
    message: str


def today_text(language="", today=None):
    """Today's date written the way readers of ``language`` expect (e.g. "14 mars 2025")."""
    return _date_text(today or datetime.date.today(), language or "")


@lru_cache(maxsize=16)
def _date_text(day, language):
    with translation.override(language or None):
        return formats.date_format(day, "DATE_FORMAT")


def standard_variables(language="", base_url=""):
    """The built-in variables, in the order the chooser lists them."""
    root = (base_url or "").rstrip("/")
    return [
        Variable("email", _("Email address"), _("The subscriber's email address."), "ada@example.org", False),
        Variable("first_name", _("First name"), _("May be empty: give a default."), "Ada"),
        Variable("last_name", _("Last name"), _("May be empty: give a default."), "Lovelace"),
        Variable("full_name", _("Full name"), _("First and last name; may be empty."), "Ada Lovelace"),
        Variable("language", _("Language"), _("The subscriber's language code; may be empty."), "en"),
        Variable(
            "date", _("Date"), _("The date of sending, in the newsletter's language."), today_text(language), False
        ),
        Variable(
            "unsubscribe_url",
            _("Unsubscribe link"),
            _("The subscriber's own one-click unsubscribe link. Every newsletter needs one."),
            f"{root}/?preview-unsubscribe",
            False,
        ),
        Variable(
            "preferences_url",
            _("Preferences link"),
            _("The subscriber's own preference page: topics, language, a pause, or leaving with a reason."),
            f"{root}/?preview-preferences",
            False,
        ),
        Variable(
            "web_version_url",
            _("Web version link"),
            _("Link to the newsletter in a browser."),
            f"{root}/?preview-web-version",
            False,
        ),
    ]


def _field_sample(field):
    if field.default:
        return field.default
    if field.type == Field.Type.NUMBER:
        return "42"
    if field.type == Field.Type.DATE:
        return datetime.date.today().isoformat()
    if field.type == Field.Type.BOOLEAN:
        return "True"
    if field.type == Field.Type.CHOICE and field.choice_list:
        return field.choice_list[0]
    return str(field.label)


def available_variables(language="", base_url=""):
    """Every variable an email may use, by name: the standard ones and one per custom ``Field`` (one query)."""
    variables = {variable.name: variable for variable in standard_variables(language, base_url)}
    for field in Field.objects.all():
        variables.setdefault(
            field.key,
            Variable(
                field.key,
                field.label,
                gettext("Custom field “%(label)s”.") % {"label": field.label},
                _field_sample(field),
                may_be_empty=not field.default,
                default=field.default,
            ),
        )
    return variables


def variable_problems(found, variables, malformed=()):
    """Problems of the tags ``found`` against the registry ``variables``: reported, never silently emptied."""
    problems = {}

    def report(code, subject, message):
        # One problem per (code, subject), however often the tag is used.
        if (code, subject) not in problems:
            problems[code, subject] = Problem(code, subject, message)

    for tag in malformed:
        report("malformed-tag", tag, gettext("“%(tag)s” is not a valid variable.") % {"tag": tag})
    for tag in found:
        variable = variables.get(tag.name)
        if variable is None:
            report(
                "unknown-variable", tag.name, gettext("The variable “%(name)s” does not exist.") % {"name": tag.name}
            )
        elif variable.may_be_empty and not tag.default:
            message = gettext("“%(name)s” may be empty for some subscribers: give it a default.") % {"name": tag.name}
            report("missing-default", tag.name, message)
    return list(problems.values())
