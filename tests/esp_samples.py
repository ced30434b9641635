"""Sending services' webhook payloads as their documentation shows them, adapted only in the recipient, the
Message-ID and the event ids (so that they point at deliveries made by the test).

Sources (the sample each function follows):
- Amazon SES: "Amazon SNS notification examples for Amazon SES" (bounce with a DSN, bounce without a DSN,
  complaint with a feedback report), wrapped in the SNS HTTP(S) notification of "Parsing message formats" (SNS docs).
- Postmark: developer docs, "Bounce webhook", "Spam complaint webhook", "Subscription change webhook".
- Mailgun: "Webhook Payloads" (failed permanent, failed temporary, complained, unsubscribed), signed as Mailgun
  signs: HMAC-SHA256 of timestamp + token with the webhook signing key.
- SendGrid: "Event Webhook reference", the sample list of events (bounce, deferred, dropped, spamreport,
  unsubscribe, delivered, open).
- Brevo: "Transactional webhooks" (hard_bounce, soft_bounce, spam, unsubscribed). Its ``X-Mailin-custom`` field is
  left out: Brevo sends it only when the message had that header, and anymail reads it as JSON.
- Mailjet: "Event API: real-time notifications" (bounce, blocked, spam, unsub).
"""

import hashlib
import hmac
import json

SNS_TOPIC = "arn:aws:sns:us-west-2:123456789012:MyTopic"


def sns_notification(ses_message, sns_message_id):
    """The SNS envelope of one SES notification; the view checks its Type and MessageId against the headers."""
    return {
        "Type": "Notification",
        "MessageId": sns_message_id,
        "TopicArn": SNS_TOPIC,
        "Message": json.dumps(ses_message),
        "Timestamp": "2016-01-27T14:59:38.237Z",
        "SignatureVersion": "1",
        # anymail checks no SNS signature (it relies on the basic-auth secret): the documented placeholder stays.
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxY"
                     "DVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-"
                          "f3ecfb7224c7233fe7bb5f59f96de52f.pem",
        "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                          f"{SNS_TOPIC}:c9135db0-26c4-47ec-8998-413945fb5a96",
    }  # fmt: skip


def _ses_mail(recipients, message_id, with_headers=True):
    mail = {
        "timestamp": "2016-01-27T14:59:38.237Z",
        "source": "john@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId": "123456789012",
        "callerIdentity": "IAM_user_or_role_name",
        "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "destination": list(recipients),
    }
    if with_headers:
        to = ", ".join(recipients)
        mail.update({
            "headersTruncated": False,
            "headers": [
                {"name": "From", "value": '"John Doe" <john@example.com>'},
                {"name": "To", "value": to},
                {"name": "Message-ID", "value": message_id},
                {"name": "Subject", "value": "Hello"},
                {"name": "Content-Type", "value": 'text/plain; charset="UTF-8"'},
                {"name": "Content-Transfer-Encoding", "value": "base64"},
                {"name": "Date", "value": "Wed, 27 Jan 2016 14:05:45 +0000"},
            ],
            "commonHeaders": {
                "from": ["John Doe <john@example.com>"], "date": "Wed, 27 Jan 2016 14:05:45 +0000", "to": [to],
                "messageId": message_id, "subject": "Hello",
            },
        })  # fmt: skip
    return mail


def ses_bounce_with_dsn(recipient, message_id, status="5.1.1", diagnostic=None):
    diagnostic = diagnostic or f"smtp; 550 {status} <{recipient}>... User"
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "reportingMTA": "dns; email.example.com",
            "bouncedRecipients": [
                {"emailAddress": recipient, "status": status, "action": "failed", "diagnosticCode": diagnostic}
            ],
            "bounceSubType": "General",
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
            "remoteMtaIp": "127.0.2.0",
        },
        "mail": _ses_mail([recipient], message_id),
    }


