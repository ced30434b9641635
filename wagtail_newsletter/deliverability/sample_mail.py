"""Returned mail built with the standard library the way mail systems build it: RFC 3464 DSNs (Postfix's layout),
RFC 5965 ARF complaints, Microsoft JMRP complaints, vacation replies, challenge-response requests and mails to the
List-Unsubscribe address. Each function returns raw bytes, as a bounce mailbox holds them.

Not used by the intake: the example site's ``demo_activity`` feeds such messages about its sample deliveries through
it, and the tests and benchmarks build theirs with it. ``Sent`` describes the message that went out (its recipient,
VERP Return-Path and Message-ID); given its ``date``, every message built about it is the same bytes each time (its
Date, Message-ID and MIME boundary come from what it is about), so the intake, which dedupes by digest, takes it once.
"""

import datetime
import hashlib
from dataclasses import dataclass
from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formatdate, make_msgid

NEWSLETTER_FROM = "News <news@example.com>"
NEWSLETTER_SUBJECT = "Our December newsletter"
REPORTING_MTA = "mx.example.net"


def newsletter(to, return_path="bounces@bounce.example.com", message_id="<1a.abcdef@news.example.com>",
               from_=NEWSLETTER_FROM, subject=NEWSLETTER_SUBJECT, date=None):  # fmt: skip
    """The message we sent: what bounces return (whole or its headers). ``date``: an RFC 5322 date (now if None)."""
    message = EmailMessage()
    message["Return-Path"] = f"<{return_path}>"
    message["From"] = from_
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = date or formatdate()
    message.set_content("Hello,\nthe news of the month.\n")
    return message


def _fields(**values):
    block = Message()
    for name, value in values.items():
        block[name.replace("_", "-")] = value
    return block


def _stamp(message, date, message_id):
    """Date, Message-ID and, for a multipart, a boundary derived from the Message-ID (a random one otherwise)."""
    message["Date"] = date or formatdate()
    message["Message-ID"] = message_id or make_msgid(domain=REPORTING_MTA)
    if message.is_multipart():
        message.set_boundary("=_" + hashlib.sha256(message["Message-ID"].encode()).hexdigest()[:32])


def dsn(recipients, to="bounces@bounce.example.com", original=None, headers_only=False, notice="Delivery failed.",
        date=None, message_id=None):  # fmt: skip
    """A Postfix-style DSN to ``to`` (the VERP address). ``recipients``: (address, action, status, diagnostic)
    tuples; ``original``: the returned message (``headers_only``: as text/rfc822-headers); ``date`` and
    ``message_id``: the DSN's own (now and a random one if None)."""
    report = MIMEMultipart("report")
    report.set_param("report-type", "delivery-status")
    report["From"] = f"MAILER-DAEMON@{REPORTING_MTA} (Mail Delivery System)"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Auto-Submitted"] = "auto-replied"  # RFC 3834: MTAs mark their bounces this way too
    _stamp(report, date, message_id)
    report.attach(MIMEText(notice))
    status = Message()
    status.set_type("message/delivery-status")
    blocks = [_fields(Reporting_MTA=f"dns; {REPORTING_MTA}", Arrival_Date=report["Date"])]
    for address, action, code, diagnostic in recipients:
        block = _fields(Final_Recipient=f"rfc822; {address}", Original_Recipient=f"rfc822;{address}", Action=action,
                        Status=code)  # fmt: skip
        if diagnostic:
            block["Diagnostic-Code"] = f"smtp; {diagnostic}"
        blocks.append(block)
    status.set_payload(blocks)
    report.attach(status)
    if original is not None:
        if headers_only:
            headers = "".join(f"{name}: {value}\n" for name, value in original.items())
            report.attach(MIMEText(headers, "rfc822-headers"))
        else:
            report.attach(MIMEMessage(original))
    return report.as_bytes()


def arf(original, original_rcpt_to=None, feedback_type="abuse", mail_from="bounces@bounce.example.com", date=None,
        message_id=None):  # fmt: skip
    """An RFC 5965 feedback report about ``original``; Original-Rcpt-To only when given (many providers omit it)."""
    report = MIMEMultipart("report")
    report.set_param("report-type", "feedback-report")
    report["From"] = "feedback@fbl.example.net"
    report["To"] = "abuse@example.com"
    report["Subject"] = "Email Feedback Report"
    _stamp(report, date, message_id)
    report.attach(MIMEText("This is an email abuse report for a message received from 192.0.2.1."))
    feedback = Message()
    feedback.set_type("message/feedback-report")
    fields = _fields(Feedback_Type=feedback_type, User_Agent="SomeFBL/1.0", Version="1",
                     Original_Mail_From=f"<{mail_from}>", Source_IP="192.0.2.1")  # fmt: skip
    if original_rcpt_to:
        fields["Original-Rcpt-To"] = original_rcpt_to
    feedback.set_payload([fields])
    report.attach(feedback)
    report.attach(MIMEMessage(original))
    return report.as_bytes()


