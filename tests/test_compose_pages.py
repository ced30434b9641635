"""Newsletter pages, the archive page, themes, the email document and the preview modes."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse
from wagtail.models import Page
from wagtail.test.utils.form_data import nested_form_data, streamfield

from wagtail_newsletter.compose import themes
from wagtail_newsletter.compose.compiled import compile_page, page_base_url
from wagtail_newsletter.compose.personalise import personalise, sample_recipient
from wagtail_newsletter.compose.rendering import render_email_document
from wagtail_newsletter.models import NewsletterIndexPage, NewsletterPage, NewsletterTemplate

from .compose_editor_fixtures import make_newsletter

pytestmark = pytest.mark.django_db

BODY = [
    {"type": "heading", "value": {"text": 'Hello {{ first_name|default:"there" }}', "level": "1", "alignment": "left"}},
    {"type": "rich_text", "value": {"text": "<p>Our spring news.</p>"}},
    {"type": "footer", "value": {"address": "1 Rue de la Paix, Paris", "text": "", "unsubscribe_label": "",
                                 "web_version_label": ""}},
]  # fmt: skip


def spring_newsletter(archive, slug="spring", **fields):
    """This module's newsletter: BODY, and a title and slug of its own."""
    values = {"title": slug.title(), "slug": slug, "subject": 'Spring for {{ first_name|default:"you" }}',
              "preheader": "What is new this spring", "body": BODY, **fields}  # fmt: skip
    return make_newsletter(archive, **values)


def test_newsletter_is_created_under_an_index_page(archive):
    page = spring_newsletter(archive)
    assert page.get_parent().specific == archive
    assert NewsletterPage.can_create_at(archive)
    assert not NewsletterPage.can_create_at(Page.objects.get(depth=2))


def test_email_settings_have_their_defaults(archive):
    page = spring_newsletter(archive)
    assert page.tracking_enabled is True
    assert (page.utm_source, page.utm_medium, page.get_utm_campaign()) == ("newsletter", "email", "spring")
    assert page.language == "en"
    assert page.theme == "classic"


@pytest.mark.parametrize("field", ["subject", "preheader", "sender_name"])
def test_header_fields_reject_line_breaks(archive, field):
    values = {"title": "Bad", "slug": "bad", "subject": "Fine", field: "Hello\r\nBcc: victim@example.org"}
    page = NewsletterPage(**values)
    with pytest.raises(ValidationError) as error:
        archive.add_child(instance=page)  # Wagtail runs full_clean() before writing
    assert field in error.value.message_dict
    assert not NewsletterPage.objects.exists()


def test_subject_is_required(archive):
    with pytest.raises(ValidationError):
        archive.add_child(instance=NewsletterPage(title="No subject", slug="no-subject", subject=""))
    assert not NewsletterPage.objects.exists()


def test_email_document_has_the_head_an_email_needs(archive):
    page = spring_newsletter(archive)
    soup = BeautifulSoup(render_email_document(page), "html.parser")
    assert str(soup).startswith("<!DOCTYPE html>")
    assert soup.find("meta", charset="utf-8")
    assert soup.find("meta", attrs={"name": "viewport"})
    assert soup.find("meta", attrs={"name": "color-scheme"})["content"] == "light dark"
    assert soup.title.get_text() == 'Spring for {{ first_name|default:"you" }}'
    css = soup.style.get_text()
    assert "@media (max-width: 620px)" in css
    assert "@media (prefers-color-scheme: dark)" in css


def test_email_document_hides_the_preheader(archive):
    page = spring_newsletter(archive)
    soup = BeautifulSoup(render_email_document(page), "html.parser")
    preheader = soup.find("div", class_="wn-preheader")
    assert preheader.get_text().startswith("What is new this spring")
    assert "display:none" in preheader["style"]


def test_email_document_keeps_merge_tags_and_footer_links_as_tags(archive):
    page = spring_newsletter(archive)
    soup = BeautifulSoup(render_email_document(page), "html.parser")
    assert soup.find("h1").get_text() == 'Hello {{ first_name|default:"there" }}'
    footer = soup.find("td", class_="wn-footer")
    assert footer.find("a", href="{{ unsubscribe_url }}")
    assert footer.find("a", href="{{ web_version_url }}")