def ses_bounce_without_dsn(recipients, message_id, bounce_type="Permanent", sub_type="General"):
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [{"emailAddress": address} for address in recipients],
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
            "remoteMtaIp": "127.0.2.0",
        },
        "mail": _ses_mail(recipients, message_id, with_headers=False),
    }


def ses_complaint(recipient, message_id):
    return {
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": recipient}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2016-01-27T14:59:38.237Z",
            "timestamp": "2016-01-27T14:59:38.237Z",
            "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
        },
        "mail": _ses_mail([recipient], message_id),
    }


def ses_delivery(recipient, message_id):
    return {
        "notificationType": "Delivery",
        "mail": _ses_mail([recipient], message_id),
        "delivery": {
            "timestamp": "2016-01-27T14:59:38.237Z", "recipients": [recipient], "processingTimeMillis": 546,
            "reportingMTA": "a8-70.smtp-out.amazonses.com", "smtpResponse": "250 ok:  Message 64111812 accepted",
            "remoteMtaIp": "127.0.2.0",
        },
    }  # fmt: skip


def postmark_bounce(recipient, bounce_id=4323372036854775807, kind="HardBounce", details="Test bounce details"):
    return {
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": bounce_id, "Type": kind, "TypeCode": 1,
        "Name": "Hard bounce", "Tag": "Test", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"a_key": "a_value", "b_key": "b_value"}, "ServerID": 23,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": details, "Email": recipient, "From": "sender@example.com",
        "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": True, "Inactive": True, "CanActivate": True,
        "Subject": "Test subject", "Content": "Return-Path:....",
    }  # fmt: skip


def postmark_spam_complaint(recipient, complaint_id=42):
    return {
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": complaint_id, "Type": "SpamComplaint",
        "TypeCode": 512, "Name": "Spam complaint", "Tag": "Test",
        "MessageID": "00000000-0000-0000-0000-000000000000", "Metadata": {"a_key": "a_value", "b_key": "b_value"},
        "ServerID": 1234, "Description": "", "Details": "Test spam complaint details", "Email": recipient,
        "From": "sender@example.com", "BouncedAt": "2019-11-05T16:33:54.9070259Z", "DumpAvailable": True,
        "Inactive": True, "CanActivate": False, "Subject": "Test subject", "Content": "<Abuse report dump>",
    }  # fmt: skip


def postmark_subscription_change(recipient, reason="ManualSuppression"):
    return {
        "RecordType": "SubscriptionChange", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "ServerID": 123456, "MessageStream": "outbound", "ChangedAt": "2020-02-01T10:53:34.416071Z",
        "Recipient": recipient, "Origin": "Recipient", "SuppressSending": True, "SuppressionReason": reason,
        "Tag": "my-tag", "Metadata": {"example": "value", "example_2": "value"},
    }  # fmt: skip


def mailgun_signed(event_data, signing_key, token="a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"):
    timestamp = "1529006854"
    signature = hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event_data}


def _mailgun_message(recipient, message_id, subject):
    return {
        "headers": {
            "to": f"Alice <{recipient}>", "message-id": message_id.strip("<>"),  # Mailgun drops the brackets
            "from": "Bob <bob@sandbox.mailgun.org>", "subject": subject,
        },
        "attachments": [], "size": 111,
    }  # fmt: skip


