"""Pre-flight checklist: each rule fires on a faulty email and stays silent on a good one."""

from wagtail_newsletter.compose.checks import ERROR, WARNING, preflight
from wagtail_newsletter.compose.compiled import compile_email
from wagtail_newsletter.compose.merge_tags import standard_variables

BASE = "https://example.org"
VARIABLES = {variable.name: variable for variable in standard_variables("en", BASE)}
FOOTER = '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
PROSE = "<p>" + " ".join(["Plenty of words to read in this newsletter."] * 40) + "</p>"


def codes(body, subject="Spring news", base_url=BASE):
    document = f"<!DOCTYPE html><html><head></head><body>{body}</body></html>"
    compiled = compile_email(document, subject=subject, base_url=base_url, variables=VARIABLES)
    return {check.code: check for check in preflight(compiled)}


def test_a_good_email_passes_every_check():
    body = PROSE + '<img src="/a.png" alt="A tree"><a href="https://example.org/x">More</a>' + FOOTER
    assert codes(body) == {}


def test_html_over_102_kb_is_flagged():
    assert codes(PROSE + FOOTER + "<p>" + "x" * 110_000 + "</p>")["html-too-large"].level == WARNING


def test_html_under_102_kb_is_not_flagged():
    assert "html-too-large" not in codes(PROSE + FOOTER + "<p>" + "x" * 90_000 + "</p>")


def test_image_without_alt_is_flagged():
    assert "image-without-alt" in codes(PROSE + '<img src="/a.png"><img src="/b.png" alt=" ">' + FOOTER)


def test_tracking_pixel_needs_no_alt():
    assert "image-without-alt" not in codes(PROSE + '<img src="/p.gif" width="1" height="1">' + FOOTER)


def test_missing_unsubscribe_link_is_an_error():
    assert codes(PROSE)["missing-unsubscribe"].level == ERROR


def test_unknown_variable_is_an_error():
    check = codes(PROSE + "<p>{{ nope }}</p>" + FOOTER)["unknown-variable"]
    assert check.level == ERROR and check.hint


def test_malformed_variable_is_an_error():
    assert codes(PROSE + "<p>{{ first name }}</p>" + FOOTER)["malformed-variable"].level == ERROR


def test_variable_without_default_is_a_warning():
    assert codes(PROSE + "<p>{{ first_name }}</p>" + FOOTER)["variable-without-default"].level == WARNING


def test_empty_subject_is_an_error():
    assert codes(PROSE + FOOTER, subject="   ")["empty-subject"].level == ERROR


def test_subject_made_of_a_variable_is_not_empty():
    assert "empty-subject" not in codes(PROSE + FOOTER, subject="{{ first_name|default:'Hi' }}")


def test_plain_http_link_is_flagged():
    assert "link-not-https" in codes(PROSE + '<a href="http://example.org/x">X</a>' + FOOTER)


def test_plain_http_link_to_this_machine_is_flagged_by_default():
    assert "link-not-https" in codes(PROSE + '<a href="http://127.0.0.1:8000/x">X</a>' + FOOTER)


def test_plain_http_links_to_this_machine_are_fine_where_loopback_links_are_allowed(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "ALLOW_LOOPBACK_LINKS": True}
    local = ("http://127.0.0.1:8000/x", "http://localhost/y", "http://[::1]:8300/z", "http://127.0.0.2/")
    assert "link-not-https" not in codes(PROSE + "".join(f'<a href="{url}">X</a>' for url in local) + FOOTER)
    assert "link-not-https" in codes(PROSE + '<a href="http://example.org/x">X</a>' + FOOTER)


def test_relative_link_without_base_url_is_flagged():
    assert "link-not-https" in codes(PROSE + '<a href="/x">X</a>' + FOOTER, base_url="")


def test_mailto_and_tel_links_are_not_flagged():
    assert codes(PROSE + '<a href="mailto:a@example.org">Mail</a><a href="tel:+331">Call</a>' + FOOTER) == {}


def test_url_shortener_is_flagged():
    assert "url-shortener" in codes(PROSE + '<a href="https://bit.ly/abc">X</a>' + FOOTER)


def test_image_heavy_email_is_flagged():
    images = "".join(f'<img src="/{n}.png" alt="Picture {n}">' for n in range(5))
    assert "image-text-ratio" in codes(PROSE + images + FOOTER)


def test_little_text_with_an_image_is_flagged():
    assert "image-text-ratio" in codes('<p>Short.</p><img src="/a.png" alt="A">' + FOOTER)


def test_little_text_without_images_is_not_a_ratio_problem():
    assert "image-text-ratio" not in codes("<p>Short.</p>" + FOOTER)


def test_errors_come_first():
    document = "<html><body><p>x</p><img src='/a.png'></body></html>"
    checks = preflight(compile_email(document, subject="", base_url=BASE, variables=VARIABLES))
    levels = [check.level for check in checks]
    assert levels == sorted(levels, key=lambda level: level != ERROR) and levels[0] == ERROR
