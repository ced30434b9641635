"""What returned mail does (deliverability/effects.py): real DSN and ARF bytes (deliverability/sample_mail.py) read by
the real classifier and applied to deliveries, with the VERP return path and Message-ID the sending engine gives them.

The first test sends a real campaign to aiosmtpd and returns the messages it received; the others plan a campaign
and mark its deliveries sent in the database (the worker's own part is tested in test_send_engine.py).
"""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from wagtail_newsletter.audience.import_readers import open_table
from wagtail_newsletter.audience.importing import guess_mapping, import_subscribers
from wagtail_newsletter.audience.models import Source, Status, StatusEvent, Subscriber
from wagtail_newsletter.audience.services import delete_subscribers, unsubscribe
from wagtail_newsletter.deliverability import effects, soft_bounces
from wagtail_newsletter.deliverability import sample_mail as build
from wagtail_newsletter.deliverability.classify import classify
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.mime import MessageIds, message_id, read_message_id, verp_return_path
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, PauseCause
from wagtail_newsletter.track.models import Event, EventKind
from wagtail_newsletter.track.stats import campaign_report

from .campaign_admin_fixtures import sending_campaign
from .compose_editor_fixtures import make_newsletter
from .inbound_fixtures import sent_deliveries
from .report_fixtures import fold
from .test_send_engine import make_subscribers

USER_UNKNOWN = "550 5.1.1 <{}>: Recipient address rejected: User unknown in virtual mailbox table"
MAILBOX_FULL = "552 5.2.2 <{}>: Mailbox full"
SPAM_BLOCK = "550 5.7.1 Message rejected as spam by Content Filtering (mx.receiver.example)"


def apply(raw, **kwargs):
    """Classify ``raw`` and apply it in one transaction, as the intake does."""
    with transaction.atomic():
        return effects.apply_verdict(classify(raw), **kwargs)


def original_of(delivery, email, domain="example.org"):
    """The message the sending engine made for ``delivery``: its VERP return path and stable Message-ID."""
    return build.newsletter(
        email, return_path=verp_return_path(delivery.pk, domain), message_id=message_id(delivery.pk, domain)
    )


def bounce(delivery, email, status, diagnostic, action="failed", verp=True, **kwargs):
    """A Postfix DSN about ``delivery``, sent to its VERP address (``verp=False``: to the plain bounce address)."""
    original = original_of(delivery, email)
    to = original["Return-Path"].strip("<>") if verp else "bounces@example.org"
    return build.dsn([(email, action, status, diagnostic.format(email))], to=to, original=original, **kwargs)


def kinds(delivery):
    return sorted(Event.objects.filter(delivery=delivery).values_list("kind", flat=True))


@pytest.fixture
def editor(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.org", "x")


@pytest.fixture
def sending(archive, editor):
    """A campaign to reader0…reader9, still sending, reader0…reader7's messages sent: (campaign, {email: delivery})."""
    make_subscribers(10)
    campaign = sending_campaign(make_newsletter(archive), editor)
    deliveries = Delivery.objects.filter(campaign=campaign)
    deliveries.exclude(subscriber__email__in=["reader8@example.net", "reader9@example.net"]).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now()
    )
    return campaign, {d.subscriber.email: d for d in deliveries.select_related("subscriber")}


def status_of(email):
    return Subscriber.all_objects.get(email=email).status


