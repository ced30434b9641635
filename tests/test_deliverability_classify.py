"""The bounce and complaint classifier (deliverability/classify.py) and ``manage.py newsletter_classify``.

The labelled corpus of real messages (``../shared/corpus/bounces``, or $BOUNCE_CORPUS) keeps the classifier from
regressing: ≥ 95 % of classes and of recipients right, and no message of class ``none`` taken for a bounce or a
complaint (issue 11). The synthetic messages (wagtail_newsletter/deliverability/sample_mail.py) pin each format
down one behaviour at a time.
"""

import csv
import io
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from wagtail_newsletter.deliverability import sample_mail as build
from wagtail_newsletter.deliverability.classify import classify
from wagtail_newsletter.deliverability.verp import verp_delivery_id
from wagtail_newsletter.send.mime import verp_return_path

CORPUS = Path(os.environ.get("BOUNCE_CORPUS") or Path(__file__).resolve().parents[1].parent / "shared/corpus/bounces")


def read_labels():
    with open(CORPUS / "labels.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def corpus_table(rows):
    """{expected class: [count, class right, recipients right]} and the ``none`` messages taken for more."""
    table = defaultdict(lambda: [0, 0, 0])
    false_alarms = []
    for row in rows:
        verdict = classify((CORPUS / row["file"]).read_bytes())
        expected = row["expected_class"]
        got = verdict.classes if ";" in expected else verdict.cls
        recipients = sorted(address.lower() for address in row["expected_recipient"].split(";") if address)
        line = table[expected]
        line[0] += 1
        line[1] += got == expected
        line[2] += sorted(verdict.recipients) == recipients
        if expected == "none" and verdict.cls != "none":
            false_alarms.append((row["file"], verdict.cls))
    return table, false_alarms


def format_table(table):
    lines = [f"{'class':<12}{'count':>6}{'class right':>13}{'recipients right':>18}"]
    for cls, (count, cls_right, recipients_right) in sorted(table.items()):
        lines.append(f"{cls:<12}{count:>6}{cls_right:>13}{recipients_right:>18}")
    totals = [sum(line[index] for line in table.values()) for index in range(3)]
    lines.append(f"{'all':<12}{totals[0]:>6}{totals[1]:>13}{totals[2]:>18}")
    return "\n".join(lines), totals


@pytest.mark.skipif(not (CORPUS / "labels.csv").exists(), reason=f"no bounce corpus at {CORPUS} (set BOUNCE_CORPUS)")
def test_corpus_classes_and_recipients_meet_the_targets():
    table, false_alarms = corpus_table(read_labels())
    text, (count, cls_right, recipients_right) = format_table(table)
    print(f"\nbounce corpus ({CORPUS}):\n{text}")
    assert cls_right / count >= 0.95, text
    assert recipients_right / count >= 0.95, text
    assert false_alarms == [], text


@pytest.mark.skipif(not (CORPUS / "labels.csv").exists(), reason=f"no bounce corpus at {CORPUS} (set BOUNCE_CORPUS)")
def test_corpus_benchmark_prints_its_rate():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "classify_corpus.py"
    result = subprocess.run([sys.executable, str(script), "--corpus", str(CORPUS), "--rounds", "1"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"classified \d+ messages in [\d.]+ s: [\d,]+ messages/s", result.stdout), result.stdout


# --- DSNs -------------------------------------------------------------------------------------------------------


def test_dsn_user_unknown_is_hard_with_recipient_status_and_original_message_id():
    raw = build.dsn(
        [("Dead@Example.org", "failed", "5.1.1", "550 5.1.1 <Dead@Example.org>: Recipient address rejected")],
        original=build.newsletter("Dead@Example.org"),
    )
    verdict = classify(raw)
    assert (verdict.cls, verdict.kind, verdict.status) == ("hard", "dsn", "5.1.1")
    assert verdict.recipients == ("dead@example.org",)
    assert verdict.original_message_id == "<1a.abcdef@news.example.com>"


def test_dsn_mailbox_full_is_soft_whether_4_2_2_or_5_2_2():
    for status, reply in (("4.2.2", "452 4.2.2 Mailbox full"), ("5.2.2", "552 5.2.2 Over quota")):
        verdict = classify(build.dsn([("full@example.org", "failed", status, reply)]))
        assert (verdict.cls, verdict.status) == ("soft", status)


def test_dsn_delayed_is_transient():
    verdict = classify(build.dsn([("slow@example.org", "delayed", "4.4.1", "connect to mx.example.org: timed out")]))
    assert (verdict.cls, verdict.recipients, verdict.status) == ("transient", ("slow@example.org",), "4.4.1")


def test_dsn_given_up_after_temporary_errors_is_transient():
    verdict = classify(build.dsn([("gone@example.org", "failed", "4.4.7", "delivery time expired")]))
    assert verdict.cls == "transient"


@pytest.mark.parametrize("action", ["relayed", "delivered", "expanded"])
def test_dsn_of_success_is_no_bounce(action):
    verdict = classify(build.dsn([("reader@example.org", action, "2.0.0", "")]))
    assert (verdict.cls, verdict.recipients) == ("none", ())


def test_dsn_spam_rejection_is_policy_and_greylisting_transient():
    blocked = classify(build.dsn([("a@example.org", "failed", "5.7.1", "554 5.7.1 Message rejected as spam")]))
    greylisted = classify(build.dsn([("b@example.org", "failed", "4.7.1", "450 4.7.1 Greylisted, try later")]))
    assert (blocked.cls, greylisted.cls) == ("policy", "transient")


def test_dsn_words_beat_a_misused_code():
    verdict = classify(build.dsn([("c@example.org", "failed", "5.7.0", "mailbox has exceeded its disk space limit")]))
    assert verdict.cls == "soft"


def test_dsn_with_two_recipients_classes_each():
    verdict = classify(build.dsn([("gone@example.org", "failed", "5.1.1", "550 5.1.1 User unknown"),
                                  ("full@example.org", "failed", "5.2.2", "552 5.2.2 Mailbox full")]))  # fmt: skip
    assert (verdict.cls, verdict.classes, verdict.status) == ("hard", "hard;soft", "5.1.1;5.2.2")


def test_dsn_returned_headers_give_the_message_id():
    raw = build.dsn([("x@example.org", "failed", "5.1.1", "")], original=build.newsletter("x@example.org"),
                    headers_only=True)  # fmt: skip
    assert classify(raw).original_message_id == "<1a.abcdef@news.example.com>"


def test_verp_token_of_the_bounce_names_the_delivery():
    verp = verp_return_path(4242, "bounce.example.com")
    verdict = classify(build.dsn([("x@example.org", "failed", "5.1.1", "")], to=verp.upper()))
    assert verp in verdict.verp_addresses
    assert verp_delivery_id(verdict) == 4242
    forged = build.dsn([("x@example.org", "failed", "5.1.1", "")], to="bounces+4243.deadbeef@bounce.example.com")
    assert verp_delivery_id(classify(forged)) is None


# --- MTAs' own formats --------------------------------------------------------------------------------------------


def plain_bounce(subject, body, sender="Mail Delivery System <MAILER-DAEMON@mx.example.net>",
                 to="bounces@bounce.example.com", **headers):  # fmt: skip
    message = build.EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def test_exim_text_bounce_names_the_failed_address():
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  gone@example.org\n    host mx.example.org [192.0.2.5]\n"
        "    SMTP error from remote mail server after RCPT TO:<gone@example.org>:\n"
        "    550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown\n\n"
        "------ This is a copy of the message, including all the headers. ------\n\n"
        "From: News <news@example.com>\nTo: gone@example.org\nMessage-ID: <1a.abcdef@news.example.com>\n\nHello\n"
    )
    verdict = classify(plain_bounce("Mail delivery failed: returning message to sender", body))
    assert (verdict.cls, verdict.kind, verdict.recipients, verdict.status) == (
        "hard", "nonstandard-bounce", ("gone@example.org",), "5.1.1")  # fmt: skip
    assert verdict.original_message_id == "<1a.abcdef@news.example.com>"


def test_text_bounce_names_the_address_we_sent_to_before_an_alias_rewrote_it():
    body = (
        "This message was created automatically by mail delivery software.\n\nA message sent by\n\n"
        "  <bounces+1.ab@bounce.example.com>\n\ncould not be delivered to one or more of its recipients.\n"
        "The following address(es) failed:\n\n  john.b@mail.example.net\n"
        "    (ultimately generated from john@example.net)\n"
        "    all hosts have been failing for a long time and were last tried after this message arrived\n"
    )
    # A forwarder rewrote our VERP address (SRS): the one in the text is named as the sender, not as a recipient.
    srs = "srs0=hash=bounce.example.com=bounces+1.ab@forwarder.example"
    verdict = classify(plain_bounce("Mail delivery failed", body, to=srs))
    assert (verdict.cls, verdict.recipients) == ("transient", ("john@example.net",))


def test_qmail_text_bounce_over_quota_is_soft():
    body = (
        "Hi. This is the qmail-send program at mx.example.net.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        "<full@example.org>:\nThe users mailfolder is over the allowed quota (size).\n\n"
        "--- Below this line is a copy of the message.\n\nFrom: News <news@example.com>\n"
    )
    verdict = classify(plain_bounce("failure notice", body))
    assert (verdict.cls, verdict.recipients) == ("soft", ("full@example.org",))


def test_exchange_text_notice_for_a_missing_mailbox_is_hard():
    body = (
        "Delivery has failed to these recipients or groups:\n\nJohn Doe (john.doe@corp.example)\n"
        "The e-mail address you entered couldn't be found. Please check the recipient's e-mail address.\n\n"
        "Diagnostic information for administrators:\n\njohn.doe@corp.example\n"
        "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n"
    )
    verdict = classify(plain_bounce("Undeliverable: Our December newsletter", body, "postmaster@corp.example"))
    assert (verdict.cls, verdict.recipients, verdict.status) == ("hard", ("john.doe@corp.example",), "5.1.1")


def test_our_sender_refused_is_policy_not_a_dead_recipient():
    body = (
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
        "<r@example.net>: host mx.example.net[192.0.2.3] said: 550 5.1.8 <bounces+1.ab@bounce.example.com>:\n"
        "    Sender address rejected: Domain not found (in reply to RCPT TO command)\n"
    )
    verdict = classify(plain_bounce("Undelivered Mail Returned to Sender", body))
    assert (verdict.cls, verdict.recipients, verdict.status) == ("policy", ("r@example.net",), "5.1.8")


def test_exim_delay_warning_is_transient():
    body = (
        "This message was created automatically by mail delivery software.\n"
        "A message that you sent has not yet been delivered to one or more of its\n"
        "recipients after more than 24 hours on the queue on mail.example.org.\n\n"
        "The address to which the message has not yet been delivered is:\n\n  later@example.net\n"
        "    Delay reason: SMTP error from remote mail server after RCPT TO:<later@example.net>:\n"
        "    451 4.7.1 Greylisting in action, please come back later\n"
    )
    verdict = classify(plain_bounce("Warning: message 1abc-0001 delayed 24 hours", body))
    assert (verdict.cls, verdict.recipients) == ("transient", ("later@example.net",))


def test_a_person_asking_about_a_bounce_is_none():
    body = "Hi, I wrote to you but my message could not be delivered, it said user unknown. Can you help?\n"
    assert classify(plain_bounce("Why did my mail bounce?", body, "Ann <ann@example.com>")).cls == "none"


# --- complaints ---------------------------------------------------------------------------------------------------


def test_arf_complaint_names_the_original_rcpt_to():
    verdict = classify(build.arf(build.newsletter("someone@example.org"), original_rcpt_to="Reader@Example.org"))
    assert (verdict.cls, verdict.kind, verdict.recipients) == ("complaint", "arf", ("reader@example.org",))
    assert verdict.original_message_id == "<1a.abcdef@news.example.com>"
    assert "bounces@bounce.example.com" not in verdict.recipients


def test_arf_complaint_without_original_rcpt_to_names_the_reported_to():
    verdict = classify(build.arf(build.newsletter("reader@example.org")))
    assert (verdict.cls, verdict.recipients) == ("complaint", ("reader@example.org",))


def test_arf_carries_the_verp_of_original_mail_from():
    verdict = classify(build.arf(build.newsletter("r@example.org"), mail_from="bounces+1.abc@bounce.example.com"))
    assert verdict.verp_addresses[0] == "bounces+1.abc@bounce.example.com"


def test_dmarc_failure_report_is_no_complaint():
    verdict = classify(build.arf(build.newsletter("reader@example.org"), feedback_type="auth-failure"))
    assert (verdict.cls, verdict.recipients) == ("none", ())


def test_microsoft_jmrp_is_a_complaint():
    verdict = classify(build.jmrp(build.newsletter("reader@outlook.example"), "reader@outlook.example"))
    assert (verdict.cls, verdict.kind, verdict.recipients) == ("complaint", "feedback", ("reader@outlook.example",))


# --- not bounces --------------------------------------------------------------------------------------------------


def test_vacation_reply_with_auto_submitted_is_none():
    verdict = classify(build.vacation_reply())
    assert (verdict.cls, verdict.kind, verdict.recipients) == ("none", "autoreply", ())


def test_auto_reply_from_a_no_reply_address_naming_a_colleague_is_none():
    message = build.EmailMessage()
    message["From"] = "Support <noreply@example.org>"
    message["To"] = "bounces+1.ab@bounce.example.com"
    message["Subject"] = "Out of Office: Our December newsletter"
    message["X-Autoreply"] = "yes"
    message.set_content("I am away and messages are delayed. For urgent matters, write to colleague@example.org.\n")
    assert classify(message.as_bytes()).cls == "none"


def test_dmarc_aggregate_report_at_the_bounce_address_is_none():
    message = build.EmailMessage()
    message["From"] = "postmaster@receiver.example"
    message["To"] = "bounces@bounce.example.com"
    message["Subject"] = "Report domain: example.com Submitter: receiver.example Report-ID: <1234>"
    message.set_content("DMARC aggregate report.\nReport domain: example.com\nReporter: reports@receiver.example\n")
    message.add_attachment(b"PK\x03\x04", maintype="application", subtype="zip", filename="report.zip")
    assert classify(message.as_bytes()).cls == "none"


def test_challenge_response_dressed_as_a_dsn_is_none():
    assert classify(build.challenge()).cls == "none"


def test_ordinary_reply_to_the_bounce_address_is_none():
    message = build.EmailMessage()
    message["From"] = "Reader <reader@example.org>"
    message["To"] = "bounces@bounce.example.com"
    message["Subject"] = "Re: Our December newsletter"
    message.set_content("Thanks! Could you send me last month's issue too? My old address could not be used.\n")
    assert classify(message.as_bytes()).cls == "none"


@pytest.mark.parametrize("raw", [b"", b"\x00\xff\xfe garbage \x80", b"not: a\n\n" + b"\xc3" * 5000, "é".encode() * 9])
def test_garbage_is_none_without_raising(raw):
    assert classify(raw).cls == "none"


# --- the command --------------------------------------------------------------------------------------------------


def test_command_prints_path_class_recipients_status(tmp_path):
    hard = tmp_path / "hard.eml"
    failures = [("Gone@Example.org", "failed", "5.1.1", ""), ("full@example.org", "failed", "5.2.2", "")]
    hard.write_bytes(build.dsn(failures))
    vacation = tmp_path / "vacation.eml"
    vacation.write_bytes(build.vacation_reply())
    out = io.StringIO()
    call_command("newsletter_classify", str(hard), str(vacation), stdout=out, stderr=io.StringIO())
    assert out.getvalue().splitlines() == [
        f"{hard}\thard;soft\tgone@example.org;full@example.org\t5.1.1;5.2.2",
        f"{vacation}\tnone\t\t",
    ]


def test_command_reports_a_missing_file_and_exits_non_zero(tmp_path):
    garbage = tmp_path / "garbage.eml"
    garbage.write_bytes(b"\x00\x01\x02")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("newsletter_classify", str(tmp_path / "missing.eml"), str(garbage), stdout=out, stderr=err)
    assert raised.value.returncode == 1
    assert f"{tmp_path / 'missing.eml'}: cannot read" in err.getvalue()
    assert f"{garbage}: not a mail message" in err.getvalue()
    assert out.getvalue() == f"{garbage}\tnone\t\t\n"
