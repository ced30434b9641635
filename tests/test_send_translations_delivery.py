"""A real send of an English newsletter with a French translation (aiosmtpd; the worker in this process, then a real
``qcluster``): French subscribers get French, the others English; clicks and the web version follow the language;
the report's split per language adds up."""

import datetime
import re
from collections import Counter

import pytest
from django.test import Client
from django.utils import timezone

from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import CampaignTranslation, Delivery, DeliveryStatus
from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.languages import language_split
from wagtail_newsletter.track.models import CampaignStats, LinkStats

from .compose_editor_fixtures import make_newsletter
from .send_cluster import cluster_factory, cluster_log, wait_finished  # noqa: F401 (fixtures)
from .test_send_translations import french, i18n_fixture, make_readers  # noqa: F401 (fixture)

THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0"
LANGUAGES = ["fr", "en", "fr-CA", "", "de", "fr", "en"]  # three French readers, four others
FRENCH = {f"reader{i}@example.net" for i, code in enumerate(LANGUAGES) if code.lower().startswith("fr")}


def html_of(message):
    return message.get_body(("html",)).get_content()


def tracked_urls(html, endpoint):
    return re.findall(rf'(?:href|src)="https?://testserver(/newsletter/{endpoint}/[^"]+)"', html)


def assert_languages(messages):
    assert len(messages) == len(LANGUAGES)
    for received in messages:
        message, address = received["message"], received["to"][0]
        html = html_of(message)
        if address in FRENCH:
            assert message["Subject"].startswith("Nouvelles pour") and "Bonjour" in html and "Hello" not in html
        else:
            assert message["Subject"].startswith("Spring news for") and "Hello" in html and "Bonjour" not in html


def send_translated(archive):
    page = make_newsletter(archive)
    french(page)
    make_readers(LANGUAGES)
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)
    return campaigns.send_now(campaign)


@pytest.mark.django_db(transaction=True)
def test_french_readers_get_the_french_translation_and_the_report_splits_by_language(archive, smtp_server, i18n):
    campaign = send_translated(archive)

    messages = smtp_server.wait_for(len(LANGUAGES), timeout=30)
    assert_languages(messages)
    assert dict(Counter(Delivery.objects.filter(campaign=campaign).values_list("language", flat=True))) == {
        "fr": 3,
        "": 4,
    }

    # Every French reader opens; one French and one English reader click their mail's first tracked link.
    client = Client(HTTP_USER_AGENT=THUNDERBIRD, REMOTE_ADDR="198.51.100.7")
    clicked = {}
    for received in messages:
        html, address = html_of(received["message"]), received["to"][0]
        if address in FRENCH:
            assert client.get(tracked_urls(html, "o")[0]).status_code == 200
        if address in ("reader0@example.net", "reader1@example.net"):
            link = next(url for url in tracked_urls(html, "c"))
            clicked[address] = client.get(link)["Location"]
    assert clicked["reader0@example.net"].startswith("https://example.org/fr/printemps/")
    assert clicked["reader1@example.net"].startswith("https://example.org/spring/")
    aggregate(now=timezone.now() + datetime.timedelta(hours=1))

    split = {row.language: row for row in language_split(campaign)}
    assert {code: (row.recipients, row.sent) for code, row in split.items()} == {"": (4, 4), "fr": (3, 3)}
    # People's opens and clicks per language add up to the campaign's (the machine rules decide what a person is).
    stats = CampaignStats.objects.get(campaign=campaign)
    assert sum(row.sent for row in split.values()) == Delivery.objects.filter(status=DeliveryStatus.SENT).count()
    assert sum(row.opens for row in split.values()) == stats.opens
    assert sum(row.openers for row in split.values()) == stats.unique_opens
    assert sum(row.clicks for row in split.values()) == stats.clicks
    assert sum(row.clickers for row in split.values()) == stats.unique_clicks
    # Each click counted on its own language's link: the French one at its index in the campaign's whole table.
    offset = CampaignTranslation.objects.get(campaign=campaign).link_offset
    clicked_links = LinkStats.objects.filter(campaign=campaign).values_list("link", flat=True)
    assert len([link for link in clicked_links if link >= offset]) == 1
    assert len([link for link in clicked_links if link < offset]) == 1


@pytest.mark.django_db(transaction=True)
def test_the_report_page_shows_the_split(archive, smtp_server, i18n, admin_client):
    campaign = send_translated(archive)
    smtp_server.wait_for(len(LANGUAGES), timeout=30)
    from django.urls import reverse

    html = admin_client.get(reverse("newsletter_campaigns:report", args=[campaign.pk])).content.decode()
    assert 'data-report-language="fr"' in html and 'data-report-language="en"' in html
    total = re.search(r"data-report-language-total>.*?<td>(\d+)</td><td>(\d+)</td>", html, re.S)
    assert total.groups() == (str(len(LANGUAGES)), str(len(LANGUAGES)))


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_sends_each_reader_their_language(archive, smtp_server, i18n, cluster_factory, queue_for_real):  # noqa: F811
    cluster = cluster_factory(smtp_server.port, {"workers": 2, "timeout": 20, "retry": 25, "poll": 0.1})
    campaign = send_translated(archive)
    campaign = wait_finished(campaign, cluster, timeout=90)
    messages = smtp_server.wait_for(len(LANGUAGES), timeout=30)
    assert_languages(messages), cluster_log(cluster)
    split = {row.language: (row.recipients, row.sent) for row in language_split(campaign)}
    assert split == {"": (4, 4), "fr": (3, 3)}
    assert sum(sent for _recipients, sent in split.values()) == campaign.recipient_count


@pytest.mark.django_db(transaction=True)
def test_the_worker_prepares_each_language_once_whatever_the_number_of_readers(archive, smtp_server, i18n, monkeypatch):
    from wagtail_newsletter.send import worker

    prepared = []
    real = worker.compiled_for
    monkeypatch.setattr(
        worker, "compiled_for", lambda campaign, language: prepared.append(language) or real(campaign, language)
    )
    page = make_newsletter(archive)
    french(page)
    make_readers(["fr", "en"] * 15)
    campaign = campaigns.create_campaign(page)
    campaigns.set_audience(campaign, True)
    campaigns.send_now(campaign)

    assert len(smtp_server.wait_for(30, timeout=30)) == 30
    assert prepared == ["fr"]  # the campaign's own language is prepared with the sender; French once
