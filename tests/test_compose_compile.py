"""compile_email: CSS inlined with @media kept, readable text part, link table with UTM, slots, determinism."""

import pytest

from wagtail_newsletter.compose.compiled import CompiledEmail, LinkSlot, VariableSlot, compile_email, compile_page
from wagtail_newsletter.compose.merge_tags import standard_variables

BASE = "https://example.org"
UTM = {"source": "newsletter", "medium": "email", "campaign": "spring"}
VARIABLES = {variable.name: variable for variable in standard_variables("en", BASE)}


def document(body, style=""):
    return f"<!DOCTYPE html><html><head><style>{style}</style></head><body>{body}</body></html>"


def compile_body(body, style="", **kwargs):
    options = {"subject": "Subject", "base_url": BASE, "utm": UTM, "variables": VARIABLES, **kwargs}
    return compile_email(document(body, style), **options)


def final_urls(compiled):
    return [link.final_url for link in compiled.links]


def test_css_is_inlined():
    compiled = compile_body('<p class="lead">Hi</p>', style=".lead { color: #123456 }")
    assert 'style="color:#123456"' in compiled.source("html")


def test_editor_block_keys_and_implied_tbody_are_left_out():
    compiled = compile_body('<table><tr><td><p data-block-key="a1b2c">Hi</p></td></tr></table>')
    html = compiled.source("html")
    assert "<td><p>Hi</p></td>" in html
    assert "data-block-key" not in html and "tbody" not in html


def test_media_rules_are_kept_in_a_style_element():
    compiled = compile_body('<p class="lead">Hi</p>', style="@media (max-width: 600px) { .lead { font-size: 20px } }")
    assert "@media (max-width: 600px)" in compiled.source("html")


def test_relative_link_is_made_absolute_with_utm():
    compiled = compile_body('<a href="/news/">News</a>')
    assert final_urls(compiled) == [
        "https://example.org/news/?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=News"
    ]


def test_existing_query_and_fragment_are_kept():
    compiled = compile_body('<a href="https://example.org/a?page=2&amp;q=x#part">A</a>')
    assert final_urls(compiled) == [
        "https://example.org/a?page=2&q=x&utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=A#part"
    ]


def test_link_already_carrying_utm_is_not_changed():
    compiled = compile_body('<a href="https://example.org/a?utm_source=partner">A</a>')
    assert final_urls(compiled) == ["https://example.org/a?utm_source=partner"]


def test_other_domains_get_no_utm_by_default():
    compiled = compile_body('<a href="https://other.org/">O</a>')
    assert final_urls(compiled) == ["https://other.org/"]


def test_other_domains_get_utm_when_asked():
    compiled = compile_body('<a href="https://other.org/">O</a>', utm_all_domains=True)
    assert "utm_source=newsletter" in final_urls(compiled)[0]


def test_link_without_text_is_labelled_by_its_image_alt_or_position():
    compiled = compile_body('<a href="/a"><img src="/x.png" alt="Logo"></a><a href="/b"><img src="/y.png" alt=""></a>')
    assert [link.label for link in compiled.links] == ["Logo", ""]
    assert final_urls(compiled)[1].endswith("utm_content=link-2")


def test_mailto_tel_anchors_and_link_tags_stay_out_of_the_link_table():
    body = (
        '<a href="mailto:a@example.org">Mail</a><a href="tel:+331">Call</a><a href="#top">Top</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a><a href="{{ web_version_url }}">Web</a>'
    )
    compiled = compile_body(body)
    assert compiled.links == ()
    html = compiled.source("html")
    assert 'href="mailto:a@example.org"' in html and 'href="tel:+331"' in html and 'href="#top"' in html
    assert VariableSlot("unsubscribe_url", "") in compiled.html


def test_link_table_keeps_original_and_label():
    compiled = compile_body('<a href="/news/">Our   news</a>')
    [link] = compiled.links
    assert (link.index, link.original_url, link.label) == (0, "/news/", "Our news")


def test_each_link_position_is_a_slot_in_html_and_text():
    compiled = compile_body('<a href="/a">A</a> <a href="/b">B</a>')
    assert [s for s in compiled.html if isinstance(s, LinkSlot)] == [LinkSlot(0), LinkSlot(1)]
    assert [s for s in compiled.text if isinstance(s, LinkSlot)] == [LinkSlot(0), LinkSlot(1)]


