"""The bounce mailbox read from a real Dovecot over IMAP and POP3: each message taken once with its effects, then
moved (IMAP) or deleted (POP3); a poll after a crash between taking and marking counts nothing twice; oversized,
garbage and empty messages are recorded, never a crash; the schedule and the command."""

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.deliverability import mailbox
from wagtail_newsletter.deliverability.models import InboundMessage
from wagtail_newsletter.schedules import ensure_schedules
from wagtail_newsletter.send.models import Event, EventKind

from .dovecot_server import dovecot  # noqa: F401 (fixture)
from .inbound_fixtures import auto_reply, complaint, delay_warning, hard_bounce, sent_deliveries, unsubscribe_request

pytestmark = pytest.mark.django_db

GARBAGE = b"\x00\xff\xfe\x80 not a message \xc3\x28\r\n"


def _mixed(deliveries):
    """What a bounce mailbox holds: 2 hard bounces, a delay, a complaint, an auto-reply, an unsubscribe request,
    and a message that is not mail at all."""
    d = deliveries
    return [hard_bounce(d[0]), hard_bounce(d[1]), delay_warning(d[2]), complaint(d[3]), auto_reply(d[4]),
            unsubscribe_request(d[5])[1], GARBAGE]  # fmt: skip


def _statuses(deliveries):
    emails = {d.subscriber.email: n for n, d in enumerate(deliveries)}
    return {emails[e]: s for e, s in Subscriber.objects.filter(email__in=emails).values_list("email", "status")}


def _expected_after_mixed():
    return {0: Status.BOUNCED, 1: Status.BOUNCED, 2: Status.SUBSCRIBED, 3: Status.COMPLAINED, 4: Status.SUBSCRIBED,
            5: Status.UNSUBSCRIBED, 6: Status.SUBSCRIBED}  # fmt: skip


def _snapshot():
    return (
        sorted(InboundMessage.objects.values_list("digest", "cls", "outcome")),
        sorted(Event.objects.values_list("delivery_id", "kind")),
        sorted(Subscriber.objects.values_list("email", "status")),
    )


def test_imap_poll_takes_each_message_once_and_moves_it(dovecot):  # noqa: F811
    deliveries = sent_deliveries(7)
    messages = _mixed(deliveries)
    dovecot.append(messages)
    result = mailbox.poll(dovecot.mailbox_settings("imap", BATCH=3))
    assert (result.taken, result.known, result.failed) == (7, 0, 0)
    assert _statuses(deliveries) == _expected_after_mixed()
    classes = sorted(InboundMessage.objects.values_list("cls", flat=True))
    assert classes == ["complaint", "hard", "hard", "none", "none", "transient", "unsubscribe"]
    kinds = sorted(Event.objects.values_list("delivery_id", "kind"))
    assert kinds == sorted([(deliveries[0].pk, EventKind.HARD_BOUNCE), (deliveries[1].pk, EventKind.HARD_BOUNCE),
                            (deliveries[2].pk, EventKind.TRANSIENT_BOUNCE), (deliveries[3].pk, EventKind.COMPLAINT),
                            (deliveries[5].pk, EventKind.UNSUBSCRIBE)])  # fmt: skip
    garbage = InboundMessage.objects.get(outcome="not read")  # the server stores it as it likes: not by digest
    assert (garbage.cls, garbage.reason, garbage.delivery_id) == ("none", "not-a-message", None)
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 7)

    # The same messages delivered again (a forwarding loop, a restored backup): nothing changes.
    before = _snapshot()
    dovecot.append(messages)
    again = mailbox.poll(dovecot.mailbox_settings("imap"))
    assert (again.taken, again.known) == (0, 7)
    assert _snapshot() == before
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, 14)

    # The same bounces sent again by the MTAs (new Date and Message-ID: other messages): recorded, no new effect.
    dovecot.append(_mixed(deliveries))
    third = mailbox.poll(dovecot.mailbox_settings("imap"))
    assert (third.taken, third.known) == (4, 3)
    assert _snapshot()[1:] == before[1:]
    assert InboundMessage.objects.filter(outcome="already recorded").count() == 4


def test_a_crash_between_taking_and_marking_counts_nothing_twice(dovecot):  # noqa: F811
    """The poller recorded a batch and died before moving it: the messages are still in INBOX; the next poll finds
    their digests known, moves them, and writes nothing."""
    deliveries = sent_deliveries(7)
    messages = _mixed(deliveries)
    dovecot.append(messages)
    config = dovecot.mailbox_settings("imap")
    client = mailbox._imap_client(config)
    client.select_folder("INBOX")
    readings, _uids = mailbox._imap_fetch(client, client.search(["ALL"]))
    client.logout()
    mailbox._take(readings, "imap", mailbox.PollResult())  # taken; the process "dies" before _imap_mark
    before = _snapshot()
    result = mailbox.poll(config)
    assert (result.taken, result.known, result.failed) == (0, 7, 0)
    assert _snapshot() == before
    assert _statuses(deliveries) == _expected_after_mixed()
    assert dovecot.count("INBOX") == 0


