"""One campaign, every subscriber's language: planning, compiling once per translation, the checks before sending,
and a real send (aiosmtpd) of an English newsletter with a French translation."""

import os
from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import Locale

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.send import campaigns, links, translations
from wagtail_newsletter.send.models import CampaignTranslation, Delivery, Event, EventKind
from wagtail_newsletter.send.planner import plan_deliveries
from wagtail_newsletter.tokens import LinkSigner

from .compose_editor_fixtures import make_newsletter

BASE = "http://testserver"

FRENCH_BODY = [
    {
        "type": "heading",
        "value": {"text": 'Bonjour {{ first_name|default:"à vous" }}', "level": "1", "alignment": "left"},
    },
    {
        "type": "rich_text",
        "value": {"text": '<p>Lisez <a href="https://example.org/fr/printemps/">nos nouvelles</a>.</p>'},
    },
    {
        "type": "footer",
        "value": {"address": "1 rue Principale", "text": "", "unsubscribe_label": "", "web_version_label": ""},
    },
]


@pytest.fixture(name="i18n")
def i18n_fixture(settings):
    settings.WAGTAIL_I18N_ENABLED = True
    Locale.objects.get_or_create(language_code="en")
    return settings


def translate(page, code, publish=True, **fields):
    """``page`` copied into locale ``code`` with core ``copy_for_translation`` (the archive copied as an alias),
    changed by ``fields``, published unless told not to."""
    locale, _created = Locale.objects.get_or_create(language_code=code)
    copy = page.copy_for_translation(locale, copy_parents=True)
    for name, value in fields.items():
        setattr(copy, name, value)
    copy.save()
    revision = copy.save_revision()
    if publish:
        revision.publish()
    copy.refresh_from_db()
    return copy


def french(page, publish=True):
    return translate(
        page, "fr", publish=publish, title="Nouvelles du printemps", subject="Nouvelles pour {{ first_name }}",
        body=FRENCH_BODY,
    )  # fmt: skip


def make_readers(languages):
    """One subscriber per language code given (e.g. ["fr", "fr-CA", "", "de"])."""
    Subscriber.objects.bulk_create(
        [
            Subscriber(email=f"reader{i}@example.net", first_name=f"R{i}", language=code, status=Status.SUBSCRIBED)
            for i, code in enumerate(languages)
        ]
    )
    return list(Subscriber.objects.order_by("pk"))


@pytest.mark.django_db
def test_planner_gives_each_delivery_its_translation_or_the_default(archive, i18n):
    page = make_newsletter(archive)
    french(page)
    subscribers = make_readers(["fr", "FR-ca", "en", "", "de", "fr"])
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)
    compiled = campaigns.compile_campaign(campaign)
    translations.compile_translations(campaign, compiled)

    assert plan_deliveries(campaign) == 6

    languages = dict(Delivery.objects.filter(campaign=campaign).values_list("subscriber_id", "language"))
    assert [languages[s.pk] for s in subscribers] == ["fr", "fr", "", "", "", "fr"]


@pytest.mark.django_db
def test_without_i18n_everybody_gets_the_page_and_nothing_is_compiled_twice(archive, settings):
    settings.WAGTAIL_I18N_ENABLED = False
    page = make_newsletter(archive)
    french(page)
    make_readers(["fr", "en"])
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)

    assert campaigns.check_can_send(campaign) == []
    campaigns.send_now(campaign)

    assert not CampaignTranslation.objects.filter(campaign=campaign).exists()
    assert set(Delivery.objects.filter(campaign=campaign).values_list("language", flat=True)) == {""}


