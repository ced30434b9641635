"""Sending rules end to end (tasks inline, a real SMTP server): hourly quota, credits, throttling relays, test sends
outside quotas, and campaign messages accepted by an independent DKIM verifier through a real DNS server."""

import datetime

import pytest
from django.utils import timezone

from wagtail_newsletter.send import campaigns, credits, quotas
from wagtail_newsletter.send.models import Campaign, CampaignStatus, CreditEntry, Delivery, DeliveryStatus, SenderDomain
from wagtail_newsletter.send.worker import send_campaign_task

from .compose_editor_fixtures import make_newsletter
from .test_send_dkim import DOMAIN, SELECTOR, dns_server, key, perl_verify  # noqa: F401 (fixtures)
from .test_send_engine import make_subscribers  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def configure(settings, **values):
    settings.WAGTAIL_NEWSLETTER = {
        **settings.WAGTAIL_NEWSLETTER,
        "SEND_BATCH_SIZE": 4,
        "SEND_CONCURRENCY": 1,
        "SEND_RETRY_SECONDS": 0,
        **values,
    }


def new_campaign(archive_page):  # noqa: F811
    campaign = campaigns.create_campaign(make_newsletter(archive_page))
    campaigns.set_audience(campaign, True)
    return campaign


def test_hourly_quota_holds_the_campaign_until_the_next_hour(archive, smtp_server, settings):  # noqa: F811
    configure(settings, HOURLY_QUOTA=5)
    make_subscribers(8)
    campaign = campaigns.send_now(new_campaign(archive))
    assert len(smtp_server.messages) == 5
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING
    next_hour = quotas.window_start(timezone.now()) + datetime.timedelta(hours=1)
    assert campaign.hold_until == next_hour
    assert "quota" in campaign.status_note.lower()
    assert quotas.used_this_hour() == 5
    # A new hour: the window is fresh and the hold is over.
    Campaign.objects.filter(pk=campaign.pk).update(hold_until=timezone.now() - datetime.timedelta(seconds=1))
    from wagtail_newsletter.send.models import QuotaWindow

    QuotaWindow.objects.update(starts_at=quotas.window_start(timezone.now()) - datetime.timedelta(hours=1))
    send_campaign_task(campaign.pk)
    assert len(smtp_server.messages) == 8
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT
    assert quotas.used_this_hour() == 3


def test_test_sends_do_not_count_against_the_quota(archive, smtp_server, settings):  # noqa: F811
    configure(settings, HOURLY_QUOTA=5)
    from wagtail_newsletter.send.test_send import send_test_task

    newsletter = make_newsletter(archive)
    assert send_test_task(newsletter.get_latest_revision().pk, ["a@example.net", "b@example.net"]) == 2
    assert len(smtp_server.messages) == 2
    assert quotas.used_this_hour() == 0
    assert Delivery.objects.count() == 0


def test_credits_refuse_a_send_beyond_the_balance_and_refund_what_was_not_sent(archive, smtp_server, settings):  # noqa: F811
    configure(settings, CREDITS_ENABLED=True)
    subscribers = make_subscribers(5)
    credits.purchase(3)
    campaign = new_campaign(archive)
    with pytest.raises(campaigns.CampaignError, match="5 credits"):
        campaigns.send_now(campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not Delivery.objects.exists()
    assert credits.balance() == 3

    credits.purchase(10)

    smtp_server.rcpt_answer = lambda address: "550 5.1.1 No such user" if address == subscribers[0].email else None
    campaigns.send_now(campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    # 13 - 5 charged + 1 refunded for the message the relay refused.
    assert credits.balance() == 9
    assert campaign.credits_charged == 4
    kinds = list(CreditEntry.objects.filter(campaign=campaign).values_list("kind", "amount").order_by("id"))
    assert kinds == [(CreditEntry.Kind.CHARGE, -5), (CreditEntry.Kind.REFUND, 1)]


def test_a_throttling_relay_slows_the_campaign_down_then_it_recovers(archive, smtp_server, settings):  # noqa: F811
    configure(settings, SEND_MAX_ATTEMPTS=10)
    make_subscribers(10)
    campaign = new_campaign(archive)
    observed = []
    refusals = {"left": 3}

    async def handle_RCPT(server, session, envelope, address, rcpt_options):
        observed.append(await _throttle_of(campaign.pk))
        if refusals["left"]:
            refusals["left"] -= 1
            return "421 4.7.0 Too many messages, slow down"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_server.handle_RCPT = handle_RCPT
    campaigns.send_now(campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert len(smtp_server.messages) == 10
    assert max(observed) >= 200  # the whole campaign waited between messages…
    assert campaign.throttle_ms == 0  # …and sped up again once the relay accepted a batch
    retried = Delivery.objects.filter(campaign=campaign, attempts__gt=1, status=DeliveryStatus.SENT)
    assert retried.count() == 3


async def _throttle_of(campaign_id):
    from asgiref.sync import sync_to_async

    return await sync_to_async(
        lambda: Campaign.objects.values_list("throttle_ms", flat=True).get(pk=campaign_id), thread_sensitive=False
    )()


def test_campaign_messages_pass_an_independent_dkim_verifier(archive, smtp_server, settings, dns_server, key):  # noqa: F811
    configure(settings)
    SenderDomain.objects.create(domain=DOMAIN, selector=SELECTOR, private_key=key)
    make_subscribers(3)
    campaigns.send_now(new_campaign(archive))
    assert len(smtp_server.messages) == 3
    for received in smtp_server.messages:
        assert perl_verify(received["raw"], dns_server.port) == "pass"
        signature = received["message"]["DKIM-Signature"]
        assert "list-unsubscribe-post" in signature.replace(" ", "").lower()
