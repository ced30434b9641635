"""The compiled email of each theme looks the same in Chromium as the reference HTML of the same newsletter.

A newsletter that uses every block is compiled and personalised in each theme (classic, bold, minimal); the result
and the reference stored in ``tests/email_references/<theme>.html`` (the HTML the themes produced before their
markup was slimmed, commit 9cbce51) are shown by Debian's Chromium at 375, 600 and 700 px wide, in light and in dark
mode, and their full-page screenshots are compared pixel by pixel: fewer than 0.5 % may differ (a difference in
height counts every pixel of the extra rows). Images become one inline PNG in both, so nothing is fetched.

``WN_WRITE_EMAIL_REFERENCES=1`` writes the references from the code at hand instead (and skips the comparison).
"""

import base64
import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL import ImageChops
from wagtail.images.models import Image
from wagtail.images.tests.utils import get_test_image_file

from wagtail_newsletter.compose.compiled import compile_page
from wagtail_newsletter.compose.personalise import personalise

from .compose_editor_fixtures import make_newsletter
from .live_site import ARTIFACTS, BROWSER_TEST

pytestmark = [*BROWSER_TEST, pytest.mark.django_db]

REFERENCES = Path(__file__).resolve().parent / "email_references"
THEMES = ("classic", "bold", "minimal")
WIDTHS = (375, 600, 700)  # phone, the column stacking edge, desktop
MAX_DIFFERENT = 0.005
READER = {"email": "ann.lee@example.org", "first_name": "Ann", "last_name": "Lee", "language": "en"}
_IMG_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")[^"]*(")')


def block(kind, value=None, **fields):
    return {"type": kind, "value": fields if value is None and fields else value}


def button(label, url, alignment="center"):
    return block("button", label=label, page=None, url=url, alignment=alignment)


def showcase_body(image, teaser_page):
    """Every block of a newsletter, each alignment of headings and buttons, columns, variables."""
    text = (
        "<h2>What grows in April</h2><p>Our <b>spring market</b> opens on <i>Saturday</i>: "
        'read <a href="https://example.org/market/?day=sat&amp;time=9">the programme</a>, '
        "bring a basket and a friend. The gardens need hands, whatever your experience.</p>"
        "<h3>Workshops</h3><ul><li>Pruning fruit trees</li><li>Seeds and seedlings</li></ul>"
        '<ol><li>Sign up</li><li>Come along, {{ first_name|default:"friend" }}</li></ol>'
    )
    column_text = block(
        "rich_text", text="<p>Short news in a column, with <a href='https://example.org/c/'>a link</a>.</p>"
    )
    quote = "Gardens are a slow kind of news.\nAnd a good one."
    social = [
        {"network": "mastodon", "url": "https://example.social/@club"},
        {"network": "website", "url": "https://example.org/"},
    ]
    return [
        block("heading", text='Hello {{ first_name|default:"there" }}', level="1", alignment="center"),
        block("rich_text", text=text),
        block("heading", text="Level two, left", level="2", alignment="left"),
        block("heading", text="Level three, right", level="3", alignment="right"),
        block("image", image=image.pk, alt_text="Harbour", caption="The harbour", link="https://example.org/h/"),
        button("Join us", "https://example.org/join/"),
        button("Read more", "https://example.org/more/", "left"),
        block(
            "two_columns",
            left=[block("heading", text="Left", level="3", alignment="left"), column_text],
            right=[
                block("image", image=image.pk, alt_text="Small", caption="", link=""),
                button("Go", "https://example.org/go/"),
            ],
        ),
        block(
            "three_columns",
            left=[column_text],
            middle=[block("quote", text="Short.", attribution="Me")],
            right=[block("divider"), column_text],
        ),
        block("divider"),
        block("spacer", height=40),
        block("quote", text=quote, attribution="A reader"),
        block(
            "article_teaser",
            page=teaser_page.pk,
            title="Our archive",
            summary="Every issue since 2019.",
            image=image.pk,
            image_alt_text="",
            link_label="",
        ),
        block("social_links", links=social, alignment="center"),
        block("raw_html", '<p style="margin:0">Raw <strong>HTML</strong> from an expert.</p>'),
        block(
            "footer",
            address="1 Main Street\n75001 Paris",
            text="You subscribed on our site.",
            unsubscribe_label="",
            web_version_label="",
        ),
    ]


def one_image():
    """A small inline PNG that stands for every image (the layout keeps each img's own width and height)."""
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 4), (90, 140, 110)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@pytest.fixture
def emails(archive):
    """{theme: the personalised HTML of the showcase newsletter}, made before the browser starts (Playwright's
    event loop forbids the ORM in its thread)."""
    image = Image.objects.create(title="Harbour", file=get_test_image_file(size=(1600, 800)))
    page = make_newsletter(archive, slug="showcase", body=showcase_body(image, archive))
    found = {}
    for theme in THEMES:
        page.theme = theme
        html = personalise(compile_page(page), READER).html
        found[theme] = _IMG_SRC.sub(lambda match: match.group(1) + one_image() + match.group(2), html)
    return found


def screenshot(browser, html, width, scheme):
    page = browser.new_page(viewport={"width": width, "height": 800}, color_scheme=scheme)
    try:
        page.set_content(html, wait_until="load")
        return PILImage.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    finally:
        page.close()


def different_share(before, after):
    """Share of pixels that differ; rows only one of the images has count as different."""
    width = max(before.width, after.width)
    height = max(before.height, after.height)
    canvas = [PILImage.new("RGB", (width, height), (255, 0, 255)) for _ in range(2)]
    canvas[0].paste(before)
    canvas[1].paste(after)
    difference = ImageChops.difference(*canvas).convert("L").point(lambda value: 255 if value else 0)
    return difference.histogram()[255] / (width * height)


def test_themes_look_as_before_at_phone_and_desktop_widths(emails, browser):
    if os.environ.get("WN_WRITE_EMAIL_REFERENCES"):
        REFERENCES.mkdir(exist_ok=True)
        for theme, html in emails.items():
            (REFERENCES / f"{theme}.html").write_text(html)
        pytest.skip("references written")
    ARTIFACTS.mkdir(exist_ok=True)
    shares = {}
    for theme, html in emails.items():
        reference = (REFERENCES / f"{theme}.html").read_text()
        assert len(html) < len(reference)  # the point of the new markup
        for width in WIDTHS:
            for scheme in ("light", "dark"):
                before = screenshot(browser, reference, width, scheme)
                after = screenshot(browser, html, width, scheme)
                shares[theme, width, scheme] = share = different_share(before, after)
                if share:
                    after.save(ARTIFACTS / f"email-{theme}-{width}-{scheme}.png")
                    before.save(ARTIFACTS / f"email-{theme}-{width}-{scheme}-before.png")
    assert all(share < MAX_DIFFERENT for share in shares.values()), shares
