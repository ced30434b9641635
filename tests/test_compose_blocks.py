"""The email blocks render table-based, email-safe HTML."""

import re

import pytest
from bs4 import BeautifulSoup
from django.core.exceptions import ValidationError
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Page

from wagtail_newsletter.compose import blocks
from wagtail_newsletter.compose.themes import get_theme

pytestmark = pytest.mark.django_db


def render(block, raw, theme="classic", content_width=552):
    value = block.to_python(raw)
    html = block.render(value, context={"theme": get_theme(theme), "content_width": content_width})
    return BeautifulSoup(html, "html.parser")


def assert_layout_table(soup):
    table = soup.find("table")
    assert table is not None
    assert table["role"] == "presentation"
    assert table["cellpadding"] == "0" and table["cellspacing"] == "0"
    html = str(soup)
    assert "display:flex" not in html.replace(" ", "") and "grid" not in html
    assert "<script" not in html


@pytest.fixture
def image():
    return Image.objects.create(title="Harbour", file=get_test_image_file(size=(1600, 800)))


def test_heading_renders_level_and_alignment_in_a_layout_table():
    soup = render(blocks.HeadingBlock(), {"text": "Spring news", "level": "1", "alignment": "center"})
    assert_layout_table(soup)
    heading = soup.find("h1")
    assert heading.get_text() == "Spring news"
    assert heading.find_parent("td")["align"] == "center"


def test_heading_keeps_merge_tags_as_typed():
    soup = render(
        blocks.HeadingBlock(), {"text": 'Hi {{ first_name|default:"there" }}', "level": "2", "alignment": "left"}
    )
    assert soup.find("h2").get_text() == 'Hi {{ first_name|default:"there" }}'


def test_rich_text_renders_inside_a_layout_table():
    soup = render(blocks.TextBlock(), {"text": "<p>Hello <b>world</b></p><ul><li>one</li></ul>"})
    assert_layout_table(soup)
    cell = soup.find("td", class_="wn-text")
    assert cell.find("b").get_text() == "world"
    assert cell.find("li").get_text() == "one"


def test_rich_text_offers_only_email_safe_features_and_the_variable_control():
    features = blocks.TextBlock().child_blocks["text"].features
    assert features == ["bold", "italic", "link", "ol", "ul", "h2", "h3", "newsletter-variable"]


def test_variable_control_is_a_toolbar_control_not_stored_markup():
    from wagtail.admin.rich_text.converters.contentstate import ContentstateConverter

    converter = ContentstateConverter(blocks.RICH_TEXT_FEATURES)
    html = '<p>Hello {{ first_name|default:"there" }}</p>'
    round_trip = converter.to_database_format(converter.from_database_format(html))
    assert re.sub(r' data-block-key="[^"]*"', "", round_trip) == html


def test_image_renders_an_absolute_retina_rendition_with_alt_text(image):
    soup = render(
        blocks.ImageBlock(), {"image": image.pk, "alt_text": "The harbour at dawn", "caption": "", "link": ""}
    )
    assert_layout_table(soup)
    img = soup.find("img")
    assert img["alt"] == "The harbour at dawn"
    assert img["src"].startswith("http://testserver/")
    assert "width-1104" in img["src"]  # twice the 552 px slot
    assert (img["width"], img["height"]) == ("552", "276")


def test_image_in_a_column_is_sized_for_the_column(image):
    raw = {"left": [{"type": "image", "value": {"image": image.pk, "alt_text": "Left", "caption": "", "link": ""}}]}
    raw["right"] = []
    soup = render(blocks.TwoColumnsBlock(), raw)
    img = soup.find("img")
    assert img["width"] == "268"
    assert "width-536" in img["src"]


def test_image_with_link_and_caption(image):
    raw = {"image": image.pk, "alt_text": "Harbour", "caption": "Photo: Ada", "link": "https://example.org/harbour"}
    soup = render(blocks.ImageBlock(), raw)
    assert soup.find("a")["href"] == "https://example.org/harbour"
    assert soup.find("a").find("img") is not None
    assert soup.find("p", class_="wn-caption").get_text() == "Photo: Ada"


def test_image_block_rejects_missing_alt_text(image):
    block = blocks.ImageBlock()
    value = block.to_python({"image": image.pk, "alt_text": "", "caption": "", "link": ""})
    with pytest.raises(ValidationError):
        block.clean(value)


def test_image_block_rejects_blank_alt_text(image):
    block = blocks.ImageBlock()
    value = block.to_python({"image": image.pk, "alt_text": "   ", "caption": "", "link": ""})
    with pytest.raises(ValidationError):
        block.clean(value)


def test_button_is_a_bulletproof_table_with_the_theme_colours():
    soup = render(
        blocks.ButtonBlock(), {"label": "Read it", "page": None, "url": "https://example.org/", "alignment": "center"}
    )
    assert_layout_table(soup)
    cell = soup.find("td", class_="wn-button-cell")
    theme = get_theme("classic")
    assert cell["bgcolor"] == theme.colours.button_background
    link = cell.find("a")
    assert link["href"] == "https://example.org/"
    assert link.get_text() == "Read it"
    assert theme.colours.button_text in link["style"]


def test_button_colours_follow_the_theme():
    raw = {"label": "Go", "page": None, "url": "https://example.org/", "alignment": "left"}
    bold = render(blocks.ButtonBlock(), raw, theme="bold").find("td", class_="wn-button-cell")["bgcolor"]
    classic = render(blocks.ButtonBlock(), raw, theme="classic").find("td", class_="wn-button-cell")["bgcolor"]
    assert bold != classic