# --- a real send ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_bounces_and_complaints_of_a_real_send(archive, smtp_server, settings, editor):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SEND_CONCURRENCY": 1}
    subscribers = make_subscribers(6)
    campaign = campaigns.create_campaign(make_newsletter(archive), editor)
    campaigns.send_now(campaign, editor)
    received = {m["to"][0]: m for m in smtp_server.wait_for(6, timeout=30)}
    assert len(received) == 6
    dead, full, slow, angry, away = (s.email for s in subscribers[:5])

    def returned(email, status, diagnostic, action="failed"):
        """A DSN to the envelope sender the relay saw, returning the headers of the message it received."""
        original = received[email]["message"]
        recipient = (email, action, status, diagnostic.format(email))
        return build.dsn([recipient], to=received[email]["from"], original=original, headers_only=True)

    hard = apply(returned(dead, "5.1.1", USER_UNKNOWN))
    soft = apply(returned(full, "5.2.2", MAILBOX_FULL))
    transient = apply(returned(slow, "4.4.1", "421 4.4.1 Connection timed out", action="delayed"))
    complaint = apply(build.arf(received[angry]["message"], feedback_type="abuse", mail_from=received[angry]["from"]))
    autoreply = apply(build.vacation_reply(sender=away))

    deliveries = {
        d.subscriber.email: d for d in Delivery.objects.filter(campaign=campaign).select_related("subscriber")
    }
    assert (hard.delivery_id, hard.campaign_id, hard.outcome) == (
        deliveries[dead].pk,
        campaign.pk,
        "subscriber bounced",
    )
    assert soft.outcome == "soft bounce 1/7"
    assert transient.outcome == "transient bounce recorded"
    assert complaint.outcome == "subscriber complained"
    assert autoreply.delivery_id is None and autoreply.outcome == "no delivery found"
    assert [status_of(e) for e in (dead, full, slow, angry, away)] == [
        Status.BOUNCED, Status.SUBSCRIBED, Status.SUBSCRIBED, Status.COMPLAINED, Status.SUBSCRIBED,
    ]  # fmt: skip
    assert kinds(deliveries[dead]) == [EventKind.HARD_BOUNCE]
    assert kinds(deliveries[full]) == [EventKind.SOFT_BOUNCE]
    assert kinds(deliveries[slow]) == [EventKind.TRANSIENT_BOUNCE]
    assert kinds(deliveries[angry]) == [EventKind.COMPLAINT]
    detail = Event.objects.get(delivery=deliveries[dead]).detail
    assert detail.startswith("5.1.1 550 5.1.1") and "User unknown" in detail
    history = StatusEvent.objects.get(subscriber__email=dead)
    assert (history.old_status, history.new_status, history.source) == ("subscribed", "bounced", Source.BOUNCE)
    assert "User unknown" in history.note and campaign.name in history.note
    assert StatusEvent.objects.get(subscriber__email=angry).source == Source.COMPLAINT

    fold()
    report = campaign_report(campaign)
    assert (report.sent, report.hard_bounces, report.soft_bounces, report.complaints) == (6, 1, 1, 1)
    assert report.delivered == 4
    # The next campaign leaves the bounced and the complaining subscriber out.
    follow = campaigns.create_campaign(make_newsletter(archive, title="Next", slug="next"), editor)
    assert set(campaigns.campaign_recipients(follow).values_list("email", flat=True)) == {
        s.email for s in subscribers
    } - {dead, angry}


@pytest.mark.django_db(transaction=True)
def test_refusals_at_smtp_time_have_the_effects_of_bounces(archive, smtp_server, settings, editor):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SEND_CONCURRENCY": 1}
    subscribers = make_subscribers(5)
    dead, full, spam = (s.email for s in subscribers[:3])
    answers = {
        dead: f"550 5.1.1 <{dead}>: Recipient address rejected: User unknown in virtual mailbox table",
        full: "552 Mailbox full",
        spam: "550 Message rejected as spam by Content Filtering",  # no 5.7.x code: the words say it
    }
    smtp_server.rcpt_answer = answers.get
    campaign = campaigns.create_campaign(make_newsletter(archive), editor)
    campaigns.send_now(campaign, editor)
    rows = Delivery.objects.filter(campaign=campaign).select_related("subscriber")
    deliveries = {d.subscriber.email: d for d in rows}
    # The dead address is bounced at once, with the relay's answer in its history.
    assert status_of(dead) == Status.BOUNCED
    history = StatusEvent.objects.get(subscriber__email=dead)
    assert history.source == Source.BOUNCE and "User unknown" in history.note and campaign.name in history.note
    assert kinds(deliveries[dead]) == [EventKind.HARD_BOUNCE]
    # A full mailbox is a soft bounce: counted, not yet bounced.
    assert status_of(full) == Status.SUBSCRIBED
    assert kinds(deliveries[full]) == [EventKind.SOFT_BOUNCE]
    # Refused as spam: the sender is blocked, not the subscriber; the campaign pauses and says why.
    assert status_of(spam) == Status.SUBSCRIBED
    assert kinds(deliveries[spam]) == [EventKind.POLICY_BOUNCE]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED and campaign.pause_cause == PauseCause.POLICY
    assert "not at fault" in campaign.status_note
    assert not StatusEvent.objects.filter(subscriber__email__in=[full, spam]).exists()