def test_imap_without_done_folder_flags_and_expunges(dovecot):  # noqa: F811
    deliveries = sent_deliveries(2)
    dovecot.append([hard_bounce(deliveries[0]), auto_reply(deliveries[1])])
    result = mailbox.poll(dovecot.mailbox_settings("imap", DONE_FOLDER=None))
    assert result.taken == 2
    assert dovecot.count("INBOX") == 0
    assert dovecot.count("Processed") == 0  # not created


def test_pop3_poll_takes_then_deletes(dovecot):  # noqa: F811
    deliveries = sent_deliveries(7)
    messages = _mixed(deliveries)
    dovecot.append(messages)
    # A poller that died before QUIT: it took 3 messages and DELEted them, but the server deleted nothing.
    config = dovecot.mailbox_settings("pop3")
    session = mailbox._pop3_client(config)
    mailbox._take([mailbox._pop3_reading(session, n, 1) for n in (1, 2, 3)], "pop3", mailbox.PollResult())
    for number in (1, 2, 3):
        session.dele(number)
    session.close()
    result = mailbox.poll(dovecot.mailbox_settings("pop3", BATCH=2))
    assert (result.taken, result.known, result.failed) == (4, 3, 0)
    assert _statuses(deliveries) == _expected_after_mixed()
    assert dovecot.count("INBOX") == 0
    assert set(InboundMessage.objects.values_list("via", flat=True)) == {"pop3"}
    assert InboundMessage.objects.count() == 7
    assert mailbox.poll(dovecot.mailbox_settings("pop3")).taken == 0


@pytest.mark.parametrize("protocol", ["imap", "pop3"])
def test_oversized_message_is_recorded_unread(dovecot, monkeypatch, protocol):  # noqa: F811
    monkeypatch.setattr(mailbox, "MAX_MESSAGE_BYTES", 4000)
    deliveries = sent_deliveries(1)
    big = hard_bounce(deliveries[0]).replace(b"the news of the month.", b"the news of the month. " + b"x" * 5000)
    dovecot.append([big])
    assert mailbox.poll(dovecot.mailbox_settings(protocol)).taken == 1
    row = InboundMessage.objects.get()
    assert (row.cls, row.reason) == ("none", "too-big")
    assert Subscriber.objects.get().status == Status.SUBSCRIBED  # not read, so nobody bounced
    assert dovecot.count("INBOX") == 0
    dovecot.append([big])
    assert mailbox.poll(dovecot.mailbox_settings(protocol)).known == 1


def test_wrong_password_is_a_clear_error_and_changes_nothing(dovecot, settings):  # noqa: F811
    deliveries = sent_deliveries(1)
    dovecot.append([hard_bounce(deliveries[0])])
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER,
                                   "BOUNCE_MAILBOX": dovecot.mailbox_settings("imap", PASSWORD="wrong")}  # fmt: skip
    with pytest.raises(CommandError, match="bounce mailbox could not be read"):
        call_command("newsletter_poll_bounces")
    assert InboundMessage.objects.count() == 0
    assert dovecot.count("INBOX") == 1


def test_poll_command_and_schedule(dovecot, settings, capsys):  # noqa: F811
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BOUNCE_MAILBOX": None, "BOUNCE_POLL_SECONDS": 600}
    assert mailbox.scheduled_poll() == "no bounce mailbox"
    with pytest.raises(CommandError, match="BOUNCE_MAILBOX"):
        call_command("newsletter_poll_bounces")
    ensure_schedules()
    schedule = Schedule.objects.get(func="wagtail_newsletter.deliverability.mailbox.scheduled_poll")
    assert (schedule.minutes, schedule.repeats) == (10, -1)

    deliveries = sent_deliveries(2)
    dovecot.append([hard_bounce(deliveries[0]), auto_reply(deliveries[1])])
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BOUNCE_MAILBOX": dovecot.mailbox_settings()}
    call_command("newsletter_poll_bounces", "--limit", "1")
    assert "1 taken, 0 already known, 0 left for later" in capsys.readouterr().out
    assert mailbox.scheduled_poll() == "1 taken, 0 already known, 0 left for later"
    assert dovecot.count("INBOX") == 0
