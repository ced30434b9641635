"""The example site's weekly page digest (setup_demo): two news articles, a digest of the ArticlePages below the home
page for the Weekly news group on Mondays at 8:00, reviewed by an editor; its first issue holds both articles' teasers
with their intro and image."""

import datetime
import os

import pytest
from django.core.management import call_command
from django.utils import timezone
from home.models import ArticlePage

from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.growth.digest_runs import run_due_digests
from wagtail_newsletter.growth.digest_schedule import next_occurrence
from wagtail_newsletter.growth.digests import Digest, RunOutcome


@pytest.fixture
def demo(db):
    call_command("setup_demo", stdout=open(os.devnull, "w"))


def test_the_demo_digest_makes_a_weekly_issue_of_the_new_articles_for_review(demo):
    digest = Digest.objects.get(name="Weekly pages")
    assert digest.schedule_text() == "Every Monday at 08:00 (Europe/Paris)" and digest.review
    assert [group.name for group in digest.include_groups.all()] == ["Weekly news"]
    articles = list(ArticlePage.objects.order_by("first_published_at", "pk"))
    assert len(articles) == 2

    monday = next_occurrence(digest.schedule, timezone.now())
    assert run_due_digests(monday - datetime.timedelta(minutes=1)) == []
    [run] = run_due_digests(monday)
    assert run.outcome == RunOutcome.REVIEW and run.page_ids == [article.pk for article in articles]
    issue = NewsletterPage.objects.get(pk=run.newsletter_id)
    teasers = [block.value for block in issue.body if block.block_type == "article_teaser"]
    assert [teaser["page"].pk for teaser in teasers] == [article.pk for article in articles]
    assert teasers[0]["summary"] == articles[0].intro and teasers[0]["image"] == articles[0].image
    html = issue.web_version_html()
    assert articles[1].get_full_url() in html and articles[1].title in html
    assert run.campaign.recipient_count == 0 and run.campaign.include_groups.get().name == "Weekly news"


def test_setup_demo_again_keeps_the_digest_and_its_watermark(demo):
    digest = Digest.objects.get()
    call_command("setup_demo", stdout=open(os.devnull, "w"))
    assert Digest.objects.get().published_since == digest.published_since
    assert ArticlePage.objects.count() == 2 and digest.parent_pages.count() == 1