def test_image_sources_are_made_absolute():
    compiled = compile_body('<img src="/media/a.png" alt="A">')
    assert 'src="https://example.org/media/a.png"' in compiled.source("html")


def test_merge_tags_become_variable_slots_with_their_default():
    compiled = compile_body("<p>Hi {{ first_name|default:&quot;there&quot; }}</p>")
    assert VariableSlot("first_name", "there") in compiled.html
    assert VariableSlot("first_name", "there") in compiled.text


def test_subject_and_preheader_are_cut_into_slots():
    compiled = compile_body("<p>x</p>", subject="Hi {{ first_name|default:'you' }}", preheader="On {{ date }}")
    assert compiled.subject == ("Hi ", VariableSlot("first_name", "you"))
    assert compiled.preheader == ("On ", VariableSlot("date", ""))


def test_unknown_variables_are_listed_as_problems():
    compiled = compile_body("<p>{{ nope }}</p>", subject="{{ email }}")
    assert [(p.code, p.variable) for p in compiled.problems] == [("unknown-variable", "nope")]
    assert compiled.variables == ("email", "nope")


def test_text_part_is_readable():
    body = (
        '<div style="display:none">Hidden preheader</div>'
        '<table role="presentation"><tr><td><h1>Spring news</h1></td><td><p>Right column</p></td></tr></table>'
        "<ul><li>First</li><li>Second</li></ul>"
        '<p>Read <a href="/news/">our news</a>.</p>'
        '<a class="button" href="https://example.org/buy">Buy now</a>'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    )
    text = compile_body(body, utm=None).source("text")
    assert "Hidden preheader" not in text
    assert "Spring news\n\nRight column" in text
    assert "* First\n  * Second" in text
    assert "Read our news (https://example.org/news/)." in text
    assert "\nBuy now: https://example.org/buy\n" in text
    assert "Unsubscribe ({{ unsubscribe_url }})" in text
    assert "<" not in text


def test_html_size_counts_bytes():
    compiled = compile_body("<p>é</p>")
    assert compiled.html_size == len(compiled.source("html").encode())


def test_compile_is_deterministic():
    body = '<p class="a">Hi {{ first_name|default:"x" }} <a href="/a">A</a></p>'
    assert compile_body(body, style=".a{color:red}") == compile_body(body, style=".a{color:red}")


def test_compiled_email_survives_a_round_trip_through_json_data():
    compiled = compile_body('<p>Hi {{ first_name|default:"x" }} <a href="/a">A</a> {{ nope }}</p>')
    assert CompiledEmail.from_dict(compiled.to_dict()) == compiled


@pytest.mark.django_db
def test_compile_page_compiles_a_newsletter_page_and_its_revision():
    from wagtail.models import Page

    from wagtail_newsletter.compose.checks import ERROR, preflight
    from wagtail_newsletter.models import NewsletterIndexPage, NewsletterPage

    index = Page.objects.get(depth=2).add_child(instance=NewsletterIndexPage(title="Newsletters", slug="newsletters"))
    body = [
        {"type": "heading", "value": {"text": 'Hello {{ first_name|default:"there" }}', "level": "1",
                                      "alignment": "left"}},
        {"type": "rich_text", "value": {"text": '<p>Read <a href="/news/">the news</a>.</p>'}},
        {"type": "footer", "value": {"address": "1 Rue de la Paix", "text": "", "unsubscribe_label": "",
                                     "web_version_label": ""}},
    ]  # fmt: skip
    page = index.add_child(
        instance=NewsletterPage(
            title="Spring",
            slug="spring",
            subject="Spring for {{ first_name|default:'you' }}",
            body=body,
            utm_campaign="spring",
        )  # fmt: skip
    )
    revision = page.save_revision()
    for source in (page, revision):
        compiled = compile_page(source)
        assert compiled.subject == ("Spring for ", VariableSlot("first_name", "you"))
        assert VariableSlot("unsubscribe_url", "") in compiled.html
        assert any("utm_campaign=spring" in link.final_url for link in compiled.links)
        assert compiled.problems == ()
        assert [check for check in preflight(compiled) if check.level == ERROR] == []
