"""The example site serves each translation under its language prefix (Wagtail i18n with ``i18n_patterns``): the
French newsletter, its web version link and the French archive under /fr/…, the English ones where they were."""

import os
import re

import pytest
from django.core.management import call_command
from wagtail.models import Locale

from wagtail_newsletter.compose.models import NewsletterIndexPage, NewsletterPage

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("setup_demo", stdout=open(os.devnull, "w"))


def in_locale(model, code, **filters):
    return model.objects.get(locale=Locale.objects.get(language_code=code), **filters)


def test_the_french_newsletter_and_archive_have_their_own_urls(client, demo):
    english = NewsletterPage.objects.get(title="Welcome issue")
    french = in_locale(NewsletterPage, "fr", translation_key=english.translation_key)
    archive = in_locale(NewsletterIndexPage, "fr", translation_key=english.get_parent().translation_key)

    assert french.url.startswith("/fr/") and archive.url.startswith("/fr/")
    assert english.url != french.url

    page = client.get(french.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'lang="fr"' in html
    # Its "view in your browser" link is the French page's own public URL, which answers.
    web_version = re.search(r'href="(http[^"]*/fr/[^"]*)"[^>]*>[^<]*navigateur', html)
    assert web_version, "no French web version link"
    assert web_version.group(1).endswith(french.url)

    listing = client.get(archive.url)
    assert listing.status_code == 200
    listed = listing.content.decode()
    assert f'{french.url}"' in listed and f'testserver{english.url}"' not in listed  # the French issue only


def test_the_english_pages_stay_without_a_prefix(client, demo):
    english = NewsletterPage.objects.get(title="Welcome issue")
    assert not english.url.startswith("/en/") and not english.url.startswith("/fr/")
    response = client.get(english.url)
    assert response.status_code == 200 and 'lang="en"' in response.content.decode()


def test_paths_outside_the_pages_keep_the_visitors_language(client, demo):
    """The sign-up, confirmation and preference endpoints and the admin are not under a language prefix: the
    visitor's browser language still applies to them (example.middleware.SiteLocaleMiddleware)."""
    french = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    english = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="fr"' in french and 'lang="en"' in english
    home = client.get("/", HTTP_ACCEPT_LANGUAGE="fr")  # an English page stays English
    assert home.status_code == 200 and home["Content-Language"] == "en"