@pytest.mark.django_db
def test_each_translation_is_compiled_once_whatever_the_number_of_recipients(archive, i18n, monkeypatch):
    page = make_newsletter(archive)
    french(page)
    translate(page, "de", title="Frühlingsnachrichten")
    make_readers(["fr"] * 30 + ["de"] * 20 + ["en"] * 10)
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)
    monkeypatch.setattr(campaigns.dispatch, "kick_on_commit", lambda *args: None)  # plan only; nothing sent here
    calls = []
    real_compile = translations.compile_page
    monkeypatch.setattr(translations, "compile_page", lambda revision: calls.append(revision) or real_compile(revision))

    campaign = campaigns.send_now(campaign)

    assert len(calls) == 2  # French and German, once each; English is the campaign's own compile
    stored = {row.language: row for row in CampaignTranslation.objects.filter(campaign=campaign)}
    assert set(stored) == {"de", "fr"}
    # The links of each translation follow the campaign's own and the translations before it.
    own_links = len(campaign.compiled["links"])
    assert stored["de"].link_offset == own_links
    assert stored["fr"].link_offset == own_links + len(stored["de"].compiled["links"])
    assert translations.delivery_language_counts(campaign) == {"": 10, "de": 20, "fr": 30}
    # The page's own language field, copied unchanged into each translation, is that of the translation's locale.
    assert stored["fr"].compiled["language"] == "fr" and campaign.compiled["language"] == "en"


@pytest.mark.django_db
def test_an_unpublished_translation_keeps_the_campaign_from_starting_unless_the_default_is_chosen(archive, i18n):
    page = make_newsletter(archive)
    french(page, publish=False)
    make_readers(["fr", "fr", "en"])
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)

    plan = translations.language_plan(campaign, campaigns.campaign_recipients(campaign))
    assert plan.default == "en" and plan.default_count == 1
    assert [(language.code, language.status, count) for language, count in plan.languages] == [
        ("fr", translations.UNPUBLISHED, 2)
    ]
    problems = campaigns.check_can_send(campaign)
    assert len(problems) == 1 and "Français" in problems[0]  # WAGTAIL_CONTENT_LANGUAGES names it
    with pytest.raises(campaigns.CampaignError):
        campaigns.send_now(campaign)
    assert not Delivery.objects.filter(campaign=campaign).exists()

    campaign.translation_fallback = True
    campaign.save(update_fields=["translation_fallback"])
    assert campaigns.check_can_send(campaign) == []
    with mock.patch.object(campaigns.dispatch, "kick_on_commit"):
        campaigns.send_now(campaign)
    assert translations.delivery_language_counts(campaign) == {"": 3}  # French readers get English


@pytest.mark.django_db
def test_a_missing_translation_blocks_only_when_someone_reads_that_language(archive, i18n):
    page = make_newsletter(archive)
    french(page)
    Locale.objects.get_or_create(language_code="de")  # a locale of the site, no German translation
    make_readers(["fr", "en"])
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)
    assert campaigns.check_can_send(campaign) == []

    Subscriber.objects.create(email="leser@example.net", language="de", status=Status.SUBSCRIBED)
    plan = translations.language_plan(campaign, campaigns.campaign_recipients(campaign))
    assert [(language.code, language.status, count) for language, count in plan.languages] == [
        ("de", translations.MISSING, 1),
        ("fr", translations.PUBLISHED, 1),
    ]
    assert len(campaigns.check_can_send(campaign)) == 1


def started_with_french(archive, monkeypatch, languages=("fr", "en", "fr", "")):
    """A started (not yet sent) campaign of an English newsletter with a French translation."""
    page = make_newsletter(archive)
    french(page)
    make_readers(list(languages))
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)
    monkeypatch.setattr(campaigns.dispatch, "kick_on_commit", lambda *args: None)
    return campaigns.send_now(campaign)


def deliveries_in(campaign, language):
    return list(Delivery.objects.filter(campaign=campaign, language=language).order_by("pk"))


