"""End to end, real parts: a campaign to 50 subscribers sent by a real qcluster to a real SMTP server; DSNs built as
MTAs build them for 5 of its deliveries (to their VERP return paths, returning the message with its Message-ID),
2 ARF complaints and 3 auto-replies delivered into a real Dovecot; the poller takes them; statuses, events, the
report and the next campaign's audience are right; a second poll changes nothing; a poller killed mid-batch (a
``newsletter_poll_bounces`` process, SIGKILLed) loses and double-counts nothing."""

import datetime
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.deliverability import mailbox, sample_mail
from wagtail_newsletter.deliverability.models import InboundMessage
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Delivery, Event, EventKind
from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.stats import campaign_report

from .compose_editor_fixtures import make_newsletter
from .dovecot_server import dovecot  # noqa: F401 (fixture)
from .inbound_fixtures import hard_bounce, sent_deliveries
from .send_cluster import cluster_factory, make_audience, sink, start_campaign, wait_finished  # noqa: F401
from .test_send_engine import archive  # noqa: F401 (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FAST = {"SEND_BATCH_SIZE": 20, "SEND_RETRY_SECONDS": 0.2, "SEND_TASK_SECONDS": 8, "SEND_LEASE_SECONDS": 6}
CLUSTER = {"workers": 2, "timeout": 20, "retry": 25, "poll": 0.1}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _returned(rcpt, message_id, return_path):
    return sample_mail.newsletter(rcpt, return_path=return_path, message_id=message_id)