def test_button_to_a_page_links_to_its_full_url():
    home = Page.objects.get(depth=2)
    soup = render(blocks.ButtonBlock(), {"label": "Home", "page": home.pk, "url": "", "alignment": "center"})
    assert soup.find("a", class_="wn-button-link")["href"] == home.get_full_url()
    assert soup.find("a", class_="wn-button-link")["href"].startswith("http")


def test_button_without_page_or_url_is_rejected():
    block = blocks.ButtonBlock()
    with pytest.raises(ValidationError):
        block.clean(block.to_python({"label": "Nowhere", "page": None, "url": "", "alignment": "center"}))


def test_divider_is_a_bordered_table_cell():
    soup = render(blocks.DividerBlock(), None)
    assert_layout_table(soup)
    assert "border-top:1px solid" in soup.find("td", class_="wn-divider-line")["style"]


def test_spacer_has_its_height_in_attribute_and_style():
    soup = render(blocks.SpacerBlock(), {"height": 40})
    assert_layout_table(soup)
    cell = soup.find("td", class_="wn-spacer")
    assert cell["height"] == "40"
    assert "height:40px" in cell["style"]


def test_quote_shows_text_and_attribution():
    soup = render(blocks.QuoteBlock(), {"text": "Less is more.", "attribution": "Mies"})
    assert_layout_table(soup)
    assert soup.find("p", class_="wn-quote-text").get_text() == "Less is more."
    assert "Mies" in soup.find("p", class_="wn-quote-attribution").get_text()


def test_two_columns_are_cells_that_stack_on_mobile():
    raw = {
        "left": [{"type": "heading", "value": {"text": "Left", "level": "3", "alignment": "left"}}],
        "right": [{"type": "heading", "value": {"text": "Right", "level": "3", "alignment": "left"}}],
    }
    soup = render(blocks.TwoColumnsBlock(), raw)
    assert_layout_table(soup)
    columns = soup.find_all("td", class_="wn-column")
    assert [c.find("h3").get_text() for c in columns] == ["Left", "Right"]
    assert all(c["width"] == "268" and c["valign"] == "top" for c in columns)


def test_three_columns_share_the_width():
    column = [{"type": "spacer", "value": {"height": 8}}]
    soup = render(blocks.ThreeColumnsBlock(), {"left": column, "middle": column, "right": column})
    columns = soup.find_all("td", class_="wn-column")
    assert len(columns) == 3
    assert {c["width"] for c in columns} == {"173"}


def test_article_teaser_defaults_to_the_page_title_and_full_url():
    home = Page.objects.get(depth=2)
    raw = {"page": home.pk, "title": "", "summary": "", "image": None, "image_alt_text": "", "link_label": ""}
    soup = render(blocks.ArticleTeaserBlock(), raw)
    assert_layout_table(soup)
    title_link = soup.find("h3", class_="wn-teaser-title").find("a")
    assert title_link.get_text() == home.title
    assert title_link["href"] == home.get_full_url()
    assert "Read more" in soup.find("p", class_="wn-teaser-more").get_text()


def test_article_teaser_overrides_title_summary_and_image(image):
    home = Page.objects.get(depth=2)
    raw = {"page": home.pk, "title": "Our big news", "summary": "All about it.", "image": image.pk,
           "image_alt_text": "Harbour", "link_label": "Continue"}  # fmt: skip
    soup = render(blocks.ArticleTeaserBlock(), raw)
    assert soup.find("h3").get_text() == "Our big news"
    assert soup.find("p", class_="wn-teaser-summary").get_text() == "All about it."
    assert soup.find("img")["alt"] == "Harbour"
    assert soup.find("img")["src"].startswith("http://testserver/")
    assert "Continue" in soup.find("p", class_="wn-teaser-more").get_text()


def test_social_links_are_text_links_without_external_images():
    raw = {"links": [{"network": "linkedin", "url": "https://www.linkedin.com/company/x"},
                     {"network": "mastodon", "url": "https://mastodon.social/@x"}], "alignment": "center"}  # fmt: skip
    soup = render(blocks.SocialLinksBlock(), raw)
    assert_layout_table(soup)
    links = soup.find_all("a", class_="wn-social-link")
    assert [(a.get_text(), a["href"]) for a in links] == [
        ("LinkedIn", "https://www.linkedin.com/company/x"),
        ("Mastodon", "https://mastodon.social/@x"),
    ]
    assert soup.find("img") is None


def test_raw_html_is_kept_as_written():
    soup = render(blocks.RawHTMLBlock(), '<p class="mine">Expert <i>markup</i></p>')
    assert_layout_table(soup)
    assert str(soup.find("p", class_="mine")) == '<p class="mine">Expert <i>markup</i></p>'


def test_footer_has_address_and_merge_tag_links():
    raw = {"address": "1 Rue de la Paix\n75002 Paris", "text": "You signed up on our site.",
           "unsubscribe_label": "", "web_version_label": ""}  # fmt: skip
    block = blocks.FooterBlock()
    html = block.render(block.to_python(raw), context={"theme": get_theme("classic"), "content_width": 552})
    assert 'href="{{ unsubscribe_url }}"' in html
    assert 'href="{{ web_version_url }}"' in html
    soup = BeautifulSoup(html, "html.parser")
    assert_layout_table(soup)
    assert "75002 Paris" in soup.find("p", class_="wn-footer-address").get_text()
    assert soup.find("a", href="{{ unsubscribe_url }}").get_text() == "Unsubscribe"
