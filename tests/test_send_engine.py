"""The send engine in one process: planner, claims, worker loop and transport against a real SMTP server (aiosmtpd).

django-q2 runs tasks inline here (sync mode); tests/test_send_qcluster.py runs real qcluster processes.
"""

import dkim
import pytest
from django.utils import timezone

from wagtail_newsletter.audience.models import Group, Membership, Status, Subscriber
from wagtail_newsletter.send import campaigns, claims, dispatch
from wagtail_newsletter.send.dkim_signing import dns_record, generate_private_key
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, SenderDomain
from wagtail_newsletter.send.worker import send_campaign_task
from wagtail_newsletter.tokens import LinkSigner

from . import compose_editor_fixtures
from .compose_editor_fixtures import make_newsletter

# The one ``archive`` fixture is the conftest plugin's (compose_editor_fixtures); test_send_qcluster, test_send_stop and
# test_send_takeover still import it from here.
archive = compose_editor_fixtures.archive


def make_subscribers(count, group=None, status=Status.SUBSCRIBED, prefix="reader"):
    subscribers = Subscriber.objects.bulk_create(
        [Subscriber(email=f"{prefix}{i}@example.net", first_name=f"Reader{i}", status=status) for i in range(count)]
    )
    subscribers = list(Subscriber.objects.filter(email__startswith=prefix).order_by("pk"))
    if group is not None:
        Membership.objects.bulk_create([Membership(subscriber=s, group=group) for s in subscribers])
    return subscribers


@pytest.fixture
def sending_settings(settings):
    settings.WAGTAIL_NEWSLETTER = {
        **settings.WAGTAIL_NEWSLETTER,
        "SEND_BATCH_SIZE": 7,
        "SEND_CONCURRENCY": 1,
        "SEND_RETRY_SECONDS": 0,
    }
    return settings


def hold_kicks(monkeypatch):
    """Keep the workers' kicks instead of running them, to act between planning and sending."""
    kicks = []
    monkeypatch.setattr(dispatch, "kick", lambda campaign_id, count=1: kicks.append(campaign_id))
    return kicks


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_every_recipient_gets_exactly_one_signed_message(archive, smtp_server, sending_settings, pipelining):
    smtp_server.pipelining = pipelining
    key = generate_private_key()
    SenderDomain.objects.create(domain="example.org", selector="s1", private_key=key)
    readers = Group.objects.create(name="Readers")
    others = Group.objects.create(name="Others")
    subscribers = make_subscribers(20, readers)
    make_subscribers(5, others, prefix="other")
    make_subscribers(3, readers, status=Status.UNSUBSCRIBED, prefix="gone")
    newsletter = make_newsletter(archive)
    campaign = campaigns.create_campaign(newsletter)
    campaigns.set_audience(campaign, False, [readers.pk])
    assert campaigns.count_recipients_of(campaign) == 20

    campaigns.send_now(campaign)

    messages = smtp_server.wait_for(20, timeout=30)
    assert len(messages) == 20
    assert sorted(m["to"][0] for m in messages) == sorted(s.email for s in subscribers)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert Delivery.objects.filter(campaign=campaign, status=DeliveryStatus.SENT).count() == 20
    record = dns_record(key).encode()
    for received in messages:
        message = received["message"]
        raw = received["raw"]
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/newsletter/u/" in message["List-Unsubscribe"]
        assert message["Subject"].startswith("Spring news for Reader")
        delivery_id = int(message["Message-ID"][1:].split(".")[0], 36)
        assert Delivery.objects.get(pk=delivery_id).subscriber.email == received["to"][0]
        # The VERP envelope sender names the delivery.
        assert LinkSigner("bounce").read(received["from"].split("+", 1)[1].split("@")[0])[0] == delivery_id


@pytest.mark.django_db(transaction=True)
def test_planner_is_idempotent_and_deduplicates_groups(archive):
    first, second = Group.objects.create(name="A"), Group.objects.create(name="B")
    subscribers = make_subscribers(10, first)
    Membership.objects.bulk_create([Membership(subscriber=s, group=second) for s in subscribers[:4]])
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, False, [first.pk, second.pk], [])
    assert campaigns.count_recipients_of(campaign) == 10
    from wagtail_newsletter.send.planner import plan_deliveries

    assert plan_deliveries(campaign) == 10
    assert plan_deliveries(campaign) == 0
    campaigns.set_audience(campaign, False, [first.pk], [second.pk])
    assert campaigns.count_recipients_of(campaign) == 6