# --- finding the delivery ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_message_id_finds_the_delivery_when_the_bounce_lost_the_verp_address(sending):
    campaign, deliveries = sending
    email = "reader1@example.net"
    raw = bounce(deliveries[email], email, "5.1.1", USER_UNKNOWN, verp=False, headers_only=True)
    assert effects.find_delivery(classify(raw)) == deliveries[email]
    assert apply(raw).delivery_id == deliveries[email].pk


@pytest.mark.django_db
def test_the_recipient_finds_its_latest_sent_delivery_when_nothing_else_does(sending, archive, editor):
    campaign, deliveries = sending
    email = "reader2@example.net"
    foreign = build.newsletter(email, return_path="list@elsewhere.example", message_id="<123@elsewhere.example>")
    raw = build.dsn([(email, "failed", "5.1.1", USER_UNKNOWN.format(email))], original=foreign)
    assert apply(raw).delivery_id == deliveries[email].pk
    # No sent delivery to that address at all: nothing found, nothing changed.
    raw = build.dsn([("stranger@example.net", "failed", "5.1.1", "550 no such user")], original=foreign)
    assert apply(raw).outcome == "no delivery found"


@pytest.mark.django_db
def test_forged_tokens_find_nothing_and_change_nothing(sending, settings):
    campaign, deliveries = sending
    email = "reader3@example.net"
    delivery = deliveries[email]
    genuine = build.newsletter(email)  # no VERP address of ours, a Message-ID of somebody else's
    real_verp = verp_return_path(delivery.pk, "example.org")
    forged_verp = real_verp[:-13] + ("0" if real_verp[-13] != "0" else "1") + real_verp[-12:]  # one signature digit
    forged_id = message_id(delivery.pk + 1, "example.org")
    forged_id = forged_id[: forged_id.index(".") + 1] + "a" * 16 + forged_id[forged_id.index("@") :]
    real_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another site's secret key, as long as a real one"  # signed by another site
    other_key_verp = verp_return_path(delivery.pk, "example.org")
    settings.SECRET_KEY = real_key
    messages = [
        build.dsn([(email, "failed", "5.1.1", "550 unknown")], to=forged_verp, original=genuine, headers_only=True),
        build.dsn(
            [(email, "failed", "5.1.1", "550 unknown")],
            original=build.newsletter(email, message_id=forged_id),
            headers_only=True,
        ),
        build.arf(build.newsletter(email, message_id=forged_id), mail_from=forged_verp),
        build.dsn([(email, "failed", "5.1.1", "550 unknown")], to=other_key_verp),
        b"\x00\xff not a message at all",
        b"",
    ]
    for raw in messages:
        verdict = classify(raw)
        assert effects.find_delivery(verdict) is None, raw[:80]
        assert apply(raw).outcome in ("no delivery found", "nothing to do")
    assert not Event.objects.exists()
    assert status_of(email) == Status.SUBSCRIBED


