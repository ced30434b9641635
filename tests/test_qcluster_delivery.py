"""A real ``qcluster`` process delivers the confirmation email to a real SMTP server."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django_q.conf import Conf

from wagtail_newsletter.models import Consent

from .live_site import stop_process
from .signup_fixtures import subscribe_url, valid_post

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def queue_for_real():
    """Enqueue into the ORM broker instead of running tasks in the test process."""
    previous = Conf.SYNC
    Conf.SYNC = False
    yield
    Conf.SYNC = previous


@pytest.fixture
def qcluster(smtp_server, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_site")]),
        "Q_SYNC": "0",
        "WN_USE_TEST_DB": "1",
        "WN_TEST_EMAIL_SMTP": "1",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_server.port),
    }
    log = open(tmp_path / "qcluster.log", "wb")  # a file: a full pipe would block the cluster
    process = subprocess.Popen(
        [sys.executable, "example_site/manage.py", "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log_path = tmp_path / "qcluster.log"
    yield process
    stop_process(process, timeout=20)
    log.close()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_qcluster_delivers_the_confirmation_email(client, signup_snippet, smtp_server, queue_for_real, qcluster):
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 303
    consent = Consent.objects.get()
    messages = smtp_server.wait_for(1, timeout=60)
    if not messages:
        output = qcluster.log_path.read_text(errors="replace")
        pytest.fail(f"no mail within 60 s; qcluster said:\n{output[-4000:]}")
    received = messages[0]
    assert received["to"] == ["ada@example.org"]
    html = received["message"].get_body(preferencelist=("html",)).get_content()
    assert f"/newsletter/confirm/{consent.pk}:" in html
