"""End to end in a real browser: an editor composes a newsletter from a template on the running example site,
adds a block with a variable, previews it at desktop and phone sizes, and sends a test that a real SMTP server
receives.

The example site runs for real (with ``setup_demo``'s archive, Welcome issue and "Monthly digest" template) and
Debian's Chromium is driven by Playwright: the ``live_site`` and ``browser`` fixtures of ``tests/live_site.py``.
Screenshots land in ``test-artifacts/compose-*.png``.
"""

import re

import pytest

from wagtail_newsletter.compose.models import NewsletterIndexPage

from .live_site import ARTIFACTS, BROWSER_TEST, log_in

pytestmark = BROWSER_TEST

TESTER = "tester@example.net"
TITLE = "March digest"
ADDED_TEXT = 'Hi {{ first_name|default:"friend" }}, the March meetup moved to Thursday.'
DESKTOP = {"width": 1440, "height": 1000}
PHONE_WIDTH = 375


def compose_screenshot(page, name, full_page=True):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"compose-{name}.png"), full_page=full_page)


@pytest.fixture
def home_id(live_site):
    """The id of the demo archive's parent, read before the browser starts (Playwright's loop forbids the ORM in
    this thread)."""
    return NewsletterIndexPage.objects.get(title="Newsletter archive").get_parent().pk


def test_editor_composes_from_template_previews_and_receives_a_test(live_site, home_id, browser, smtp_server):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    editor = context.new_page()
    editor.set_default_timeout(15_000)
    log_in(editor, live_site)

    # The archive's row in the Pages listing shows "New newsletter from template" as a button (no menu to open);
    # the demo's "Monthly digest" template is chosen (the other one is the weekly page digest's).
    editor.goto(f"{live_site}/admin/pages/{home_id}/")
    new_from_template = editor.get_by_role("link", name="New newsletter from template")
    expect(new_from_template).to_be_visible()
    new_from_template.click()
    editor.get_by_label("Monthly digest").check()
    editor.get_by_label("Title").fill(TITLE)
    compose_screenshot(editor, "1-new-from-template")
    editor.get_by_role("button", name="Create draft").click()

    # The draft opens in the editor with the template's blocks; a rich text block is added at the end.
    expect(editor.get_by_role("heading", name=TITLE).first).to_be_visible()
    editor.locator("[data-streamfield-stream-container] ~ * button, button[title='Insert a block']").last.click()
    editor.get_by_role("option", name="Rich text").first.click()
    rich_text = editor.locator("[data-streamfield-stream-container] .DraftEditor-root [contenteditable=true]").last
    rich_text.click()
    editor.keyboard.type(ADDED_TEXT)
    # Draftail writes its content to the form's hidden input a moment after the last keystroke.
    expect(editor.locator("input[name$='-value-text']").last).to_have_value(re.compile("March meetup"))
    editor.get_by_role("button", name="Save draft").click()
    expect(editor.get_by_text("has been updated").first).to_be_visible()

    # The preview panel shows the email as the sample reader (Ada) gets it, at phone size first, then desktop.
    editor.get_by_role("button", name="Toggle preview").click()
    frame = editor.frame_locator("#w-preview-iframe")
    expect(frame.get_by_text("Hi Ada, the March meetup moved to Thursday.")).to_be_visible()
    compose_screenshot(editor, "2-preview-panel-mobile", full_page=False)
    preview_frame = editor.frame(url=lambda url: "/preview/" in url)
    assert preview_frame.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    editor.locator("label", has=editor.get_by_label("Preview in desktop size")).click()
    expect(editor.get_by_label("Preview in desktop size")).to_be_checked()
    expect(frame.get_by_text("Hi Ada, the March meetup moved to Thursday.")).to_be_visible()
    compose_screenshot(editor, "3-preview-panel-desktop", full_page=False)

    # The preview on its own, in a phone-sized page and a desktop-sized one: nothing overflows on the phone.
    preview_url = preview_frame.url
    for name, viewport in (("4-email-375px", {"width": PHONE_WIDTH, "height": 800}), ("5-email-desktop", DESKTOP)):
        tab = context.new_page()
        tab.set_viewport_size(viewport)
        tab.goto(preview_url)
        expect(tab.get_by_text("Hi Ada, the March meetup moved to Thursday.")).to_be_visible()
        assert tab.evaluate("document.documentElement.scrollWidth") <= viewport["width"], f"{name} overflows"
        compose_screenshot(tab, name)
        tab.close()

    # "Send test…" from the action menu, to an address, as the demo subscriber Grace.
    editor.get_by_role("button", name="More actions").click()
    editor.get_by_role("link", name="Send test…").click()
    editor.get_by_label("Send to").fill(TESTER)
    editor.get_by_label("…or the subscriber with this address").fill("grace@example.com")
    compose_screenshot(editor, "6-test-send")
    editor.get_by_role("button", name="Send test").click()
    expect(editor.get_by_text("is on its way to").first).to_be_visible()

    smtp_server.wait_for(1, timeout=30)
    received = [item for item in smtp_server.messages if item["to"] == [TESTER]]
    assert len(received) == 1
    message = received[0]["message"]
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"].startswith("[TEST]")
    assert message["Subject"] == "[TEST] This month at the example site, Grace"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Hi Grace, the March meetup moved to Thursday." in text
    assert "Hi Grace, the March meetup moved to Thursday." in html
    assert "{{" not in text and "{{" not in html
