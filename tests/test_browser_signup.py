"""End to end in a real browser: a visitor subscribes on the running example site, confirms from
the mail, and an admin finds, filters and exports the new subscriber.

The example site runs for real and Debian's Chromium is driven by Playwright: the ``live_site`` and
``browser`` fixtures of ``tests/live_site.py``. Screenshots land in ``test-artifacts/``.
"""

import re
import time
from pathlib import Path

import pytest

from .live_site import BROWSER_TEST, log_in, screenshot

NEWCOMER = "newcomer@example.net"

pytestmark = BROWSER_TEST


def confirmation_link(smtp_server):
    """The confirmation URL from the mail sent to the newcomer (its plain text part)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for received in smtp_server.messages:
            if received["to"] == [NEWCOMER]:
                text = received["message"].get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/newsletter/confirm/\S+", text).group(0)
        smtp_server.wait_for(len(smtp_server.messages) + 1, timeout=1)
    pytest.fail(f"no confirmation mail reached the SMTP server: {smtp_server.messages}")


def test_visitor_subscribes_confirms_by_mail_and_admin_exports_them(live_site, browser, smtp_server):
    from playwright.sync_api import expect

    # A visitor on a phone fills the form on the home page.
    visitor = browser.new_page(viewport={"width": 375, "height": 740})
    visitor.goto(f"{live_site}/")
    expect(visitor.get_by_role("heading", name="Get the Weekly news")).to_be_visible()
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 375, "the home page overflows on a phone"
    screenshot(visitor, "1-home")
    visitor.get_by_label("Email address").fill(NEWCOMER)
    visitor.get_by_label("First name").fill("Nina")
    visitor.get_by_label("City").fill("Lyon")
    visitor.get_by_role("checkbox").check()
    visitor.get_by_role("button", name="Subscribe").click()
    expect(visitor.get_by_text("Check your inbox").first).to_be_visible()
    screenshot(visitor, "2-check-your-inbox")

    # The mail reaches the SMTP server; its link opens a page whose one button confirms.
    link = confirmation_link(smtp_server)
    assert link.startswith(live_site)
    visitor.goto(link)
    screenshot(visitor, "3-confirm")
    visitor.get_by_role("button", name="Yes, subscribe me").click()
    expect(visitor.get_by_text("You are subscribed. Welcome!")).to_be_visible()
    screenshot(visitor, "4-confirmed")

    # An admin logs in and opens Newsletter > Subscribers.
    admin = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    log_in(admin, live_site)
    admin.get_by_role("button", name="Newsletter").click()
    admin.get_by_role("link", name="Subscribers").click()
    row = admin.get_by_role("row").filter(has_text=NEWCOMER)
    expect(row).to_contain_text("Subscribed")
    screenshot(admin, "5-subscribers")

    # Filter by status: the newcomer stays, the pending demo subscriber goes.
    admin.get_by_role("button", name="Show filters").click()
    admin.get_by_role("button", name="Status").click()
    admin.get_by_label("Subscribed", exact=True).check()
    expect(admin.get_by_role("row").filter(has_text="alan@example.com")).to_have_count(0)
    expect(admin.get_by_role("row").filter(has_text=NEWCOMER)).to_have_count(1)
    screenshot(admin, "6-filtered")

    # Export the filtered listing as CSV.
    admin.get_by_role("button", name="Actions").click()
    with admin.expect_download() as download_info:
        admin.get_by_role("link", name="Download CSV").click()
    csv_text = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert NEWCOMER in csv_text
    assert "alan@example.com" not in csv_text
