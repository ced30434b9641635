"""End to end in a real browser: an editor builds a welcome series in Newsletter › Automations (started when a
subscription through the home page's form is confirmed; send mail 1, wait 1 hour, send mail 2), three visitors sign
up on the home page and confirm from their mails (real double opt-in), and the editor watches the step figures move
on "Steps and figures" while a real ``qcluster`` sends mail 1, then mail 2 an hour later, to a real SMTP server.

The hour passes by time travel, not sleeping: the test process runs one tick of the automations with ``now`` an hour
and a minute ahead, against the live site's database (the site, the cluster and the test share it). The tick runs in
a thread of its own: Playwright's sync API keeps an event loop running in the test's thread, where Django refuses
the ORM. The cluster's own ticks run at the real time and find nobody due yet. The demo's automations are removed
first, so that the editor builds the welcome series from nothing and the mails come from it alone.
Screenshots land in ``test-artifacts/automations-*.png``.
"""

import datetime
import re
import threading
import time
from collections import Counter

import pytest
from django.db import connections
from django.utils import timezone

from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.growth.automations.models import Automation
from wagtail_newsletter.growth.automations.tick import tick

from .live_site import ARTIFACTS, BROWSER_TEST, log_in
from .send_cluster import cluster_log, start_qcluster, stop_qcluster

pytestmark = BROWSER_TEST

CLUSTER = {"workers": 2, "timeout": 30, "retry": 40, "poll": 0.2}
VISITORS = [("ann@example.net", "Ann"), ("bob@example.net", "Bob"), ("cid@example.net", "Cid")]
MAIL_1 = "Welcome 1: glad you're here"  # the demo's welcome pages (setup_demo)
MAIL_2 = "Welcome 2: the best of the archive"
DESKTOP = {"width": 1440, "height": 1000}
SLOW = 60_000  # ms: the machine is shared, the cluster polls its queue


@pytest.fixture
def automation_site(start_live_site, smtp_server, tmp_path, queue_for_real):
    """The example site queuing its tasks and a qcluster running them (mails to ``smtp_server``); what the browser
    will need is read before it starts. Yields a dict."""
    Automation.objects.all().delete()  # the demo's welcome series and birthday mail: the editor builds their own
    subjects = {title: NewsletterPage.objects.get(title=title).subject for title in (MAIL_1, MAIL_2)}
    base_url = start_live_site(q_sync=False)
    cluster = start_qcluster(smtp_server.port, tmp_path / "qcluster.log", CLUSTER, {"BASE_URL": base_url})
    yield {"base_url": base_url, "cluster": cluster, "subjects": subjects}
    stop_qcluster(cluster)


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"automations-{name}.png"), full_page=True)


def in_a_thread(function, *args, **kwargs):
    """``function(*args, **kwargs)`` in a thread of its own (its own database connection, no event loop)."""
    result, errors = [], []

    def run():
        try:
            result.append(function(*args, **kwargs))
        except Exception as error:  # re-raised in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=300)
    if errors:
        raise errors[0]
    assert result, "the thread did not finish"
    return result[0]