# --- one effect per delivery and class --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_two_different_bounces_of_one_delivery_count_once(sending):
    campaign, deliveries = sending
    email = "reader4@example.net"
    delivery = deliveries[email]
    first = apply(bounce(delivery, email, "5.1.1", USER_UNKNOWN, notice="Delivery failed."))
    second = apply(bounce(delivery, email, "5.1.1", USER_UNKNOWN, notice="Undeliverable, second report."))
    assert (first.outcome, second.outcome) == ("subscriber bounced", "already recorded")
    assert kinds(delivery) == [EventKind.HARD_BOUNCE]
    assert StatusEvent.objects.filter(subscriber__email=email).count() == 1
    # A soft bounce report of the same message is still its own event; the report counts the delivery once, as hard.
    apply(bounce(delivery, email, "5.2.2", MAILBOX_FULL))
    assert kinds(delivery) == [EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE]
    fold()
    report = campaign_report(campaign)
    assert (report.hard_bounces, report.soft_bounces) == (1, 0)


@pytest.mark.django_db
def test_a_batch_is_applied_in_a_few_queries_whatever_its_size(django_assert_max_num_queries):
    deliveries = sent_deliveries(120, prefix="many")
    verdicts = [classify(bounce(d, d.subscriber.email, "5.1.1", USER_UNKNOWN)) for d in deliveries]
    # Lock, known events, events, subscribers (lock, update, history) and the savepoints around them: not per message.
    with transaction.atomic(), django_assert_max_num_queries(12):
        results = effects.apply_verdicts([(verdict, d) for verdict, d in zip(verdicts, deliveries, strict=True)])
    assert {r.outcome for r in results} == {"subscriber bounced"}
    assert Subscriber.all_objects.filter(email__startswith="many", status=Status.BOUNCED).count() == 120
    assert Event.objects.filter(kind=EventKind.HARD_BOUNCE).count() == 120
    assert StatusEvent.objects.filter(new_status=Status.BOUNCED, source=Source.BOUNCE).count() == 120


@pytest.mark.django_db
def test_in_one_batch_a_complaint_outranks_a_bounce_and_a_repeat_counts_once(sending):
    campaign, deliveries = sending
    angry, dead = "reader1@example.net", "reader2@example.net"
    arf = build.arf(original_of(deliveries[angry], angry), mail_from=verp_return_path(deliveries[angry].pk, "x.org"))
    batch = [
        bounce(deliveries[angry], angry, "5.1.1", USER_UNKNOWN),
        arf,
        bounce(deliveries[dead], dead, "5.1.1", USER_UNKNOWN, notice="Delivery failed."),
        bounce(deliveries[dead], dead, "5.1.1", USER_UNKNOWN, notice="Undeliverable, second report."),
    ]
    with transaction.atomic():
        results = effects.apply_verdicts([(classify(raw), None) for raw in batch])
    assert [r.outcome for r in results] == [
        "hard bounce recorded", "subscriber complained", "subscriber bounced", "already recorded"
    ]  # fmt: skip
    assert (status_of(angry), status_of(dead)) == (Status.COMPLAINED, Status.BOUNCED)
    assert kinds(deliveries[angry]) == [EventKind.HARD_BOUNCE, EventKind.COMPLAINT]
    assert kinds(deliveries[dead]) == [EventKind.HARD_BOUNCE]
    assert StatusEvent.objects.filter(subscriber__email__in=[angry, dead]).count() == 2


