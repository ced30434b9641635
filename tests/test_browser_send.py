"""End to end in a real browser: an editor allowed to send opens the demo newsletter, runs the send wizard (a group,
the checklist, send now, confirm), watches the campaign's live progress bar reach 100 % while a real ``qcluster``
delivers, and every recipient's mail arrives at a real SMTP server, once, with its one-click unsubscribe headers.

The example site runs for real with tasks queued in the database (not run in the web process), a separate
``qcluster`` process sends, and the SMTP server answers slowly enough for the bar to move in front of the browser.
Screenshots land in ``test-artifacts/send-*.png``.
"""

import asyncio
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group as UserGroup
from django.contrib.auth.models import Permission
from wagtail.models import GroupPagePermission

from wagtail_newsletter.audience.models import Group, Membership, Status, Subscriber
from wagtail_newsletter.compose.models import NewsletterIndexPage, NewsletterPage

from .conftest import RecordingHandler, serving_smtp
from .live_site import ARTIFACTS, BROWSER_TEST, log_in
from .send_cluster import cluster_log, start_qcluster, stop_qcluster

pytestmark = BROWSER_TEST

READERS = 30  # added to the demo's "Weekly news" group, whose only subscribed member is Ada
SMTP_DELAY = 0.3  # seconds per message: about 9 s of sending, so the page polls while it runs
DESKTOP = {"width": 1440, "height": 1000}


class SlowRecordingHandler(RecordingHandler):
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(SMTP_DELAY)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp():
    with serving_smtp(SlowRecordingHandler()) as handler:
        yield handler


@pytest.fixture
def sending_site(start_live_site, slow_smtp, tmp_path):
    """The example site (demo content) queuing its tasks, and a qcluster sending them; yields the base URL."""
    base_url = start_live_site(q_sync=False)  # sending is the qcluster's job
    cluster = start_qcluster(slow_smtp.port, tmp_path / "qcluster.log", newsletter={"BASE_URL": base_url})
    yield base_url, cluster
    stop_qcluster(cluster)


@pytest.fixture
def demo(sending_site):
    """What the browser will need, read or made before it starts (Playwright's loop forbids the ORM in its thread):
    a sender (may edit the archive's pages and send), the Welcome issue, and the recipients of "Weekly news"."""
    archive = NewsletterIndexPage.objects.get(title="Newsletter archive")
    newsletter = NewsletterPage.objects.get(title="Welcome issue")
    weekly = Group.objects.get(name="Weekly news")
    readers = Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{n}@example.net", first_name=f"Reader{n}", status=Status.SUBSCRIBED)
         for n in range(READERS)]
    )  # fmt: skip
    Membership.objects.bulk_create([Membership(subscriber=reader, group=weekly) for reader in readers])
    editors = UserGroup.objects.create(name="Senders")
    editors.permissions.add(
        Permission.objects.get(codename="access_admin"), Permission.objects.get(codename="send_campaign")
    )
    GroupPagePermission.objects.create(
        group=editors, page=archive, permission=Permission.objects.get(codename="change_page")
    )
    user = get_user_model().objects.create_user("sender", "sender@example.org", "sender-pw")
    user.groups.add(editors)
    recipients = sorted(
        Subscriber.objects.filter(groups=weekly, status=Status.SUBSCRIBED).values_list("email", flat=True)
    )
    return {"base_url": sending_site[0], "cluster": sending_site[1], "newsletter_id": newsletter.pk,
            "recipients": recipients,
            "everyone": Subscriber.objects.filter(status=Status.SUBSCRIBED).count()}  # fmt: skip


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"send-{name}.png"), full_page=True)