def mailgun_failed(recipient, message_id, event_id="G9Bn5sl1TC6nu79C8C0bwg", severity="permanent"):
    temporary = severity == "temporary"
    status = {
        "attempt-no": 1, "code": 452 if temporary else 550, "description": "", "session-seconds": 0.0,
        "message": (
            "4.2.2 The email account that you tried to reach is over quota. Please direct\n4.2.2 the recipient to\n"
            "4.2.2  https://support.google.com/mail/?p=OverQuotaTemp u7si5513425wmf.84 - gsmtp"
            if temporary else
            "5.1.1 The email account that you tried to reach does not exist. Please try\n5.1.1 double-checking the "
            "recipient's email address for typos or\n5.1.1 unnecessary spaces. https://support.google.com/mail/?p="
            "NoSuchUser 17si20661415qkf.226 - gsmtp"
        ),
    }  # fmt: skip
    if temporary:
        status["retry-seconds"] = 600
    return {
        "event": "failed", "id": event_id, "timestamp": 1521233195.375624, "log-level": "warn" if temporary
        else "error", "severity": severity, "reason": "generic" if temporary else "bounce",
        "envelope": {"sender": "bob@sandbox.mailgun.org", "transport": "smtp", "targets": recipient},
        "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False, "is-test-mode": False},
        "delivery-status": status, "message": _mailgun_message(recipient, message_id, "Test permanent_fail webhook"),
        "recipient": recipient, "recipient-domain": recipient.rpartition("@")[2],
        "storage": {"url": "https://se.api.mailgun.net/v3/domains/sandbox.mailgun.org/messages/message_key",
                    "key": "message_key"},
        "campaigns": [], "tags": ["my_tag_1", "my_tag_2"],
        "user-variables": {"my_var_1": "Mailgun Variable #1", "my-var-2": "awesome"},
    }  # fmt: skip


def mailgun_complained(recipient, message_id, event_id="-Agny091SquKnsrW2NEKUA"):
    return {
        "event": "complained", "id": event_id, "timestamp": 1521233123.501324, "log-level": "warn",
        "envelope": {"sending-ip": "173.193.210.33"}, "flags": {"is-test-mode": False},
        "message": _mailgun_message(recipient, message_id, "Test complained webhook"), "recipient": recipient,
        "campaigns": [], "tags": ["my_tag_1", "my_tag_2"],
        "user-variables": {"my_var_1": "Mailgun Variable #1", "my-var-2": "awesome"},
    }  # fmt: skip


def mailgun_unsubscribed(recipient, message_id, event_id="Ase7i2zsRYeDXztHGENqRA"):
    return {
        "event": "unsubscribed", "id": event_id, "timestamp": 1521243339.873676, "log-level": "info",
        "envelope": {"sending-ip": "50.56.21.178"}, "message": {"headers": {"message-id": message_id.strip("<>")}},
        "recipient": recipient, "geolocation": {"country": "US", "region": "CA", "city": "San Francisco"},
        "client-info": {"client-os": "Linux", "device-type": "desktop", "client-name": "Chrome",
                        "client-type": "browser", "user-agent": "Mozilla/5.0 (X11; Linux x86_64)"},
        "campaigns": [], "tags": ["my_tag_1", "my_tag_2"],
        "user-variables": {"my_var_1": "Mailgun Variable #1", "my-var-2": "awesome"},
    }  # fmt: skip


def sendgrid_event(event, recipient, message_id, event_id, **fields):
    """One event of SendGrid's sample list: the fields every event has, then the event's own."""
    return {
        "email": recipient, "timestamp": 1513299569, "smtp-id": message_id, "event": event, "category": "cat facts",
        "sg_event_id": event_id, "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", **fields,
    }  # fmt: skip


def brevo_event(event, recipient, message_id, **fields):
    return {
        "event": event, "email": recipient, "id": 1, "date": "2020-10-09 00:00:00", "ts": 1604933619,
        "message-id": message_id, "ts_event": 1604933654, "subject": "My first Transactional", "template_id": 22,
        "tag": "transac_messages", "sending_ip": "185.41.28.109", "ts_epoch": 1604933654,
        "tags": ["transac_messages"], **fields,
    }  # fmt: skip


def mailjet_event(event, recipient, **fields):
    return {
        "event": event, "time": 1430812195, "MessageID": 13792286917004336,
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j", "email": recipient, "mj_campaign_id": 0,
        "mj_contact_id": 0, "customcampaign": "", "CustomID": "helloworld", "Payload": "", **fields,
    }  # fmt: skip