@pytest.mark.django_db
def test_soft_bounces_of_one_batch_count_together(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SOFT_BOUNCE_LIMIT": 3, "SOFT_BOUNCE_CAMPAIGNS": 4}
    subscriber = Subscriber.objects.create(email="full@example.net", status=Status.SUBSCRIBED)
    issues = sent_to(subscriber, 3)
    batch = [(classify(bounce(d, subscriber.email, "5.2.2", MAILBOX_FULL)), None) for d in issues]
    with transaction.atomic():
        results = effects.apply_verdicts(batch)
    assert [r.outcome for r in results] == ["subscriber bounced (3 soft bounces)", "soft bounce 3/3", "soft bounce 3/3"]
    assert status_of(subscriber.email) == Status.BOUNCED
    assert StatusEvent.objects.filter(subscriber=subscriber).count() == 1


@pytest.mark.django_db
def test_a_subscriber_who_is_not_subscribed_keeps_its_status(sending):
    campaign, deliveries = sending
    email = "reader5@example.net"
    unsubscribe(Subscriber.objects.filter(email=email), Source.UNSUBSCRIBE_LINK)
    assert apply(bounce(deliveries[email], email, "5.1.1", USER_UNKNOWN)).outcome == "hard bounce recorded"
    assert status_of(email) == Status.UNSUBSCRIBED
    assert kinds(deliveries[email]) == [EventKind.HARD_BOUNCE]
    arf = build.arf(original_of(deliveries[email], email), mail_from=verp_return_path(deliveries[email].pk, "x.org"))
    assert apply(arf).outcome == "complaint recorded"
    assert status_of(email) == Status.UNSUBSCRIBED


# --- soft bounces -----------------------------------------------------------------------------------------------------


def sent_to(subscriber, count):
    """``count`` campaigns, oldest first, each with one sent delivery to ``subscriber``."""
    deliveries = []
    for number in range(count):
        campaign = Campaign.objects.create(name=f"Issue {number}", status=CampaignStatus.SENT)
        deliveries.append(
            Delivery.objects.create(
                campaign=campaign, subscriber=subscriber, status=DeliveryStatus.SENT, sent_at=timezone.now()
            )
        )
    return deliveries


@pytest.mark.django_db
def test_soft_bounces_make_a_subscriber_bounced_within_its_recent_campaigns(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "SOFT_BOUNCE_LIMIT": 3, "SOFT_BOUNCE_CAMPAIGNS": 4}
    subscriber = Subscriber.objects.create(email="full@example.net", status=Status.SUBSCRIBED)
    issues = sent_to(subscriber, 7)
    email = subscriber.email
    # Two soft bounces long ago (issues 0, 1), then one in issue 4: only that one is among the last 4 (issues 3-6).
    outcomes = [apply(bounce(issues[n], email, "5.2.2", MAILBOX_FULL)).outcome for n in (0, 1, 4)]
    assert outcomes == ["soft bounce 0/3", "soft bounce 0/3", "soft bounce 1/3"]
    assert apply(bounce(issues[4], email, "5.2.2", MAILBOX_FULL, notice="again")).outcome == "already recorded"
    assert apply(bounce(issues[5], email, "5.2.2", MAILBOX_FULL)).outcome == "soft bounce 2/3"
    assert status_of(email) == Status.SUBSCRIBED
    assert apply(bounce(issues[6], email, "5.2.2", MAILBOX_FULL)).outcome == "subscriber bounced (3 soft bounces)"
    assert status_of(email) == Status.BOUNCED
    history = StatusEvent.objects.get(subscriber=subscriber)
    assert history.source == Source.BOUNCE and "3 soft bounces" in history.note
    assert soft_bounces.recent_soft_bounces(subscriber.pk) == 3


@pytest.mark.django_db
def test_a_transient_bounce_is_only_recorded(sending):
    campaign, deliveries = sending
    email = "reader6@example.net"
    effect = apply(bounce(deliveries[email], email, "4.4.7", "421 4.4.7 Delivery time expired"))
    assert effect.outcome == "transient bounce recorded"
    assert kinds(deliveries[email]) == [EventKind.TRANSIENT_BOUNCE]
    assert status_of(email) == Status.SUBSCRIBED


# --- policy: the sender is blocked ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_policy_bounce_pauses_the_campaign_and_spares_the_subscriber(sending, django_capture_on_commit_callbacks):
    campaign, deliveries = sending
    email = "reader0@example.net"
    with django_capture_on_commit_callbacks(execute=True):
        effect = apply(bounce(deliveries[email], email, "5.7.1", SPAM_BLOCK))
    assert effect.outcome == "campaign paused (policy)"
    assert status_of(email) == Status.SUBSCRIBED
    assert kinds(deliveries[email]) == [EventKind.POLICY_BOUNCE]
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_cause) == (CampaignStatus.PAUSED, PauseCause.POLICY)
    assert "example.net" in campaign.status_note and "rejected as spam" in campaign.status_note
    assert "not at fault" in campaign.status_note
    assert [m.to for m in mail.outbox] == [["editor@example.org"]]
    assert campaign.name in mail.outbox[0].subject and "rejected as spam" in mail.outbox[0].body
    # A second refusal while paused: recorded, the campaign stays paused, no second mail.
    with django_capture_on_commit_callbacks(execute=True):
        second = apply(bounce(deliveries["reader1@example.net"], "reader1@example.net", "5.7.1", SPAM_BLOCK))
    assert second.outcome == "blocked by policy recorded" and len(mail.outbox) == 1
    # Resuming is the editor's decision, and the cause is over then.
    campaigns.resume(campaign)
    campaign.refresh_from_db()
    assert (campaign.status, campaign.pause_cause, campaign.status_note) == (CampaignStatus.SENDING, "", "")