@pytest.mark.django_db(transaction=True)
def test_unsubscribed_mid_campaign_is_skipped(archive, smtp_server, sending_settings, monkeypatch):
    subscribers = make_subscribers(10)
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, True)
    kicks = hold_kicks(monkeypatch)
    campaigns.send_now(campaign)
    assert kicks  # the worker was not run yet
    from wagtail_newsletter.audience.services import unsubscribe

    unsubscribe([subscribers[3].pk])
    send_campaign_task(campaign.pk)
    assert len(smtp_server.messages) == 9
    skipped = Delivery.objects.get(campaign=campaign, subscriber=subscribers[3])
    assert skipped.status == DeliveryStatus.SKIPPED
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_expired_lease_is_claimed_again_and_live_lease_is_not(archive):
    make_subscribers(5)
    campaign = campaigns.create_campaign(make_newsletter(archive))
    from wagtail_newsletter.send.planner import plan_deliveries

    plan_deliveries(campaign)
    token, rows = claims.claim(campaign.pk, 3, lease_seconds=60)
    assert len(rows) == 3
    _token2, rows2 = claims.claim(campaign.pk, 10, lease_seconds=60)
    assert {r[0] for r in rows2}.isdisjoint({r[0] for r in rows})
    assert len(rows2) == 2
    later = timezone.now() + timezone.timedelta(seconds=61)
    _token3, rows3 = claims.claim(campaign.pk, 10, lease_seconds=60, now=later)
    assert len(rows3) == 5
    assert all(r[1] == 2 for r in rows3)  # a reclaimed row counts a second attempt


@pytest.mark.django_db(transaction=True)
def test_permanent_temporary_and_policy_answers(archive, smtp_server, sending_settings):
    subscribers = make_subscribers(6)
    answers = {
        subscribers[1].email: ["550 5.1.1 No such user"] * 10,
        subscribers[2].email: ["451 4.3.0 Try again", "451 4.3.0 Try again"],
    }

    smtp_server.rcpt_answer = lambda address: answers.get(address, []).pop(0) if answers.get(address) else None
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, True)
    campaigns.send_now(campaign)
    # Retries are due at once (SEND_RETRY_SECONDS = 0): the task sends them within its time budget.
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    failed = Delivery.objects.get(campaign=campaign, subscriber=subscribers[1])
    assert failed.status == DeliveryStatus.FAILED and failed.smtp_code == 550 and "No such user" in failed.error
    retried = Delivery.objects.get(campaign=campaign, subscriber=subscribers[2])
    assert retried.status == DeliveryStatus.SENT and retried.attempts == 3
    assert sorted(m["to"][0] for m in smtp_server.messages) == sorted(
        s.email for i, s in enumerate(subscribers) if i != 1
    )


@pytest.mark.django_db(transaction=True)
def test_policy_rejection_pauses_the_campaign(archive, smtp_server, sending_settings):
    make_subscribers(5)

    smtp_server.rcpt_answer = lambda address: "550 5.7.1 Sender blocked by policy"
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, True)
    campaigns.send_now(campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "5.7.1" in campaign.status_note
    # Nobody is blamed: every delivery waits, unspent, for the editor to resume.
    assert set(Delivery.objects.filter(campaign=campaign).values_list("status", "attempts")) == {
        (DeliveryStatus.QUEUED, 0)
    }
    smtp_server.rcpt_answer = None
    campaigns.resume(campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT
    assert len(smtp_server.messages) == 5


@pytest.mark.django_db(transaction=True)
def test_cancel_and_double_start(archive, smtp_server, sending_settings, monkeypatch):
    make_subscribers(4)
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, True)
    kicks = hold_kicks(monkeypatch)
    campaigns.send_now(campaign)
    campaigns.send_now(campaign)  # a double click changes nothing
    assert len(kicks) == 1
    assert Delivery.objects.filter(campaign=campaign).count() == 4
    campaigns.cancel(campaign)
    send_campaign_task(campaign.pk)
    assert smtp_server.messages == []
    assert set(Delivery.objects.filter(campaign=campaign).values_list("status", flat=True)) == {DeliveryStatus.SKIPPED}
    with pytest.raises(campaigns.CampaignError):
        campaigns.cancel(Campaign.objects.get(pk=campaign.pk))