@pytest.mark.django_db
def test_click_on_a_french_mail_redirects_to_the_french_link(archive, i18n, monkeypatch, client):
    campaign = started_with_french(archive, monkeypatch)
    fr_delivery, en_delivery = deliveries_in(campaign, "fr")[0], deliveries_in(campaign, "")[0]
    fr_compiled, offset = links.compiled_for(campaign, "fr")
    en_compiled, _zero = links.compiled_for(campaign, "")
    assert offset == len(en_compiled.links)

    fr_urls = links.CampaignLinks.of(campaign, BASE, link_offset=offset).for_delivery(fr_delivery.pk)
    fr_urls = fr_urls.click_urls(fr_compiled.links)
    en_urls = links.CampaignLinks.of(campaign, BASE).for_delivery(en_delivery.pk).click_urls(en_compiled.links)
    fr_index = next(i for i, link in enumerate(fr_compiled.links) if "/fr/printemps/" in link.final_url)
    en_index = next(i for i, link in enumerate(en_compiled.links) if "/spring/" in link.final_url)

    response = client.get(fr_urls[fr_index].removeprefix(BASE))
    assert response.status_code == 302 and response["Location"] == fr_compiled.links[fr_index].final_url
    response = client.get(en_urls[en_index].removeprefix(BASE))
    assert response.status_code == 302 and response["Location"] == en_compiled.links[en_index].final_url
    clicks = list(Event.objects.filter(kind=EventKind.CLICK).order_by("pk").values_list("delivery_id", "link"))
    assert clicks == [(fr_delivery.pk, offset + fr_index), (en_delivery.pk, en_index)]


@pytest.mark.django_db
def test_a_click_token_beyond_every_language_s_links_gets_404_and_writes_nothing(archive, i18n, monkeypatch, client):
    campaign = started_with_french(archive, monkeypatch)
    delivery = deliveries_in(campaign, "fr")[0]
    table = links.link_table(campaign.pk)
    token = LinkSigner("click").sign(delivery.pk, len(table), campaign.pk)  # signed, but no link has that index
    assert client.get(reverse("wagtail_newsletter:click", args=[token])).status_code == 404
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_web_version_shows_the_translation_the_delivery_was_sent(archive, i18n, monkeypatch, client):
    campaign = started_with_french(archive, monkeypatch)
    for language, greeting, other in (("fr", "Bonjour", "Hello"), ("", "Hello", "Bonjour")):
        delivery = deliveries_in(campaign, language)[0]
        token = LinkSigner("web").sign(delivery.pk)
        html = client.get(reverse("wagtail_newsletter:web_version", args=[token])).content.decode()
        assert greeting in html and other not in html


@pytest.mark.django_db
def test_the_demo_sends_its_french_reader_the_french_welcome_issue(i18n, monkeypatch):
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    call_command("setup_demo", stdout=open(os.devnull, "w"))  # run again: the same translation, updated
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    french_issue = newsletter.get_translation(Locale.objects.get(language_code="fr")).specific
    assert french_issue.live and french_issue.subject.startswith("Bienvenue")
    campaign = campaigns.create_campaign(newsletter)
    campaigns.set_audience(campaign, True)
    assert campaigns.check_can_send(campaign) == []
    monkeypatch.setattr(campaigns.dispatch, "kick_on_commit", lambda *args: None)

    campaign = campaigns.send_now(campaign)

    french_deliveries = Delivery.objects.filter(campaign=campaign, language="fr")
    assert list(french_deliveries.values_list("subscriber__email", flat=True)) == ["camille@example.com"]
    compiled, _offset = links.compiled_for(campaign, "fr")
    assert "Bonjour" in compiled.source("html") and "Bienvenue" in compiled.source("subject")


@pytest.mark.django_db
def test_the_report_lists_each_translation_s_links_by_their_index_in_the_whole_table(archive, i18n, monkeypatch):
    campaign = started_with_french(archive, monkeypatch)
    from wagtail_newsletter.track.stats import link_rows

    rows = link_rows(campaign)
    offset = CampaignTranslation.objects.get(campaign=campaign).link_offset
    french_rows = [row for row in rows if row.label.startswith("[fr] ")]
    assert french_rows and all(row.index >= offset for row in french_rows)
    assert any(row.url == "https://example.org/fr/printemps/" for row in french_rows)
    assert all(row.index < offset for row in rows if not row.label.startswith("[fr] "))


@pytest.mark.django_db
def test_the_french_archive_lists_the_french_newsletter(archive, i18n):
    page = make_newsletter(archive)
    french_page = french(page)
    french_archive = french_page.get_parent().specific
    assert [newsletter.pk for newsletter in french_archive.get_newsletters()] == [french_page.pk]
    assert [newsletter.pk for newsletter in archive.get_newsletters()] == [page.pk]
