"""End to end in a real browser: a visitor subscribes on the running example site, confirms from
the mail, and an admin finds, filters and exports the new subscriber.

The example site runs for real (``manage.py runserver --noreload`` in a subprocess, on the test
database, mailing through SMTP to the ``smtp_server`` fixture); Debian's Chromium is driven by
Playwright. Screenshots land in ``test-artifacts/``.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from .conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NEWCOMER = "newcomer@example.net"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def wait_until_serving(url, process, log_path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the example site exited:\n{log_path.read_text(errors='replace')[-4000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"the example site did not answer within {timeout} s")


@pytest.fixture
def live_site(transactional_db, smtp_server, tmp_path):
    """The example site with its demo content, served by a real runserver process; yields its base URL."""
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_site")]),
        "WN_USE_TEST_DB": "1",
        "Q_SYNC": "1",  # tasks run in the web process: the mail leaves when the sign-up commits
        "WN_TEST_EMAIL_SMTP": "1",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
        "WN_TEST_BASE_URL": base_url,
        "DEBUG": "1",  # runserver serves the admin's static files
    }
    log_path = tmp_path / "runserver.log"
    log = open(log_path, "wb")  # a file: a full pipe would block the server
    process = subprocess.Popen(
        [sys.executable, "example_site/manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_serving(f"{base_url}/admin/login/", process, log_path)
        yield base_url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        log.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)


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
    admin.goto(f"{live_site}/admin/")
    admin.get_by_label("Username").fill("admin")
    admin.get_by_label("Password").fill("admin")
    admin.get_by_role("button", name="Sign in").click()
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
