"""The page digests' admin: setting one up (parent pages, page types, schedule, audience), bad input refused with the
field named and nothing saved, its past issues, and the dashboard's "waiting for review" panel."""

import datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone
from home.models import HomePage

from wagtail_newsletter.audience.models import Group
from wagtail_newsletter.growth.digest_runs import run_due_digests
from wagtail_newsletter.growth.digests import Digest, DigestRun, RunOutcome

from .digest_fixtures import PARIS, add_page, add_readers, home_page, make_digest, make_template

ADD_URL = reverse("wagtailsnippets_wagtail_newsletter_digest:add")
LIST_URL = reverse("wagtailsnippets_wagtail_newsletter_digest:list")


def form_data(archive, **overrides):
    readers, _ = Group.objects.get_or_create(name="Readers")
    data = {
        "name": "Weekly pages",
        "active": "on",
        "parent_pages-TOTAL_FORMS": "1",
        "parent_pages-INITIAL_FORMS": "0",
        "parent_pages-MIN_NUM_FORMS": "0",
        "parent_pages-MAX_NUM_FORMS": "1000",
        "parent_pages-0-page": str(home_page().pk),
        "parent_pages-0-ORDER": "1",
        "parent_pages-0-DELETE": "",
        "parent_pages-0-id": "",
        "page_types": [str(ContentType.objects.get_for_model(HomePage).pk)],
        "published_since": "2027-03-01 08:00",
        "frequency": "weekly",
        "weekday": "0",
        "day_of_month": "1",
        "hour": "8",
        "minute": "0",
        "template": str(make_template().pk),
        "archive": str(archive.pk),
        "review": "on",
        "include_groups": [str(readers.pk)],
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.django_db
def test_an_editor_sets_up_a_weekly_digest(admin_client, archive):
    response = admin_client.post(ADD_URL, form_data(archive))
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    digest = Digest.objects.get()
    assert [link.page_id for link in digest.parent_pages.all()] == [home_page().pk]
    assert list(digest.page_types.all()) == [ContentType.objects.get_for_model(HomePage)]
    assert [group.name for group in digest.include_groups.all()] == ["Readers"]
    assert digest.published_since == datetime.datetime(2027, 3, 1, 8, 0, tzinfo=PARIS)
    assert digest.review and digest.schedule_text() == "Every Monday at 08:00 (Europe/Paris)"
    listing = admin_client.get(LIST_URL).content.decode()
    assert "Weekly pages" in listing and "Every Monday at 08:00" in listing


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"hour": "24"}, "hour"),
        ({"minute": "60"}, "minute"),
        ({"day_of_month": "31", "frequency": "monthly"}, "day_of_month"),
        ({"weekday": "9"}, "weekday"),
        ({"frequency": "hourly"}, "frequency"),
        ({"parent_pages-TOTAL_FORMS": "0", "page_types": None}, "page_types"),
        ({"include_groups": None}, "include_groups"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(admin_client, archive, overrides, field):
    response = admin_client.post(ADD_URL, form_data(archive, **overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Digest.objects.exists()


@pytest.mark.django_db
def test_past_issues_and_the_issues_waiting_for_review(admin_client, archive):
    add_readers(2)
    digest = make_digest(archive, review=True)
    add_page("Tulips are out", datetime.datetime(2027, 3, 2, tzinfo=PARIS))
    [waiting] = run_due_digests(datetime.datetime(2027, 3, 8, 8, 0, tzinfo=PARIS))
    run_due_digests(datetime.datetime(2027, 3, 15, 8, 0, tzinfo=PARIS))  # nothing new: skipped

    page = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_digest:issues", args=[digest.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('data-outcome="skipped"') == 1 and html.count('data-outcome="review"') == 1
    assert "Tulips are out" in html
    assert reverse("newsletter_campaigns:detail", args=[waiting.campaign_id]) in html

    dashboard = admin_client.get(reverse("wagtailadmin_home")).content.decode()
    assert "Digest issues waiting for review" in dashboard
    assert reverse("newsletter_campaigns:send_recipients", args=[waiting.campaign_id]) in dashboard
    waiting.campaign.status = "sending"
    waiting.campaign.save()
    assert "Digest issues waiting for review" not in admin_client.get(reverse("wagtailadmin_home")).content.decode()


@pytest.mark.django_db
def test_make_an_issue_now_gathers_the_new_pages_at_once_then_skips(admin_client, archive):
    add_readers(1)
    digest = make_digest(archive, review=True, published_since=timezone.now() - datetime.timedelta(days=1))
    page = add_page("Tulips are out", timezone.now() - datetime.timedelta(hours=1))
    url = reverse("wagtailsnippets_wagtail_newsletter_digest:issue_now", args=[digest.pk])
    assert admin_client.get(url).status_code == 405  # a GET changes nothing
    assert not DigestRun.objects.exists()

    response = admin_client.post(url, follow=True)
    [run] = DigestRun.objects.all()
    assert run.outcome == RunOutcome.REVIEW and run.page_ids == [page.pk]
    assert "The issue is made" in response.content.decode()
    admin_client.post(url)
    assert DigestRun.objects.order_by("pk").last().outcome == RunOutcome.SKIPPED
    assert Digest.objects.get().published_since > run.period_end - datetime.timedelta(seconds=1)