def confirmation_link(smtp_server, email, timeout=90):
    """The confirmation URL in the plain text of the mail sent to ``email``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in list(smtp_server.messages):
            if received["to"] == [email]:
                text = received["message"].get_body(preferencelist=("plain",)).get_content()
                return re.search(r"https?://\S+/newsletter/confirm/\S+", text).group(0)
        time.sleep(0.3)
    pytest.fail(f"no confirmation mail to {email}: {[m['to'] for m in smtp_server.messages]}")


def newsletters(smtp_server):
    """Counter of (recipient, subject) of the mails the visitors received other than the confirmation requests
    (the form's manager is told of each new subscriber too)."""
    visitors = {email for email, _name in VISITORS}
    return Counter(
        (received["to"][0], str(received["message"]["Subject"]))
        for received in list(smtp_server.messages)
        if received["to"][0] in visitors
        and "/newsletter/confirm/" not in received["message"].get_body(preferencelist=("plain",)).get_content()
    )


def wait_newsletters(smtp_server, cluster, count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(newsletters(smtp_server).values()) >= count:
            return newsletters(smtp_server)
        time.sleep(0.3)
    pytest.fail(f"{count} mails expected, got {newsletters(smtp_server)}; qcluster said:\n{cluster_log(cluster)}")


def choose_page(editor, step, title):
    """Pick the newsletter ``title`` in the page chooser of step ``step`` (0 first)."""
    from playwright.sync_api import expect

    editor.locator(f"#inline_child_steps-{step}").get_by_role("button", name="Choose a page").click()
    modal = editor.locator(".modal-dialog")
    expect(modal).to_be_visible()
    modal.get_by_placeholder("Search").fill(title.split(":")[0])
    modal.get_by_role("link", name=title).click()
    expect(modal).to_be_hidden()


def figures(editor, step):
    row = editor.locator(f"[data-automation-steps] tr[data-step='{step}']")
    return {name: row.locator(f"[data-figure={name}]").inner_text().strip() for name in ("waiting", "passed", "left")}


def wait_figures(editor, expected, cluster, timeout=120):
    """Reload "Steps and figures" until every step shows ``expected`` ({step: {figure: text}})."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {step: figures(editor, step) for step in expected}
        if all(seen[step][name] == value for step, wanted in expected.items() for name, value in wanted.items()):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the figures stayed {seen}, expected {expected}; qcluster said:\n{cluster_log(cluster)}")
        editor.wait_for_timeout(1000)
        editor.reload()


def test_editor_builds_a_welcome_series_and_watches_its_figures_move(automation_site, browser, smtp_server):
    from playwright.sync_api import expect

    base_url, cluster, subjects = automation_site["base_url"], automation_site["cluster"], automation_site["subjects"]
    editor = browser.new_context(viewport=DESKTOP).new_page()
    editor.set_default_timeout(SLOW)
    log_in(editor, base_url)

    # Newsletter › Automations › Add.
    editor.get_by_role("button", name="Newsletter").click()
    editor.get_by_role("link", name="Automations").click()
    expect(editor.get_by_role("heading", name="Automations")).to_be_visible()
    editor.get_by_role("link", name="Add automation").first.click()
    editor.locator("#id_name").fill("Welcome series")
    editor.locator("#id_active").check()
    editor.locator("#id_trigger").select_option(label="Subscription confirmed")
    editor.get_by_role("button", name="Choose subscription form").click()
    chooser = editor.locator(".modal-dialog")
    chooser.get_by_role("link", name="Home page form").click()
    expect(chooser).to_be_hidden()

    # The steps, through the InlinePanel: send mail 1, wait 1 hour (the smallest unit), send mail 2.
    add_step = editor.get_by_role("button", name="Add step")
    for index in range(3):
        add_step.click()
        expect(editor.locator(f"#id_steps-{index}-kind")).to_be_visible()
    editor.locator("#id_steps-0-kind").select_option("send")
    # Only the chosen kind's fields show (automation_steps.js): a send step has no wait, a wait step no newsletter.
    for hidden in ("wait_amount", "wait_unit", "hour", "group", "condition", "segment", "otherwise_go_to"):
        expect(editor.locator(f"#id_steps-0-{hidden}")).to_be_hidden()
    choose_page(editor, 0, MAIL_1)
    editor.locator("#id_steps-1-kind").select_option("wait")
    expect(editor.locator("#id_steps-1-wait_amount")).to_be_visible()
    expect(editor.locator("#inline_child_steps-1").get_by_role("button", name="Choose a page")).to_be_hidden()
    editor.locator("#id_steps-1-wait_amount").fill("1")
    editor.locator("#id_steps-1-wait_unit").select_option("hours")
    editor.locator("#id_steps-2-kind").select_option("send")
    choose_page(editor, 2, MAIL_2)
    shot(editor, "1-built")
    editor.get_by_role("button", name="Save").first.click()
    row = editor.get_by_role("row").filter(has_text="Welcome series")
    expect(row).to_contain_text("Subscription confirmed")
    shot(editor, "2-listing")

    # Three visitors sign up on the home page and confirm from their mails.
    visitor = browser.new_context(viewport={"width": 1024, "height": 800}).new_page()
    visitor.set_default_timeout(SLOW)
    for email, first_name in VISITORS:
        visitor.goto(f"{base_url}/")
        visitor.get_by_label("Email address").fill(email)
        visitor.get_by_label("First name").fill(first_name)
        visitor.get_by_role("checkbox").check()
        visitor.get_by_role("button", name="Subscribe").click()
        expect(visitor.get_by_text("Check your inbox").first).to_be_visible()
    for email, _first_name in VISITORS:
        link = confirmation_link(smtp_server, email)
        assert link.startswith(base_url)
        visitor.goto(link)
        visitor.get_by_role("button", name="Yes, subscribe me").click()
        expect(visitor.get_by_text("You are subscribed. Welcome!")).to_be_visible()
    shot(visitor, "3-confirmed")

    # The cluster's tick sends mail 1 and starts the hour's wait: everyone waits at step 2 (the wait), none at step 3.
    row.get_by_role("link", name="Steps and figures").click()
    expect(editor.get_by_role("heading", name="Automation “Welcome series”")).to_be_visible()
    during_the_wait = {1: {"passed": "3", "waiting": "0"}, 2: {"waiting": "3", "passed": "0"}, 3: {"waiting": "0"}}
    wait_figures(editor, during_the_wait, cluster)
    expect(editor.locator("[data-automation-totals]")).to_contain_text("In progress: 3 · finished: 0 · left: 0")
    shot(editor, "4-waiting")
    first = {(email, subjects[MAIL_1].replace('{{ first_name|default:"friend" }}', name)) for email, name in VISITORS}
    assert set(wait_newsletters(smtp_server, cluster, 3)) == first
    time.sleep(2)  # and nothing more comes before its time
    assert newsletters(smtp_server) == Counter(first)

    # An hour and a minute later (time travel), the tick sends mail 2.
    later = timezone.now() + datetime.timedelta(hours=1, minutes=1)
    assert in_a_thread(tick, now=later)["moved"] == 3
    after_the_wait = {1: {"passed": "3"}, 2: {"waiting": "0", "passed": "3"}, 3: {"waiting": "0", "passed": "3"}}
    wait_figures(editor, after_the_wait, cluster)
    expect(editor.locator("[data-automation-totals]")).to_contain_text("In progress: 0 · finished: 3 · left: 0")
    expect(editor.locator("[data-automation-steps] tr[data-step='3']").get_by_role("link")).to_have_count(1)
    shot(editor, "5-finished")
    second = {(email, subjects[MAIL_2]) for email, _name in VISITORS}
    wait_newsletters(smtp_server, cluster, 6)
    time.sleep(2)  # nothing doubled
    assert newsletters(smtp_server) == Counter(first | second)
    # Mail 1 before mail 2 for each of them.
    order = [(m["to"][0], str(m["message"]["Subject"])) for m in list(smtp_server.messages)]
    for email, name in VISITORS:
        assert order.index((email, subjects[MAIL_1].replace('{{ first_name|default:"friend" }}', name))) < order.index(
            (email, subjects[MAIL_2])
        )
