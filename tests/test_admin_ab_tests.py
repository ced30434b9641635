"""The send wizard's A/B test step, the A/B report and the editor's pick, through the Django test client: a valid test
starts its variants; forged POSTs (variant counts outside 2–4, samples over 100 %, another test's variant, a page that
is no newsletter) get clear errors and change nothing."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.growth import ab_winner
from wagtail_newsletter.growth.ab_start import VariantChoice, create_ab_test
from wagtail_newsletter.growth.ab_tests import AbSample, AbStatus, AbTest
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    assert_refused,
    campaigns_url,
    editor_client_fixture,
    sender_client_fixture,
    sender_fixture,
)
from .compose_editor_fixtures import make_newsletter

pytestmark = pytest.mark.django_db


def ab_url(name, *args):
    return reverse(f"newsletter_ab_tests:{name}", args=args)


@pytest.fixture
def crowd(db):
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"p{i}@example.net", status=Status.SUBSCRIBED) for i in range(100)]
    )


@pytest.fixture
def draft(newsletter, admin_user, crowd, admin_client):
    campaign = campaigns.create_campaign(newsletter, admin_user)
    campaigns.set_audience(campaign, True)
    assert admin_client.post(campaigns_url("send_checks", campaign.pk), {}).status_code == 302  # checklist accepted
    return campaign


def post_data(**data):
    return {
        "variant_count": "2",
        "metric": "opens",
        "wait_hours": "4",
        "send_winner": "on",
        "A_percent": "10",
        "B_percent": "10",
        "B_subject": "A better subject",
        **data,
    }


def nothing_made():
    return not AbTest.objects.exists() and not AbSample.objects.exists() and not Delivery.objects.exists()


def test_the_confirm_step_offers_an_ab_test(admin_client, draft):
    assert admin_client.post(campaigns_url("send_schedule", draft.pk), {"when": "now"}).status_code == 302
    page = admin_client.get(campaigns_url("send_confirm", draft.pk)).content.decode()
    assert ab_url("setup", draft.pk) in page


def test_the_step_needs_the_checklist_first(admin_client, newsletter, admin_user, crowd):
    campaign = campaigns.create_campaign(newsletter, admin_user)
    response = admin_client.get(ab_url("setup", campaign.pk))
    assert response.status_code == 302 and response.url == campaigns_url("send_checks", campaign.pk)


def test_a_valid_post_starts_the_variants_and_shows_the_report(admin_client, draft):
    page = admin_client.get(ab_url("setup", draft.pk)).content.decode()
    assert 'data-ab-variant="D"' in page and "100 recipients" in page
    response = admin_client.post(ab_url("setup", draft.pk), post_data())
    test = AbTest.objects.get()
    assert response.status_code == 302 and response.url == ab_url("report", test.pk)
    assert test.status == AbStatus.TESTING and test.wait_minutes == 240 and test.send_winner
    assert Delivery.objects.count() == 20 and AbSample.objects.count() == 20
    assert Campaign.objects.get(pk=draft.pk).status == CampaignStatus.DRAFT  # the rest waits for the winner

    report = admin_client.get(ab_url("report", test.pk)).content.decode()
    assert 'data-ab-variant="A"' in report and 'data-ab-variant="B"' in report
    assert "subject “A better subject”" in report and "A and B are too close to call." in report
    # The campaign report of a variant shows the comparison too.
    variant = test.variants.get(letter="B").campaign
    assert "data-ab-report" in admin_client.get(campaigns_url("report", variant.pk)).content.decode()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"variant_count": "5"}, "Select a valid choice"),
        ({"variant_count": "1"}, "Select a valid choice"),
        ({"A_percent": "60", "B_percent": "50"}, "more than 100 %"),
        ({"A_percent": "150"}, "less than or equal to 100"),
        ({"A_percent": "0"}, "greater than or equal to 1"),
        ({"B_subject": ""}, "Variant B is the same as A"),
        ({"variant_count": "3"}, "Choose the size of variant C"),
        ({"metric": "revenue"}, "Select a valid choice"),
        ({"wait_hours": "-1"}, "greater than or equal to 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_makes_nothing(admin_client, draft, data, message):
    response = admin_client.post(ab_url("setup", draft.pk), post_data(**data))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert nothing_made() and Campaign.objects.count() == 1


def test_a_page_that_is_no_newsletter_is_refused(admin_client, draft, archive):
    response = admin_client.post(ab_url("setup", draft.pk), post_data(B_subject="", B_page=str(archive.pk)))
    assert "Select a valid choice" in response.content.decode() and nothing_made()


def test_an_audience_too_small_for_the_samples_is_refused(admin_client, draft):
    Subscriber.objects.exclude(pk__in=Subscriber.objects.order_by("pk")[:5].values("pk")).delete()
    response = admin_client.post(ab_url("setup", draft.pk), post_data())
    assert "too small" in response.content.decode()
    assert nothing_made() and Campaign.objects.count() == 1  # the variants' draft campaigns were rolled back


def test_another_newsletter_as_variant_b(admin_client, draft, archive):
    other = make_newsletter(archive, title="Summer news", slug="summer-news", subject="Summer!")
    response = admin_client.post(ab_url("setup", draft.pk), post_data(B_subject="", B_page=str(other.pk)))
    assert response.status_code == 302
    b = AbTest.objects.get().variants.get(letter="B").campaign
    assert b.page_id == other.pk and b.subject.startswith("Summer!")


def test_editors_without_send_permission_are_refused(editor_client, draft, admin_user):
    assert_refused(editor_client, "get", ab_url("setup", draft.pk))
    assert_refused(editor_client, "post", ab_url("setup", draft.pk), post_data())
    test = create_ab_test(draft, [VariantChoice(10), VariantChoice(10, subject="B")], user=admin_user)
    assert_refused(editor_client, "post", ab_url("choose", test.pk), {"variant": str(test.variants.first().pk)})
    assert_refused(editor_client, "post", ab_url("cancel", test.pk))
    assert AbTest.objects.get().status == AbStatus.DRAFT and not Delivery.objects.exists()


def test_the_editor_picks_the_winner_and_a_forged_variant_is_refused(admin_client, draft, archive, admin_user):
    admin_client.post(ab_url("setup", draft.pk), post_data(metric="manual", wait_hours="0"))
    test = AbTest.objects.get()
    Delivery.objects.update(status=DeliveryStatus.SENT)
    ab_winner.pick_winner(test.pk, now=timezone.now() + datetime.timedelta(seconds=1))
    assert AbTest.objects.get().status == AbStatus.WAITING

    other_page = make_newsletter(archive, title="Other", slug="other")
    other_campaign = campaigns.create_campaign(other_page, admin_user)
    campaigns.set_audience(other_campaign, True)
    other = create_ab_test(other_campaign, [VariantChoice(10), VariantChoice(10, subject="X")])
    for forged in (str(other.variants.first().pk), "nonsense", ""):
        response = admin_client.post(ab_url("choose", test.pk), {"variant": forged}, follow=True)
        assert "Choose one of this test&#x27;s variants." in response.content.decode()
    assert AbTest.objects.get(pk=test.pk).status == AbStatus.WAITING
    assert Campaign.objects.get(pk=draft.pk).status == CampaignStatus.DRAFT

    b = test.variants.get(letter="B")
    response = admin_client.post(ab_url("choose", test.pk), {"variant": str(b.pk)}, follow=True)
    assert "Variant B is the winner." in response.content.decode()
    test.refresh_from_db()
    assert test.status == AbStatus.DONE and test.winner == b
    rest = Campaign.objects.get(pk=draft.pk)
    assert rest.status == CampaignStatus.SENDING and rest.subject == "A better subject"
    assert Delivery.objects.filter(campaign=rest).count() == 80
    report = admin_client.get(campaigns_url("report", rest.pk)).content.decode()
    assert "data-ab-winner" in report and 'data-ab-part="whole"' in report
