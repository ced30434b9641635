"""In a real browser: a form embedded with its loader script on a page of ANOTHER site (another
origin: ``localhost`` on another port, served by ``http.server``) is filled inside its iframe, says
"check your inbox" there, and the confirmation mail reaches the SMTP server.

Fixtures ``live_site``, ``browser`` and ``smtp_server``: see ``tests/live_site.py`` and conftest.py.
"""

import functools
import http.server
import re
import threading
import time

import pytest

from wagtail_newsletter.models import SubscriptionForm

from .conftest import free_port
from .live_site import BROWSER_TEST, screenshot

VISITOR = "partner-reader@example.net"

pytestmark = BROWSER_TEST


class QuietFileHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def demo_form(live_site):
    return SubscriptionForm.objects.get()  # setup_demo made one


@pytest.fixture
def partner_page(live_site, demo_form, tmp_path):
    """A static page of another site, with the embed code pasted between two paragraphs; yields its URL."""
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Partner blog</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body style='font-family: sans-serif; background: #fde68a; margin: 1rem'>"
        "<h1>Partner blog</h1><p id='before'>An article about gardening.</p>"
        f'<script src="{live_site}/newsletter/embed/{demo_form.pk}.js" async></script>'
        "<p id='after'>The end of the article.</p></body></html>",
        encoding="utf-8",
    )
    handler = functools.partial(QuietFileHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # "localhost", not 127.0.0.1: another site, not just another origin, like a real partner.
        yield f"http://localhost:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def frame_fits_its_content(page):
    """True when the iframe is as tall as the document inside it (so it shows no scrollbar)."""
    inner = page.frame(url=re.compile(r"/newsletter/embed/"))
    if inner is None:
        return False
    content = inner.evaluate("Math.ceil(document.body.getBoundingClientRect().height)")
    outer = page.evaluate("document.querySelector('iframe').getBoundingClientRect().height")
    return content > 100 and abs(outer - content) <= 1


def test_visitor_of_another_site_subscribes_inside_the_embedded_form(
    live_site, partner_page, demo_form, browser, smtp_server
):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 375, "height": 900})
    page.goto(partner_page)
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Get the Weekly news")).to_be_visible()
    # The iframe stands where the script was, and takes the height of the form.
    assert page.evaluate("document.querySelector('iframe').previousElementSibling.id") == "before"
    assert wait_for(lambda: frame_fits_its_content(page)), "the iframe was not sized to the form"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375, "the partner page overflows on a phone"
    screenshot(page, "embed-1-partner-page")

    frame.get_by_label("Email address").fill(VISITOR)
    frame.get_by_label("First name").fill("Paula")
    frame.get_by_role("checkbox").check()
    frame.get_by_role("button", name="Subscribe").click()
    expect(frame.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert page.url == partner_page  # the top window stayed on the partner's page
    assert wait_for(lambda: frame_fits_its_content(page)), "the iframe did not follow the shorter content"
    screenshot(page, "embed-2-check-your-inbox")

    received = smtp_server.wait_for(1)
    assert [message["to"] for message in received] == [[VISITOR]]
    text = received[0]["message"].get_body(preferencelist=("plain",)).get_content()
    assert f"{live_site}/newsletter/confirm/" in text


def test_resize_messages_from_other_origins_are_ignored(live_site, partner_page, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 800, "height": 900})
    page.goto(partner_page)
    expect(page.frame_locator("iframe").get_by_role("button", name="Subscribe")).to_be_visible()
    assert wait_for(lambda: frame_fits_its_content(page))
    before = page.evaluate("document.querySelector('iframe').style.height")
    # The partner page (another origin) posts a well-formed message: the loader must not obey it.
    page.evaluate("window.postMessage({type: 'wagtail-newsletter:resize', height: 3}, '*')")
    page.wait_for_timeout(300)
    assert page.evaluate("document.querySelector('iframe').style.height") == before
