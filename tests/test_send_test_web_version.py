"""A test mail's "View in your browser" link: it opens the tested revision, an unpublished draft included, as the
mail showed it; a forged, altered, expired or other-purpose token gets 404."""

import pytest
from bs4 import BeautifulSoup
from django.utils.http import int_to_base36

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.send.test_send import send_test_task
from wagtail_newsletter.send.test_web_version import TEST_WEB_VERSION_DAYS, issue_day, web_version_of_test_url
from wagtail_newsletter.tokens import LinkSigner

from .compose_editor_fixtures import GREETING_BODY

pytestmark = pytest.mark.django_db

BASE = "http://testserver"
DRAFT_BODY = [{"type": "rich_text", "value": {"text": "<p>Only in the draft.</p>"}}, *GREETING_BODY]


@pytest.fixture
def draft(archive):
    """A newsletter never published: its page URL answers 404."""
    page = archive.add_child(
        instance=NewsletterPage(
            title="Draft news", slug="draft-news", subject="Draft news", sender_email="news@example.org",
            body=DRAFT_BODY, live=False,
        )
    )  # fmt: skip
    page.save_revision()
    return page


def web_version_links(message):
    """The "View in your browser" URL of each part of a received test mail."""
    html = message.get_body(("html",)).get_content()
    anchors = BeautifulSoup(html, "html.parser").find_all("a", string="View in your browser")
    text = message.get_body(("plain",)).get_content()
    return [anchor["href"] for anchor in anchors], text


def test_web_version_link_of_a_test_mail_opens_the_unpublished_draft(client, draft, smtp_server):
    assert client.get(draft.url).status_code == 404
    send_test_task(draft.latest_revision_id, ["qa@example.org"])
    (href,), text = web_version_links(smtp_server.wait_for(1)[0]["message"])
    assert href in text
    response = client.get(href.removeprefix(BASE))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Only in the draft." in page and "Hello Ada" in page  # the draft, with the test's sample data
    assert response["X-Robots-Tag"] == "noindex" and "no-store" in response["Cache-Control"]


def test_web_version_of_a_test_rendered_as_a_subscriber_shows_their_data(client, draft, smtp_server):
    zoe = Subscriber.objects.create(email="zoe@example.org", first_name="Zoé", status=Status.SUBSCRIBED)
    send_test_task(draft.latest_revision_id, ["qa@example.org"], subscriber_id=zoe.pk)
    (href,), _text = web_version_links(smtp_server.wait_for(1)[0]["message"])
    assert "Hello Zoé" in client.get(href.removeprefix(BASE)).content.decode()


def test_forged_altered_expired_or_other_purpose_tokens_get_404(client, draft):
    revision_id = draft.latest_revision_id
    good = web_version_of_test_url("", revision_id)
    assert client.get(good).status_code == 200
    token = good.rstrip("/").rpartition("/")[2]
    altered = token[:-1] + ("0" if token[-1] != "0" else "1")
    prefix = good.removesuffix(token + "/")
    forged = LinkSigner("web").sign(revision_id, issue_day())  # a web-version token of a campaign's delivery
    for url in (
        prefix + altered + "/",
        prefix + int_to_base36(revision_id + 1) + "." + token.partition(".")[2] + "/",  # another revision
        prefix + forged + "/",
        web_version_of_test_url("", revision_id, day=issue_day() - TEST_WEB_VERSION_DAYS - 1),
        web_version_of_test_url("", 10**9),  # no such revision
    ):
        assert client.get(url).status_code == 404, url
    last_day = web_version_of_test_url("", revision_id, day=issue_day() - TEST_WEB_VERSION_DAYS)
    assert client.get(last_day).status_code == 200
