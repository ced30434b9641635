"""``manage.py newsletter_inbound`` as mail servers run it: the Postfix ``master.cf`` line of
docs/operators-bounces.md run the way ``pipe(8)`` runs it, for each message an SMTP server receives in a real SMTP
conversation (bounces to VERP addresses, the List-Unsubscribe mailto:, forged tokens, garbage); exit status 75 when
the database is down; the ``.forward`` line; and the command's handling of odd input."""

import io
import os
import re
import shlex
import smtplib
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from wagtail_newsletter.audience.models import Status, StatusEvent, Subscriber
from wagtail_newsletter.deliverability import intake
from wagtail_newsletter.deliverability.models import InboundMessage
from wagtail_newsletter.management.commands import newsletter_inbound
from wagtail_newsletter.send.models import Event, EventKind

from .conftest import serving_smtp
from .inbound_fixtures import hard_bounce, sent_deliveries, unsubscribe_request, verp

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "operators-bounces.md"
MANAGE = str(ROOT / "example_site" / "manage.py")
DATABASE_DOWN = "postgres://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1


def doc_block(marker):
    """The fenced block that follows ``<!-- marker -->`` in the operators' page."""
    match = re.search(rf"<!-- {marker} -->\s*```[^\n]*\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"no {marker} block in {DOC}"
    return match.group(1)


def master_cf_service():
    """The documented master.cf entry: its attributes (flags, null_sender …) and argv, as Postfix reads them (a
    line that starts with white space continues the previous one)."""
    text = re.sub(r"\n[ \t]+", " ", doc_block("postfix-master-cf")).strip()
    fields = text.split()
    assert fields[:8] == ["newsletter", "unix", "-", "n", "n", "-", "4", "pipe"], fields[:8]
    attributes, argv = {}, []
    for index, field in enumerate(fields[8:], start=8):
        name, _eq, value = field.partition("=")
        if name == "argv":
            argv = [value, *fields[index + 1 :]]
            break
        attributes[name] = value
    return attributes, argv


def pipe_env(database_url=None):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "WN_USE_TEST_DB": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_site")])}  # fmt: skip
    if database_url:
        env["TEST_DATABASE_URL"] = database_url
    return env


def run_like_pipe(content, sender, recipients, database_url=None):
    """What pipe(8) does with the documented entry: ${sender} (the null sender replaced by ``null_sender``) and
    ${recipient} (one argument per recipient) expanded in argv, no shell, a Return-Path field for flag R; the
    site's paths stand for /srv/newsletter's."""
    attributes, argv = master_cf_service()
    sender = sender or attributes.get("null_sender", "MAILER-DAEMON")
    expanded = []
    for argument in argv:
        if "${recipient}" in argument:
            expanded += [argument.replace("${recipient}", recipient) for recipient in recipients]
        else:
            expanded.append(argument.replace("${sender}", sender))
    assert expanded[0].endswith("/bin/python") and expanded[1].endswith("/manage.py")
    expanded[:2] = [sys.executable, MANAGE]
    if "R" in attributes.get("flags", ""):
        content = f"Return-Path: <{sender}>\n".encode() + content
    process = subprocess.run(expanded, input=content, env=pipe_env(database_url), capture_output=True, timeout=60)
    return process.returncode, process.stderr.decode(errors="replace")


class PipeHandler:
    """An MTA in miniature: each message received is handed to the pipe transport; its exit status becomes the
    SMTP answer (0: accepted, 75: try again later, anything else: refused)."""

    def __init__(self):
        self.database_url = None
        self.runs = []

    async def handle_DATA(self, server, session, envelope):
        code, stderr = run_like_pipe(envelope.content, envelope.mail_from, envelope.rcpt_tos, self.database_url)
        self.runs.append((code, stderr))
        if code == 0:
            return "250 2.0.0 Ok: delivered to command"
        if code == 75:
            return "451 4.3.0 Temporary failure, try again later"
        return "554 5.3.0 Command failed"


@pytest.fixture
def pipe_mta():
    with serving_smtp(PipeHandler()) as handler:
        yield handler, handler.port


def _send(port, sender, recipient, raw):
    raw = re.sub(rb"\r?\n", b"\r\n", raw)  # on the wire, lines end with CRLF
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        return smtp.sendmail(sender, [recipient], raw)


def _history(subscriber_id):
    return list(StatusEvent.objects.filter(subscriber_id=subscriber_id).values_list("new_status", "note"))


@pytest.mark.django_db(transaction=True)
def test_master_cf_line_through_smtp(pipe_mta):
    handler, port = pipe_mta
    deliveries = sent_deliveries(3)
    bounced, leaving, other = deliveries

    # A DSN from a remote MTA (null sender) to the VERP address of one delivery.
    assert _send(port, "", verp(bounced), hard_bounce(bounced)) == {}
    # The subscriber's mail client writes to the List-Unsubscribe mailto: (any subject, any body) — twice.
    address, request = unsubscribe_request(leaving, subject="Stop", body="Désabonnez-moi, merci.")
    assert _send(port, leaving.subscriber.email, address, request) == {}
    assert _send(port, leaving.subscriber.email, address, request) == {}  # the same message again
    _address, second = unsubscribe_request(leaving, subject="unsubscribe")
    assert _send(port, leaving.subscriber.email, address, second) == {}  # another one
    # A forged token and garbage: taken (exit 0), nothing done.
    token = address.split("+", 1)[1].split("@")[0]
    forged = address.replace(token, token.split(".")[0] + "." + "0" * 24)  # leaving's id, a made-up signature
    assert forged != address
    forged_request = f"From: mallory@example.org\r\nTo: {forged}\r\nSubject: unsubscribe\r\n\r\nbye\r\n"
    assert _send(port, "mallory@example.org", forged, forged_request.encode()) == {}
    assert _send(port, "", verp(other), b"\xff\xfe\x00\x81 not mail \xc3(") == {}
    assert [code for code, _stderr in handler.runs] == [0] * 6, handler.runs

    statuses = dict(Subscriber.objects.values_list("pk", "status"))  # "other" was never named by a valid token
    assert statuses == {bounced.subscriber_id: Status.BOUNCED, leaving.subscriber_id: Status.UNSUBSCRIBED,
                        other.subscriber_id: Status.SUBSCRIBED}  # fmt: skip
    assert sorted(Event.objects.values_list("delivery_id", "kind")) == [
        (bounced.pk, EventKind.HARD_BOUNCE), (leaving.pk, EventKind.UNSUBSCRIBE)]  # fmt: skip
    assert _history(leaving.subscriber_id) == [(Status.UNSUBSCRIBED, f"mailto, campaign #{leaving.campaign_id} "
                                                                     f"{leaving.campaign.name}")]  # fmt: skip
    rows = list(InboundMessage.objects.order_by("id").values_list("via", "cls", "delivery_id", "outcome"))
    assert rows == [
        ("pipe", "hard", bounced.pk, "subscriber bounced"),
        ("pipe", "unsubscribe", leaving.pk, "unsubscribed"),
        ("pipe", "unsubscribe", leaving.pk, "already unsubscribed: nothing done"),
        ("pipe", "unsubscribe", None, "forged or unknown token: nothing done"),
        # pipe(8) put a Return-Path field before the garbage: a message with a header and no meaning.
        ("pipe", "none", other.pk, "not a bounce: nothing done"),
    ]


@pytest.mark.django_db(transaction=True)
def test_database_down_is_a_temporary_failure(pipe_mta):
    handler, port = pipe_mta
    delivery = sent_deliveries(1)[0]
    handler.database_url = DATABASE_DOWN
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(port, "", verp(delivery), hard_bounce(delivery))
    assert refused.value.smtp_code == 451
    assert handler.runs[0][0] == 75 and "try again later" in handler.runs[0][1]
    assert InboundMessage.objects.count() == 0
    # The MTA retries once the database is back: taken.
    handler.database_url = None
    assert _send(port, "", verp(delivery), hard_bounce(delivery)) == {}
    assert Subscriber.objects.get().status == Status.BOUNCED


@pytest.mark.django_db(transaction=True)
def test_dot_forward_line():
    """The documented .forward line, run as Postfix's local(8) runs it: /bin/sh, SENDER and ORIGINAL_RECIPIENT in
    the environment, the mbox From_ line first."""
    delivery = sent_deliveries(1)[0]
    line = doc_block("dot-forward").strip()
    command = line.strip('"').removeprefix("|")
    words = shlex.split(command)
    command = command.replace(words[0], shlex.quote(sys.executable), 1).replace(words[1], shlex.quote(MANAGE), 1)
    env = {**pipe_env(), "SENDER": "", "ORIGINAL_RECIPIENT": verp(delivery)}
    content = b"From MAILER-DAEMON  Sun Dec  6 14:00:00 2026\n" + hard_bounce(delivery)
    process = subprocess.run(["/bin/sh", "-c", command], input=content, env=env, capture_output=True, timeout=60)
    assert process.returncode == 0, process.stderr
    assert Subscriber.objects.get().status == Status.BOUNCED
    assert InboundMessage.objects.get().cls == "hard"


def _inbound(raw, *args):
    call_command("newsletter_inbound", *args, stdin=io.BytesIO(raw))


@pytest.mark.django_db
def test_odd_input_is_recorded_never_a_crash(monkeypatch):
    for raw in (
        b"",
        b"\x00\x01\x02",
        b"Subject: =?x-unknown?b?//79?=\r\nFrom: \xe9t\xe9@\xff\r\n\r\n\xff\xfe body\r\n",
    ):
        _inbound(raw)
    assert sorted(InboundMessage.objects.values_list("cls", "reason")) == [
        ("none", ""), ("none", "not-a-message"), ("none", "not-a-message")]  # fmt: skip
    _inbound(b"")  # the same (empty) message again: taken, nothing new
    assert InboundMessage.objects.count() == 3

    monkeypatch.setattr(newsletter_inbound, "MAX_MESSAGE_BYTES", 100)
    monkeypatch.setattr(intake, "MAX_MESSAGE_BYTES", 100)
    _inbound(b"Subject: big\r\n\r\n" + b"x" * 5000)
    row = InboundMessage.objects.latest("id")
    assert (row.cls, row.reason) == ("none", "too-big")


@pytest.mark.django_db
def test_mbox_from_line_and_envelope():
    """A retry carries a new From_ line (the time of the attempt): same digest. The envelope recipient finds the
    delivery when no header names our address."""
    delivery = sent_deliveries(1)[0]
    raw = hard_bounce(delivery).replace(verp(delivery).encode(), b"bounces@bounce.example.com")
    raw = re.sub(rb"Return-Path: <[^>]*>", b"Return-Path: <>", raw)
    _inbound(b"From MAILER-DAEMON Sun Dec  6 14:00:00 2026\n" + raw, f"--recipient={verp(delivery)}")
    _inbound(b"From MAILER-DAEMON Sun Dec  6 14:05:00 2026\n" + raw, f"--recipient={verp(delivery)}")
    row = InboundMessage.objects.get()
    assert (row.via, row.cls, row.delivery_id) == ("pipe", "hard", delivery.pk)
    assert Subscriber.objects.get().status == Status.BOUNCED