def jmrp(original, recipient):
    """A Microsoft JMRP complaint: no report part, the reported message attached with the recipient in a header."""
    original["X-HmXmrOriginalRecipient"] = recipient
    complaint = MIMEMultipart("mixed")
    complaint["From"] = "staff@hotmail.com"
    complaint["To"] = "abuse@example.com"
    complaint["Subject"] = "complaint about message from 192.0.2.1"
    complaint.attach(MIMEMessage(original))
    return complaint.as_bytes()


def vacation_reply(sender="reader@example.org", subject=f"Automatic reply: {NEWSLETTER_SUBJECT}",
                   in_reply_to="<1a.abcdef@news.example.com>", to="news@example.com"):  # fmt: skip
    """An RFC 3834 auto-reply."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = to
    reply["Subject"] = subject
    reply["Auto-Submitted"] = "auto-replied"
    reply["In-Reply-To"] = in_reply_to
    reply.set_content("I am out of the office until January 5th and will answer your message when I return.\n")
    return reply.as_bytes()


def challenge(sender="noreply@challenge.example.net"):
    """A challenge-response request (Boxbe-like: dressed as a DSN with Action: failed)."""
    body = (
        'Hello,\n\nYour message about "Our December newsletter" has been waitlisted.\n'
        "Please add yourself to my Guest List so your messages will go to my Inbox:\n"
        "https://challenge.example.net/approve?id=1\n"
    )
    raw = dsn([("reader@example.org", "failed", "5.7.1", "")], notice=body)
    return raw.replace(f"MAILER-DAEMON@{REPORTING_MTA} (Mail Delivery System)".encode(), sender.encode())


def unsubscribe_request(sender, address, subject="unsubscribe", body="Please take me off this list."):
    """What a mail client sends to the List-Unsubscribe ``address`` when its user asks (any subject and body)."""
    text = f"From: {sender}\r\nTo: {address}\r\nSubject: {subject}\r\n"
    text += "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
    return text.encode()


# --- about one message we sent ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """A message that went out: to ``to``, with its VERP ``return_path`` and ``message_id``. ``date``: when it was
    sent (a datetime); None makes every message built about it new bytes each time (now, random ids)."""

    to: str
    return_path: str
    message_id: str
    from_: str = NEWSLETTER_FROM
    subject: str = NEWSLETTER_SUBJECT
    date: datetime.datetime | None = None

    def message(self):
        return newsletter(self.to, self.return_path, self.message_id, self.from_, self.subject, self._date())

    def _date(self, minutes=0):
        return None if self.date is None else format_datetime(self.date + datetime.timedelta(minutes=minutes))

    def stamp(self, what, minutes):
        """(date, message_id) of the message ``what`` about this one, sent ``minutes`` after it: (None, None) without
        ``date``, else derived from it and the Message-ID, so that the same message is the same bytes."""
        if self.date is None:
            return {"date": None, "message_id": None}
        key = hashlib.sha256(f"{what}:{self.message_id}".encode()).hexdigest()[:20]
        return {"date": self._date(minutes), "message_id": f"<{key}.{what}@{REPORTING_MTA}>"}


def hard_bounce(sent, status="5.1.1", diagnostic="550 5.1.1 <{}>: Recipient address rejected: User unknown"):
    """The receiving server's DSN: the address does not exist (``diagnostic``: ``{}`` is the address)."""
    return dsn([(sent.to, "failed", status, diagnostic.format(sent.to))], to=sent.return_path,
               original=sent.message(), **sent.stamp(f"dsn-{status}", 1))  # fmt: skip


def soft_bounce(sent):
    """A DSN for a full mailbox (5.2.2)."""
    return hard_bounce(sent, "5.2.2", "552 5.2.2 <{}>: Mailbox full, quota exceeded")


def delay_warning(sent):
    """Postfix's "delayed mail" notice after four hours of retries (Action: delayed, the headers only)."""
    return dsn([(sent.to, "delayed", "4.4.1", "connect to mx.example.net: Connection timed out")],
               to=sent.return_path, original=sent.message(), headers_only=True,
               **sent.stamp("delayed", 240))  # fmt: skip


def complaint(sent):
    """A feedback loop's ARF report: the recipient pressed "This is spam"."""
    return arf(sent.message(), original_rcpt_to=sent.to, mail_from=sent.return_path,
               **sent.stamp("arf", 120))  # fmt: skip


def auto_reply(sent, reply_to=None):
    """The recipient's vacation notice, in reply to our message (to its sender, or to ``reply_to``)."""
    return vacation_reply(sender=sent.to, subject=f"Automatic reply: {sent.subject}", in_reply_to=sent.message_id,
                          to=reply_to or sent.from_)  # fmt: skip
