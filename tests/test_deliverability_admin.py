"""What the editor sees of returned mail in the admin: the campaign page and report saying that receivers or a guard
paused the campaign and why, the refusals for the sender's sake counted apart, and the "Repeated soft bounces"
report. Bounces are real DSNs classified and applied as the intake does."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.deliverability import effects
from wagtail_newsletter.deliverability import sample_mail as build
from wagtail_newsletter.deliverability.classify import classify
from wagtail_newsletter.deliverability.soft_bounces import repeated_soft_bounces
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.mime import message_id, verp_return_path
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus

from .campaign_admin_fixtures import campaigns_url, sending_campaign
from .compose_editor_fixtures import make_newsletter

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.org", "x")


@pytest.fixture
def sending(archive, editor, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "GUARD_MIN_SENT": 20}
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{n}@example.net", status=Status.SUBSCRIBED) for n in range(40)]
    )
    campaign = sending_campaign(make_newsletter(archive), editor)
    deliveries = Delivery.objects.filter(campaign=campaign).select_related("subscriber").order_by("pk")
    deliveries.update(status=DeliveryStatus.SENT, sent_at=timezone.now())
    return campaign, [(d, d.subscriber.email) for d in deliveries]


def bounce(delivery, email, status="5.1.1", diagnostic="550 5.1.1 User unknown"):
    verp = verp_return_path(delivery.pk, "example.org")
    original = build.newsletter(email, return_path=verp, message_id=message_id(delivery.pk, "example.org"))
    raw = build.dsn([(email, "failed", status, diagnostic)], to=verp, original=original, headers_only=True)
    with transaction.atomic():
        return effects.apply_verdict(classify(raw))


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_the_campaign_page_and_report_say_the_bounce_guard_paused_it(sending, client, editor):
    campaign, deliveries = sending
    for n in range(3):
        bounce(*deliveries[n])
    client.force_login(editor)
    for url in (campaigns_url("detail", campaign.pk), campaigns_url("report", campaign.pk)):
        html = page(client, url)
        assert 'data-pause-cause="bounce_guard"' in html and "Paused: too many hard bounces" in html
        assert "7.5 % of this campaign&#x27;s messages hard-bounced (3 of 40); the limit is 5 %." in html
        assert "Resuming is your decision" in html
    campaigns.resume(campaign)
    assert "data-pause-cause" not in page(client, campaigns_url("detail", campaign.pk))


def test_a_receivers_block_is_explained_and_counted_apart_from_bounces(sending, client, editor):
    campaign, deliveries = sending
    bounce(*deliveries[0], status="5.7.1", diagnostic="554 5.7.1 Service unavailable; Client host blocked using zen")
    bounce(*deliveries[1], status="4.4.7", diagnostic="421 4.4.7 Message delayed")
    client.force_login(editor)
    detail = page(client, campaigns_url("detail", campaign.pk))
    assert 'data-pause-cause="policy"' in detail and "Paused: receivers block the sender" in detail
    assert "example.net" in detail and "Client host blocked" in detail and "not at fault" in detail
    report = page(client, campaigns_url("report", campaign.pk))
    assert '<strong data-stat="blocked">1</strong> message was refused by the receiving server' in report
    assert '<strong data-stat="delayed">1</strong> message was reported delayed' in report
    # Finished while paused by the guard (nothing left to send): the report still says why it stopped.
    campaigns.finish_if_done(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert 'data-pause-cause="policy"' in page(client, campaigns_url("report", campaign.pk))


def test_repeated_soft_bounces_are_listed_for_the_editor(client, editor, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SOFT_BOUNCE_LIMIT": 4, "SOFT_BOUNCE_CAMPAIGNS": 3}
    full, once, old = (
        Subscriber.objects.create(email=f"{name}@example.net", status=Status.SUBSCRIBED)
        for name in ("full", "once", "old")
    )
    issues = [Campaign.objects.create(name=f"Issue {n}", status=CampaignStatus.SENT) for n in range(5)]
    sent = {
        (person.pk, n): Delivery.objects.create(
            campaign=issue, subscriber=person, status=DeliveryStatus.SENT, sent_at=timezone.now()
        )
        for n, issue in enumerate(issues)
        for person in (full, once, old)
    }
    for person, numbers in ((full, (2, 3, 4)), (once, (4,)), (old, (0, 1, 4))):
        for n in numbers:
            bounce(sent[person.pk, n], person.email, "5.2.2", "552 5.2.2 Mailbox full")
    rows = {s.email: (s.recent_soft_bounces, s.soft_bounces) for s in repeated_soft_bounces()}
    # "old" bounced in issues 0 and 1 long ago: only issue 4 is among its last 3 campaigns.
    assert rows == {"full@example.net": (3, 3)}

    client.force_login(editor)
    html = page(client, reverse("newsletter_soft_bounces:index"))
    assert "full@example.net" in html and "once@example.net" not in html and "old@example.net" not in html
    assert "3 (limit 4)" in html and "at least two of the last 3 newsletters" in html
    csv = client.get(reverse("newsletter_soft_bounces:index") + "?export=csv")
    assert b"full@example.net" in b"".join(csv.streaming_content if csv.streaming else [csv.content])


def test_the_soft_bounces_report_needs_a_subscriber_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("guest", "guest@example.org", "x")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    response = client.get(reverse("newsletter_soft_bounces:index"))
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")
