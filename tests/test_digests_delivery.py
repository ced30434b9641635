"""A page digest made and sent by a real ``qcluster`` (its tick task, also from the django-q2 schedule at the same
time) to a real SMTP server: the mail carries a teaser of each of the two new pages whose links lead to them; the next
period, with nothing new, is skipped and sends nothing."""

import datetime
import re
import time

import pytest
from django.utils import timezone

from wagtail_newsletter import taskqueue
from wagtail_newsletter.growth.digest_runs import run_due_digests
from wagtail_newsletter.growth.digests import DigestRun, RunOutcome
from wagtail_newsletter.schedules import ensure_schedules
from wagtail_newsletter.send.models import CampaignStatus

from .digest_fixtures import add_page, add_readers, make_digest
from .send_cluster import cluster_factory, cluster_log, wait_for  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLUSTER = {"workers": 2, "timeout": 30, "retry": 40, "poll": 0.1}
CLICK_LINK = re.compile(r'href="(https?://[^"]*/newsletter/c/[^"]+)"')


def followed(client, url):
    """Where a tracked link of the mail redirects to."""
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path)
    assert response.status_code == 302, url
    return response["Location"]


def test_qcluster_sends_the_digest_then_skips_a_day(archive, smtp_server, queue_for_real, cluster_factory, client):  # noqa: F811
    add_readers(2)
    now = timezone.now()
    local = timezone.localtime(now)
    # Due every day at this very minute: the cluster's tick finds the period that has just ended.
    make_digest(
        archive, frequency="daily", hour=local.hour, minute=local.minute,
        published_since=now - datetime.timedelta(days=1),
    )  # fmt: skip
    earlier = now - datetime.timedelta(minutes=10)
    first = add_page("Tulips are out", earlier)
    second = add_page("Pruning roses", earlier + datetime.timedelta(seconds=1))
    ensure_schedules()  # the every-minute tick of schedules.py runs too, beside the task enqueued below
    cluster = cluster_factory(smtp_server.port, CLUSTER)
    taskqueue.enqueue("wagtail_newsletter.growth.digest_runs.tick")

    messages = smtp_server.wait_for(2, timeout=120)
    if len(messages) < 2:
        pytest.fail(f"{len(messages)} digest mails within 120 s; qcluster said:\n{cluster_log(cluster)}")
    run = wait_for(lambda: DigestRun.objects.filter(campaign__status=CampaignStatus.SENT).first(), 60)
    assert run is not None, cluster_log(cluster)
    assert run.outcome == RunOutcome.SENT and run.page_ids == [first.pk, second.pk]
    assert sorted(m["to"][0] for m in messages) == ["reader0@example.net", "reader1@example.net"]
    html = messages[0]["message"].get_body(preferencelist=("html",)).get_content()
    assert "Tulips are out" in html and "Pruning roses" in html and "About Tulips are out." in html
    destinations = {followed(client, url).split("?", 1)[0] for url in CLICK_LINK.findall(html)}
    assert {first.get_full_url(), second.get_full_url()} <= destinations

    # The cluster's schedule ticks on (every minute) while the next day passes with nothing new: skipped.
    time.sleep(3)
    [skipped] = run_due_digests(run.period_end + datetime.timedelta(days=1, minutes=1))
    assert skipped.outcome == RunOutcome.SKIPPED and skipped.campaign is None
    time.sleep(3)
    assert DigestRun.objects.count() == 2
    assert len(smtp_server.messages) == 2