def test_email_document_uses_only_presentation_tables(archive):
    page = spring_newsletter(archive)
    soup = BeautifulSoup(render_email_document(page), "html.parser")
    assert all(table.get("role") == "presentation" for table in soup.find_all("table"))
    assert soup.find("script") is None
    assert "<link" not in str(soup)  # no external stylesheets or web fonts


def test_themes_are_visibly_different(archive):
    page = spring_newsletter(archive)
    documents = {}
    for name in ("classic", "bold", "minimal"):
        page.theme = name
        documents[name] = BeautifulSoup(render_email_document(page), "html.parser")
    backgrounds = {name: doc.body["bgcolor"] for name, doc in documents.items()}
    assert len(set(backgrounds.values())) == 3
    css = {name: doc.style.get_text() for name, doc in documents.items()}
    assert len(set(css.values())) == 3
    assert "Georgia" in css["minimal"] and "Georgia" not in css["classic"]
    assert documents["minimal"].find("td", class_="wn-header") is None
    assert documents["bold"].find("td", class_="wn-header-bar") is not None


def test_themes_avoid_pure_black_and_white():
    for theme in themes.get_themes().values():
        colours = {value.lower() for value in vars(theme.colours).values()}
        assert not colours & {"#000", "#000000", "#fff", "#ffffff"}


def test_a_registered_theme_becomes_a_choice(settings):
    custom = themes.Theme(name="test-ocean", label="Ocean", colours=themes.Colours(background="#0b3d5c"))
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "THEMES": [custom]}
    assert ("test-ocean", "Ocean") in themes.theme_choices()
    assert themes.get_theme("test-ocean") is custom
    assert themes.get_theme("no-such-theme").name == themes.DEFAULT_THEME


