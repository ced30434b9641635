"""The send wizard with a translated newsletter: recipients counted per language, the block on a translation that is
missing or not published, and the editor's choice to send those subscribers the default language instead."""

import re

import pytest
from django.urls import reverse
from wagtail.models import Locale

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery

from .campaign_admin_fixtures import campaigns_url, sender_client_fixture, sender_fixture  # noqa: F401 (fixtures)
from .compose_editor_fixtures import make_newsletter
from .test_send_translations import french, i18n_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def readers(*languages):
    for i, code in enumerate(languages):
        Subscriber.objects.create(email=f"reader{i}@example.net", language=code, status=Status.SUBSCRIBED)


def language_counts(html):
    """{language code: (count, status)} of the wizard's languages table."""
    rows = re.findall(
        r'data-language="([^"]*)".*?data-language-count>(\d+)<.*?data-language-status>([^<]*)<', html, re.S
    )
    return {code: (int(count), status) for code, count, status in rows}


def start(client, page):
    response = client.post(campaigns_url("send_new", page.pk), {"name": "Spring", "audience": "all"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Campaign.objects.get()


def test_checklist_counts_recipients_per_language(sender_client, archive, i18n):
    page = make_newsletter(archive)
    french(page)
    readers("fr", "fr-CA", "en", "", "de")
    campaign = start(sender_client, page)

    html = sender_client.get(campaigns_url("send_checks", campaign.pk)).content.decode()

    assert language_counts(html) == {"en": (3, "Default language"), "fr": (2, "Published")}
    # Each language can be previewed and test-sent as this campaign sends it (tests/test_audience_gaps_languages.py).
    fr_page = page.get_translation(Locale.objects.get(language_code="fr"))
    assert reverse("newsletter_compose:test_send", args=[fr_page.pk]) + f"?campaign={campaign.pk}" in html
    assert campaigns_url("language_preview", campaign.pk, fr_page.pk) in html
    assert "data-translation-fallback" not in html  # nothing to choose: every translation is published
    # The French translation's own checklist is shown; its warnings need the tick like the English ones.
    assert 'data-language-checklist="fr"' in html
    checks = campaigns_url("send_checks", campaign.pk)
    assert sender_client.post(checks, {"accept_warnings": "on"}).status_code == 302


def test_unpublished_translation_blocks_until_the_editor_sends_the_default_instead(sender_client, archive, i18n):
    page = make_newsletter(archive)
    french(page, publish=False)
    readers("fr", "en")
    campaign = start(sender_client, page)
    checks = campaigns_url("send_checks", campaign.pk)

    html = sender_client.get(checks).content.decode()
    assert language_counts(html)["fr"] == (1, "Not published")
    assert "not published (Français)" in html and "data-translation-fallback" in html
    response = sender_client.post(checks, {})
    assert response.status_code == 200 and "Fix the problems above before sending." in response.content.decode()

    response = sender_client.post(checks, {"set_translation_fallback": "1", "translation_fallback": "1"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.translation_fallback
    assert sender_client.post(checks, {}).status_code == 302  # no longer blocked
    assert sender_client.post(campaigns_url("send_schedule", campaign.pk), {"when": "now"}).status_code == 302
    confirm = sender_client.get(campaigns_url("send_confirm", campaign.pk)).content.decode()
    assert language_counts(confirm) == {"en": (1, "Default language"), "fr": (1, "Not published")}
    # The confirm step says what was chosen; its only form is the one that starts the campaign.
    assert "data-translation-fallback-chosen" in confirm and "data-translation-fallback>" not in confirm
    assert sender_client.post(campaigns_url("send_confirm", campaign.pk), {}).status_code == 302

    campaign.refresh_from_db()
    assert campaign.status in (CampaignStatus.SENDING, CampaignStatus.SENT)
    assert set(Delivery.objects.filter(campaign=campaign).values_list("language", flat=True)) == {""}


def test_unticking_the_choice_blocks_again(sender_client, archive, i18n):
    page = make_newsletter(archive)
    french(page, publish=False)
    readers("fr")
    campaign = start(sender_client, page)
    checks = campaigns_url("send_checks", campaign.pk)
    sender_client.post(checks, {"set_translation_fallback": "1", "translation_fallback": "1"})

    sender_client.post(checks, {"set_translation_fallback": "1"})  # the box unticked

    campaign.refresh_from_db()
    assert not campaign.translation_fallback
    assert sender_client.post(checks, {}).status_code == 200


def test_a_newsletter_without_translations_shows_no_languages(sender_client, archive, i18n):
    readers("fr")
    campaign = start(sender_client, make_newsletter(archive))
    html = sender_client.get(campaigns_url("send_checks", campaign.pk)).content.decode()
    assert "data-languages" not in html
