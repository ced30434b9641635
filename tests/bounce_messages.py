"""Returned messages built with the standard library the way mail systems build them: RFC 3464 DSNs (Postfix's
layout), RFC 5965 ARF complaints, Microsoft JMRP complaints, vacation replies and challenge-response requests.
Each function returns raw bytes, as a bounce mailbox holds them."""

from email.message import EmailMessage, Message
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

NEWSLETTER_FROM = "News <news@example.com>"


def newsletter(to, return_path="bounces@bounce.example.com", message_id="<1a.abcdef@news.example.com>"):
    """The message we sent: what bounces return (whole or its headers)."""
    message = EmailMessage()
    message["Return-Path"] = f"<{return_path}>"
    message["From"] = NEWSLETTER_FROM
    message["To"] = to
    message["Subject"] = "Our December newsletter"
    message["Message-ID"] = message_id
    message["Date"] = formatdate()
    message.set_content("Hello,\nthe news of the month.\n")
    return message


def _fields(**values):
    block = Message()
    for name, value in values.items():
        block[name.replace("_", "-")] = value
    return block


def dsn(recipients, to="bounces@bounce.example.com", original=None, headers_only=False, notice="Delivery failed."):
    """A Postfix-style DSN to ``to`` (the VERP address). ``recipients``: (address, action, status, diagnostic)
    tuples; ``original``: the returned message (``headers_only``: as text/rfc822-headers)."""
    report = MIMEMultipart("report")
    report.set_param("report-type", "delivery-status")
    report["From"] = "MAILER-DAEMON@mx.example.net (Mail Delivery System)"
    report["To"] = to
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Auto-Submitted"] = "auto-replied"  # RFC 3834: MTAs mark their bounces this way too
    report["Message-ID"] = make_msgid(domain="mx.example.net")
    report.attach(MIMEText(notice))
    status = Message()
    status.set_type("message/delivery-status")
    blocks = [_fields(Reporting_MTA="dns; mx.example.net", Arrival_Date=formatdate())]
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


def arf(original, original_rcpt_to=None, feedback_type="abuse", mail_from="bounces@bounce.example.com"):
    """An RFC 5965 feedback report about ``original``; Original-Rcpt-To only when given (many providers omit it)."""
    report = MIMEMultipart("report")
    report.set_param("report-type", "feedback-report")
    report["From"] = "feedback@fbl.example.net"
    report["To"] = "abuse@example.com"
    report["Subject"] = "Email Feedback Report"
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


def vacation_reply(sender="reader@example.org", subject="Automatic reply: Our December newsletter"):
    """An RFC 3834 auto-reply."""
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = "news@example.com"
    reply["Subject"] = subject
    reply["Auto-Submitted"] = "auto-replied"
    reply["In-Reply-To"] = "<1a.abcdef@news.example.com>"
    reply.set_content("I am out of the office until January 5th and will answer your message when I return.\n")
    return reply.as_bytes()


def challenge(sender="noreply@challenge.example.net"):
    """A challenge-response request (Boxbe-like: dressed as a DSN with Action: failed)."""
    body = (
        "Hello,\n\nYour message about \"Our December newsletter\" has been waitlisted.\n"
        "Please add yourself to my Guest List so your messages will go to my Inbox:\n"
        "https://challenge.example.net/approve?id=1\n"
    )
    raw = dsn([("reader@example.org", "failed", "5.7.1", "")], notice=body)
    return raw.replace(b"MAILER-DAEMON@mx.example.net (Mail Delivery System)", sender.encode())