def test_web_version_is_public_so_variables_show_their_defaults(archive, client):
    page = spring_newsletter(archive)
    response = client.get(page.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "{{" not in html
    assert "Hello there" in html and "Ada" not in html
    anonymous = {"email": "", "first_name": "", "last_name": "", "language": page.language, "data": {}}
    assert html == personalise(compile_page(page), anonymous).html


def test_web_version_never_shows_the_preview_subscriber(archive, client):
    from wagtail_newsletter.models import Status, Subscriber

    grace = Subscriber.objects.create(email="grace@example.org", first_name="Grace", status=Status.SUBSCRIBED)
    page = spring_newsletter(archive, preview_subscriber=grace)
    assert "Grace" not in client.get(page.url).content.decode()


def test_archive_lists_live_newsletters_newest_first_with_share_links(archive, client):
    spring_newsletter(archive, slug="winter")
    spring_newsletter(archive, slug="spring")
    spring_newsletter(archive, slug="draft").unpublish()
    response = client.get(archive.url)
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    items = soup.find_all("li", class_="wn-archive-item")
    assert [item.find("h2").get_text() for item in items] == ["Spring", "Winter"]
    share = {a["class"][0]: a["href"] for a in items[0].find_all("a") if a.get("class")}
    spring_url = NewsletterPage.objects.get(slug="spring").get_full_url()
    assert share["wn-share-email"].startswith("mailto:?subject=Spring")
    assert share["wn-share-x"].startswith("https://twitter.com/intent/tweet?")
    assert share["wn-share-linkedin"].startswith("https://www.linkedin.com/sharing/share-offsite/?url=")
    assert share["wn-share-facebook"].startswith("https://www.facebook.com/sharer/sharer.php?u=")
    assert all("http%3A%2F%2F" in url and spring_url.split("://")[1].split("/")[0] in url for url in share.values())
    assert soup.find("script") is None


def test_template_copies_its_fields_to_a_new_newsletter(archive):
    template = NewsletterTemplate.objects.create(name="Monthly", theme="bold", body=BODY, subject="Our month",
                                                 sender_name="The team")  # fmt: skip
    page = archive.add_child(instance=NewsletterPage(title="May", slug="may", **template.page_values()))
    assert (page.theme, page.subject, page.sender_name) == ("bold", "Our month", "The team")
    assert [block.block_type for block in page.body] == ["heading", "rich_text", "footer"]
    assert NewsletterTemplate.values_from_page(page)["theme"] == "bold"


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", "password")
    client.force_login(user)
    return client


def preview_post_data(page):
    heading = {"text": 'Hello {{ first_name|default:"there" }}', "level": "1", "alignment": "left"}
    return nested_form_data(
        {"title": page.title, "slug": page.slug, "subject": page.subject, "preheader": page.preheader,
         "sender_name": "", "sender_email": "", "reply_to": "", "language": "en", "tracking_enabled": "on",
         "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "", "theme": page.theme,
         "body": streamfield([("heading", heading)])}
    )  # fmt: skip


def expected_sample(page):
    return personalise(compile_page(page), sample_recipient(language=page.language, base_url=page_base_url(page)))


@pytest.mark.parametrize("mode", ["email", "text"])
def test_preview_shows_exactly_what_personalise_produces(archive, admin_client, mode):
    page = spring_newsletter(archive, body=[BODY[0]])
    preview_url = reverse("wagtailadmin_pages:preview_on_edit", args=(page.pk,))
    response = admin_client.post(preview_url, preview_post_data(page))
    assert response.json() == {"is_valid": True, "is_available": True}
    response = admin_client.get(preview_url, {"mode": mode})
    assert response.status_code == 200
    expected = expected_sample(page)
    if mode == "email":
        assert response["Content-Type"].startswith("text/html")
        assert response.content.decode() == expected.html
        assert "Hello Ada" in expected.html  # the sample recipient's first name
    else:
        assert response["Content-Type"].startswith("text/plain")
        assert response.content.decode() == expected.text
        assert "Hello Ada" in expected.text


def test_preview_modes_and_sizes_are_offered(archive):
    page = spring_newsletter(archive)
    assert [mode for mode, _label in page.preview_modes] == ["email", "text"]
    assert {size["name"]: size["device_width"] for size in page.preview_sizes} == {"mobile": 375, "desktop": 1024}


def test_editor_finds_the_email_settings_in_their_own_tab(archive, admin_client):
    response = admin_client.get(
        reverse("wagtailadmin_pages:add", args=("wagtail_newsletter", "newsletterpage", archive.pk))
    )
    assert response.status_code == 200
    soup = BeautifulSoup(response.content, "html.parser")
    tabs = [tab.get_text(" ", strip=True).split(" (")[0] for tab in soup.select("[role=tab]")]
    assert tabs[:2] == ["Content", "Email"]
    for name in ("subject", "preheader", "sender_name", "sender_email", "reply_to", "language", "tracking_enabled",
                 "utm_source", "utm_medium", "utm_campaign", "theme"):  # fmt: skip
        assert soup.find(attrs={"name": name}) is not None, name


def test_archive_is_paginated(archive, client, monkeypatch):
    for number in range(3):
        spring_newsletter(archive, slug=f"issue-{number}")
    monkeypatch.setattr(NewsletterIndexPage, "per_page", 2)
    first = BeautifulSoup(client.get(archive.url).content, "html.parser")
    second = BeautifulSoup(client.get(archive.url, {"page": 2}).content, "html.parser")
    assert len(first.find_all("li", class_="wn-archive-item")) == 2
    assert [h.get_text() for h in second.select("li.wn-archive-item h2")] == ["Issue-0"]
    assert first.find("a", rel="next")["href"] == "?page=2"


def test_editor_text_is_escaped_in_the_document(archive):
    body = [{"type": "heading", "value": {"text": "<script>alert(1)</script>", "level": "2", "alignment": "left"}}]
    page = spring_newsletter(archive, body=body, subject="<b>Big</b> news")
    html = render_email_document(page)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<title>&lt;b&gt;Big&lt;/b&gt; news</title>" in html


def test_preview_as_a_chosen_subscriber_uses_their_data_escaped(archive, admin_client):
    from wagtail_newsletter.models import Status, Subscriber

    page = spring_newsletter(archive, body=[BODY[0]])
    grace = Subscriber.objects.create(email="grace@example.org", first_name="<Grace>", status=Status.SUBSCRIBED)
    preview_url = reverse("wagtailadmin_pages:preview_on_edit", args=(page.pk,))
    data = {**preview_post_data(page), "preview_subscriber": str(grace.pk)}
    assert admin_client.post(preview_url, data).json() == {"is_valid": True, "is_available": True}
    html = admin_client.get(preview_url, {"mode": "email"}).content.decode()
    assert "Hello &lt;Grace&gt;" in html
    assert html == personalise(compile_page(page), grace).html
    text = admin_client.get(preview_url, {"mode": "text"}).content.decode()
    assert "Hello <Grace>" in text
