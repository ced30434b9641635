"""A real ``qcluster`` process delivers the confirmation email to a real SMTP server."""

import pytest

from wagtail_newsletter.models import Consent

from .send_cluster import cluster_log, start_qcluster, stop_qcluster
from .signup_fixtures import subscribe_url, valid_post


@pytest.fixture
def qcluster(smtp_server, tmp_path):
    process = start_qcluster(smtp_server.port, tmp_path / "qcluster.log")
    yield process
    stop_qcluster(process)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_qcluster_delivers_the_confirmation_email(client, signup_snippet, smtp_server, queue_for_real, qcluster):
    response = client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    assert response.status_code == 303
    consent = Consent.objects.get()
    messages = smtp_server.wait_for(1, timeout=60)
    if not messages:
        pytest.fail(f"no mail within 60 s; qcluster said:\n{cluster_log(qcluster)}")
    received = messages[0]
    assert received["to"] == ["ada@example.org"]
    html = received["message"].get_body(preferencelist=("html",)).get_content()
    assert f"/newsletter/confirm/{consent.pk}:" in html