@pytest.mark.django_db
def test_an_editor_pause_says_so(sending):
    campaign, _deliveries = sending
    campaigns.pause(campaign, reason="")
    campaign.refresh_from_db()
    assert campaign.pause_cause == PauseCause.EDITOR


# --- complaints -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_complainer_is_never_mailed_again_not_even_after_a_reimport(sending, archive, editor):
    campaign, deliveries = sending
    email = "reader7@example.net"
    delivery = Delivery.objects.get(pk=deliveries[email].pk)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, sent_at=timezone.now())
    jmrp = build.jmrp(original_of(delivery, email), email)  # Microsoft's format: the Message-ID finds it
    assert apply(jmrp).outcome == "subscriber complained"
    assert status_of(email) == Status.COMPLAINED

    def reimport():
        table = open_table(io.BytesIO(f"email,first_name\n{email},Again\n".encode()))
        return import_subscribers(table, guess_mapping(table.headers))

    reimport()
    assert status_of(email) == Status.COMPLAINED
    delete_subscribers(Subscriber.objects.filter(email=email))
    result = reimport()  # the import brings a deleted subscriber back, with its status
    assert result.restored == 1 and status_of(email) == Status.COMPLAINED
    later = campaigns.create_campaign(make_newsletter(archive, title="Later", slug="later"), editor)
    assert not campaigns.campaign_recipients(later).filter(email=email).exists()
    assert campaigns.count_recipients_of(later) == 9


@pytest.mark.django_db
def test_a_bounce_after_the_subscriber_was_erased_is_recorded_on_the_campaign(sending):
    campaign, deliveries = sending
    email = "reader2@example.net"
    delivery = deliveries[email]
    raw = bounce(delivery, email, "5.1.1", USER_UNKNOWN)
    Delivery.objects.filter(pk=delivery.pk).update(subscriber=None)
    effect = apply(raw, at=timezone.now() - timedelta(minutes=5))
    assert (effect.delivery_id, effect.subscriber_id, effect.outcome) == (delivery.pk, None, "hard bounce recorded")
    assert kinds(delivery) == [EventKind.HARD_BOUNCE]


def test_read_message_id_is_the_inverse_of_message_ids(settings):
    made = MessageIds("News.Example.ORG")(123456789)
    assert read_message_id(made) == 123456789
    assert read_message_id(f"  {made.upper()} ") == 123456789  # mail systems change the case
    assert read_message_id(made.replace("news.example.org", "other.example")) == 123456789  # the domain is not signed
    payload, signature = made[1:].split("@")[0].split(".")
    assert read_message_id(f"<{payload}.{signature[::-1]}@news.example.org>") is None
    assert read_message_id(f"<{int(payload, 36) + 1:x}.{signature}@news.example.org>") is None
    for other in ("", None, "<t.0123456789abcdef01234567@news.example.org>", "<1a.abcdef@news.example.com>", "x" * 500):
        assert read_message_id(other) is None
    real_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a new key for this site, long enough to be real", [real_key]
    assert read_message_id(made) == 123456789  # still read after the key was rotated
    settings.SECRET_KEY_FALLBACKS = []
    assert read_message_id(made) is None
