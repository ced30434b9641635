"""A live example site and a real browser for the browser tests (registered as a pytest plugin in
conftest.py): the ``live_site`` fixture runs ``manage.py runserver --noreload`` in a subprocess on the
test database, mailing through SMTP to the ``smtp_server`` fixture; ``browser`` is Debian's Chromium
driven by Playwright. ``start_live_site`` starts more sites, or one whose tasks wait in the database for a
real ``qcluster`` (``q_sync=False``); ``queue_for_real`` does the same for the test process. Screenshots land in
``test-artifacts/``.
"""

import contextlib
import os
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
# Marks of a browser test module: ``pytestmark = BROWSER_TEST``.
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def stop_process(process, timeout):
    """SIGTERM a process started with ``start_new_session=True``; kill its whole group if it lingers."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


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


@contextlib.contextmanager
def serving_example_site(log_path, smtp_port=None, q_sync=True):
    """``manage.py runserver --noreload`` on the test database until the block ends; yields its base URL.

    ``q_sync=True``: tasks run in the web process, so a mail leaves when the request commits (to the SMTP server
    on ``smtp_port``). ``q_sync=False``: tasks are queued in the database for a ``qcluster`` to run.
    """
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_site")]),
        "WN_USE_TEST_DB": "1",
        "Q_SYNC": "1" if q_sync else "0",
        "WN_TEST_BASE_URL": base_url,
        "DEBUG": "1",  # runserver serves the admin's static files
    }
    if smtp_port is not None:
        env.update(WN_TEST_EMAIL_SMTP="1", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port))
    log = open(log_path, "wb")  # a file: a full pipe would block the server
    process = subprocess.Popen(
        [sys.executable, "example_site/manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until_serving(f"{base_url}/admin/login/", process, log_path)
        yield base_url
    finally:
        stop_process(process, timeout=15)
        log.close()


@pytest.fixture
def start_live_site(django_db_serialized_rollback, transactional_db, tmp_path):
    """A factory: ``start_live_site(smtp_port=None, q_sync=True)`` serves the example site with its demo content
    and returns its base URL; every site it started stops when the test ends.

    Serialized rollback puts back what migrations created (Wagtail's root page, the default site),
    which the flush after a transactional test removes: several tests can each start a live site.
    """
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    started = []
    with contextlib.ExitStack() as sites:

        def start(smtp_port=None, q_sync=True):
            started.append(tmp_path / f"runserver{len(started)}.log")
            return sites.enter_context(serving_example_site(started[-1], smtp_port, q_sync))

        yield start


@pytest.fixture
def live_site(smtp_server, start_live_site):
    """The example site mailing through SMTP to ``smtp_server``, its tasks run in the web process (the mail leaves
    when the sign-up commits); yields its base URL. For a real queue: ``start_live_site(q_sync=False)``."""
    return start_live_site(smtp_port=smtp_server.port)


@pytest.fixture
def queue_for_real():
    """Enqueue into the ORM broker instead of running tasks in the test process (for a ``qcluster`` to run)."""
    from django_q.conf import Conf

    previous = Conf.SYNC
    Conf.SYNC = False
    yield
    Conf.SYNC = previous


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def log_in(page, base_url, username="admin", password="admin"):
    """Sign in to the live site's Wagtail admin in ``page``."""
    page.goto(f"{base_url}/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)