def test_editor_sends_to_a_group_and_watches_the_progress(demo, browser, slow_smtp):
    from playwright.sync_api import expect

    base_url, recipients = demo["base_url"], demo["recipients"]
    # The readers, Ada and Camille (Alan is pending, Edsger unsubscribed).
    assert len(recipients) == READERS + 2
    editor = browser.new_context(viewport=DESKTOP).new_page()
    editor.set_default_timeout(15_000)
    log_in(editor, base_url, "sender", "sender-pw")

    # "Send…" in the newsletter's action menu.
    editor.goto(f"{base_url}/admin/pages/{demo['newsletter_id']}/edit/")
    editor.get_by_role("button", name="More actions").click()
    editor.get_by_role("link", name="Send…").click()

    # Step 1: one group; the live count follows the choice.
    count = editor.locator("[data-recipient-count-value]")
    expect(count).to_have_text(str(demo["everyone"]))  # all subscribers
    editor.get_by_label("Subscribers in chosen groups").check()
    expect(count).to_have_text("0")
    editor.get_by_role("group", name="Groups").get_by_label(f"Weekly news ({len(recipients)} subscribed)").check()
    expect(count).to_have_text(str(len(recipients)))
    editor.get_by_label("Campaign name").fill("Welcome to the readers")
    shot(editor, "1-recipients")
    editor.get_by_role("button", name="Next").click()

    # Step 2: the checklist; warnings, if any, need the tick.
    expect(editor.get_by_role("heading", name="Checklist", exact=True)).to_be_visible()
    shot(editor, "2-checklist")
    accept = editor.get_by_label("I have read the warnings above and want to send anyway.")
    if accept.count():
        accept.check()
    editor.get_by_role("button", name="Next").click()

    # Step 3: now.
    expect(editor.get_by_label("Send now")).to_be_checked()
    editor.get_by_label("Date and time").click()  # Wagtail's date and time picker opens
    expect(editor.locator(".xdsoft_datetimepicker").first).to_be_visible()
    shot(editor, "3-when")
    editor.keyboard.press("Escape")
    editor.get_by_role("button", name="Next").click()

    # Step 4: the summary, then send.
    summary = editor.locator("[data-send-summary]")
    expect(summary.locator("[data-summary=count]")).to_have_text(f"{len(recipients)} subscribers")
    expect(summary.locator("[data-summary=sender]")).to_contain_text("news@example.org")
    shot(editor, "4-confirm")
    editor.get_by_role("button", name="Send now").click()

    # The campaign page: the bar moves while the qcluster sends, and reaches 100 %.
    expect(editor.get_by_text("is being sent").first).to_be_visible()
    bar = editor.locator("[data-progress-bar]")
    seen, deadline = set(), time.monotonic() + 120
    while time.monotonic() < deadline:
        value = bar.get_attribute("aria-valuenow") if bar.count() else None
        if value is not None:
            seen.add(float(value))
            if float(value) == 100:
                break
            if len(seen) == 2:
                shot(editor, "5-progress")
        editor.wait_for_timeout(250)
    else:
        pytest.fail(f"the bar did not reach 100 % (saw {sorted(seen)}); qcluster said:\n{cluster_log(demo['cluster'])}")
    assert any(0 < value < 100 for value in seen), f"no progress seen between 0 and 100: {sorted(seen)}"
    expect(editor.locator("[data-campaign-status]").first).to_have_text("Sent", timeout=30_000)
    expect(editor.locator("[data-progress=sent]")).to_have_text(str(len(recipients)))
    shot(editor, "6-sent")
    editor.goto(f"{base_url}/admin/newsletter/campaigns/")
    expect(editor.get_by_role("link", name="Welcome to the readers")).to_be_visible()
    shot(editor, "7-listing")

    # Every recipient got exactly one message, with its own one-click unsubscribe.
    messages = slow_smtp.wait_for(len(recipients), timeout=30)
    time.sleep(1)  # nothing more may come
    assert sorted(rcpt for item in slow_smtp.messages for rcpt in item["to"]) == recipients
    for item in messages:
        message = item["message"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"<{base_url}/" in message["List-Unsubscribe"] and "<mailto:" in message["List-Unsubscribe"]
        french = item["to"] == ["camille@example.com"]  # the demo's French reader gets the translation
        expected = "Bienvenue dans les nouvelles de la semaine" if french else "Welcome to the Weekly news"
        assert message["Subject"].startswith(expected)
