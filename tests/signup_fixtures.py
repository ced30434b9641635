"""Fixtures of the sign-up tests: a subscription form with built-in and custom fields, and a
valid submission of it. Imported by tests/test_signup_*.py, test_optin_*.py and test_abuse_*.py."""

import pytest
from django.urls import reverse

from wagtail_newsletter.audience.abuse import make_render_stamp
from wagtail_newsletter.models import Field, Group, SubscriptionForm, SubscriptionFormField

CONSENT_TEXT = "I agree to receive the Example newsletter. I can unsubscribe at any time."


@pytest.fixture
def readers(db):
    return Group.objects.create(name="Readers")


@pytest.fixture
def signup_snippet(db, readers):
    """A form asking first name (required), last name, and custom city, age, birthday, member, colour."""
    form = SubscriptionForm.objects.create(
        name="Home",
        title="Join us",
        consent_text=CONSENT_TEXT,
        email_subject="Please confirm, {{ first_name }}",
        email_body='<p>Hello {{ first_name|default:"friend" }},</p><p>confirm for {{ email }}.</p>',
    )
    form.groups.add(readers)
    form.save()  # a ParentalManyToManyField is written on save
    fields = [
        SubscriptionFormField(builtin="first_name", required=True),
        SubscriptionFormField(builtin="last_name"),
    ]
    for key, label, type_, choices in [
        ("city", "City", Field.Type.TEXT, ""),
        ("age", "Age", Field.Type.NUMBER, ""),
        ("birthday", "Birthday", Field.Type.DATE, ""),
        ("member", "Member", Field.Type.BOOLEAN, ""),
        ("colour", "Colour", Field.Type.CHOICE, "Red\nGreen"),
    ]:
        custom = Field.objects.create(key=key, label=label, type=type_, choices=choices)
        fields.append(SubscriptionFormField(custom_field=custom))
    for order, field in enumerate(fields):
        field.form = form
        field.sort_order = order
        field.save()
    return form


def subscribe_url(form):
    return reverse("wagtail_newsletter:subscribe", args=[form.pk])


def valid_post(form, **overrides):
    """A submission that passes every check (the test settings set MIN_FILL_SECONDS to 0)."""
    data = {
        "email": "Ada@Example.org ",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "city": "London",
        "age": "36",
        "birthday": "1815-12-10",
        "colour": "Green",
        "consent": "on",
        "website": "",
        "rendered": make_render_stamp(form.pk),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def assert_nothing_written():
    from django.core import mail

    from wagtail_newsletter.models import Consent, StatusEvent, Subscriber

    assert Subscriber.all_objects.count() == 0
    assert Consent.objects.count() == 0
    assert StatusEvent.objects.count() == 0
    assert mail.outbox == []