def test_campaign_bounces_complaints_and_replies_end_to_end(archive, sink, cluster_factory, queue_for_real, dovecot):  # noqa: F811
    make_audience(50)
    cluster = cluster_factory(sink.port, CLUSTER, FAST)
    campaign = wait_finished(start_campaign(archive), cluster, timeout=120)
    sent = sorted(sink.handler.received)  # (recipient, Message-ID, envelope sender = VERP)
    assert len(sent) == 50 and all("+" in verp for _r, _m, verp in sent)

    hard = [(rcpt, "failed", "5.1.1", f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown")
            for rcpt, _m, _v in sent[:3]]  # fmt: skip
    soft = [(sent[3][0], "failed", "5.2.2", "552 5.2.2 Mailbox full")]
    delay = [(sent[4][0], "delayed", "4.4.1", "connect to mx.example.net[192.0.2.7]:25: Connection timed out")]
    messages = []
    for (rcpt, message_id, verp), report in zip(sent[:5], [[h] for h in hard] + [soft, delay], strict=True):
        messages.append(sample_mail.dsn(report, to=verp, original=_returned(rcpt, message_id, verp)))
    for _rcpt, message_id, verp in sent[5:7]:  # complaints: the FBL redacts the recipient
        messages.append(sample_mail.arf(_returned("redacted@example.net", message_id, verp), mail_from=verp))
    for rcpt, message_id, _verp in sent[7:10]:
        messages.append(sample_mail.vacation_reply(sender=rcpt, in_reply_to=message_id))
    dovecot.append(messages)

    result = mailbox.poll(dovecot.mailbox_settings("imap", BATCH=4))
    assert (result.taken, result.known, result.failed) == (10, 0, 0)
    status = dict(Subscriber.objects.values_list("email", "status"))
    expected = {rcpt: Status.SUBSCRIBED for rcpt, _m, _v in sent}
    expected.update({rcpt: Status.BOUNCED for rcpt, _m, _v in sent[:3]})
    expected.update({rcpt: Status.COMPLAINED for rcpt, _m, _v in sent[5:7]})
    assert status == expected
    by_email = dict(Delivery.objects.filter(campaign=campaign).values_list("subscriber__email", "pk"))
    events = sorted(Event.objects.filter(campaign=campaign).exclude(kind__in=[EventKind.OPEN, EventKind.CLICK])
                    .values_list("delivery_id", "kind"))  # fmt: skip
    assert events == sorted(
        [(by_email[r], EventKind.HARD_BOUNCE) for r, _m, _v in sent[:3]]
        + [(by_email[sent[3][0]], EventKind.SOFT_BOUNCE), (by_email[sent[4][0]], EventKind.TRANSIENT_BOUNCE)]
        + [(by_email[r], EventKind.COMPLAINT) for r, _m, _v in sent[5:7]]
    )
    rows = InboundMessage.objects.filter(campaign=campaign)
    assert sorted(rows.values_list("cls", flat=True)) == ["complaint"] * 2 + ["hard"] * 3 + ["soft", "transient"]
    # The auto-replies (to the From address, no VERP): recorded, nothing done.
    replies = InboundMessage.objects.filter(cls="none")
    assert list(replies.values_list("kind", "outcome")) == [("autoreply", "not a bounce: nothing done")] * 3

    aggregate(now=timezone.now() + datetime.timedelta(minutes=1))  # every event settled
    report = campaign_report(campaign)
    assert (report.hard_bounces, report.soft_bounces, report.complaints) == (3, 1, 2)
    assert report.sent == 50 and report.delivered == 46

    # A second poll (the same messages delivered again) changes nothing.
    before = (sorted(InboundMessage.objects.values_list("digest", "outcome")), events, status)
    dovecot.append(messages)
    again = mailbox.poll(dovecot.mailbox_settings("imap"))
    assert (again.taken, again.known) == (0, 10)
    events_after = sorted(Event.objects.filter(campaign=campaign).exclude(kind__in=[EventKind.OPEN, EventKind.CLICK])
                          .values_list("delivery_id", "kind"))  # fmt: skip
    assert (sorted(InboundMessage.objects.values_list("digest", "outcome")), events_after,
            dict(Subscriber.objects.values_list("email", "status"))) == before  # fmt: skip

    # The next campaign goes to the 45 others only.
    following = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(following, True)
    from wagtail_newsletter.send.planner import plan_deliveries

    plan_deliveries(following)
    planned = set(Delivery.objects.filter(campaign=following).values_list("subscriber__email", flat=True))
    assert planned == {rcpt for rcpt, _m, _v in sent[3:5]} | {rcpt for rcpt, _m, _v in sent[7:]}


def test_poller_killed_mid_batch_loses_and_double_counts_nothing(dovecot):  # noqa: F811
    count = 1500
    deliveries = sent_deliveries(count)
    dovecot.write_maildir([hard_bounce(delivery) for delivery in deliveries])
    config = dovecot.mailbox_settings("imap", BATCH=25)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "WN_USE_TEST_DB": "1",
           "PYTHONPATH": os.pathsep.join([ROOT, os.path.join(ROOT, "example_site")]),
           "WN_TEST_NEWSLETTER_SETTINGS": json.dumps({"BOUNCE_MAILBOX": config})}  # fmt: skip
    poller = subprocess.Popen([sys.executable, "example_site/manage.py", "newsletter_poll_bounces"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 60
    taken = 0
    while time.monotonic() < deadline and poller.poll() is None:
        taken = InboundMessage.objects.count()
        if taken >= 100:
            break
        time.sleep(0.01)
    poller.send_signal(signal.SIGKILL)
    poller.wait(10)
    assert poller.returncode == -signal.SIGKILL, poller.stdout.read()
    taken = InboundMessage.objects.count()
    assert 0 < taken < count, taken
    left = dovecot.count("INBOX")
    assert left <= count - taken + 25  # at most the batch in flight was taken and not yet moved

    result = mailbox.poll(config)
    assert result.taken + taken == count
    assert result.failed == 0
    assert InboundMessage.objects.count() == count
    assert Event.objects.filter(kind=EventKind.HARD_BOUNCE).count() == count
    assert Subscriber.objects.filter(status=Status.BOUNCED).count() == count
    assert (dovecot.count("INBOX"), dovecot.count("Processed")) == (0, count)
