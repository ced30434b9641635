"""Sending services' events through django-anymail's real webhook views: each service's documented sample payload
is posted (Django test client) to /anymail/<service>/tracking/ and the subscribers, events and received-message
records are checked. The samples are in tests/esp_samples.py."""

import base64
import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from tests import esp_samples as samples
from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.deliverability.models import InboundMessage
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Event, EventKind
from wagtail_newsletter.send.outgoing import message_id_for

from .track_fixtures import T0, make_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailWarning")]

DOMAIN = "example.org"
HARD, SOFT, TRANSIENT = EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE, EventKind.TRANSIENT_BOUNCE
POLICY, COMPLAINT, UNSUBSCRIBE = EventKind.POLICY_BOUNCE, EventKind.COMPLAINT, EventKind.UNSUBSCRIBE


class Site:
    """Subscribers, each sent two campaigns (``older`` and ``newer``): an event found through our Message-ID must land
    on the delivery that Message-ID names, not merely on the subscriber's latest one."""

    def __init__(self, count=4):
        self.older = make_campaign(name="Older issue", status=CampaignStatus.SENT)
        self.newer = make_campaign(name="Newer issue", status=CampaignStatus.SENDING)
        self.subscribers = [
            Subscriber.objects.create(email=f"reader{n}@example.com", status=Status.SUBSCRIBED) for n in range(count)
        ]
        for campaign, sent_at in ((self.older, T0), (self.newer, T0.replace(day=9))):
            Delivery.objects.bulk_create(
                Delivery(campaign=campaign, subscriber=s, status=DeliveryStatus.SENT, sent_at=sent_at)
                for s in self.subscribers
            )

    def delivery(self, n, campaign=None):
        return Delivery.objects.get(campaign=campaign or self.newer, subscriber=self.subscribers[n])

    def email(self, n):
        return self.subscribers[n].email

    def message_id(self, n, campaign=None):
        return message_id_for(self.delivery(n, campaign).pk, DOMAIN)

    def status(self, n):
        return Subscriber.all_objects.get(pk=self.subscribers[n].pk).status


@pytest.fixture
def site():
    return Site()


def auth(secret=None):
    secret = secret or settings.ANYMAIL["WEBHOOK_SECRET"]
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def post(service, payload, secret=None, **headers):
    body = json.dumps(payload)
    return Client().post(f"/anymail/{service}/tracking/", body, content_type="application/json", **auth(secret),
                         **headers)  # fmt: skip


def post_ses(ses_message, sns_id="22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", secret=None):
    envelope = samples.sns_notification(ses_message, sns_id)
    headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": sns_id}
    return post("amazon_ses", envelope, secret, **headers)


def post_mailgun(event_data, key=None):
    return post("mailgun", samples.mailgun_signed(event_data, key or settings.ANYMAIL["MAILGUN_WEBHOOK_SIGNING_KEY"]))


def kinds(delivery):
    return sorted(Event.objects.filter(delivery_id=delivery.pk).values_list("kind", flat=True))


def received():
    return list(InboundMessage.objects.order_by("id").values("via", "cls", "recipients", "delivery_id", "outcome"))


# --- Amazon SES (SNS notifications) -------------------------------------------------------------------------------


def test_ses_bounce_with_dsn_finds_the_delivery_its_message_id_names(site):
    # The Message-ID of the OLDER campaign's delivery: the recipient's latest delivery is the newer one.
    response = post_ses(samples.ses_bounce_with_dsn(site.email(0), site.message_id(0, site.older)))
    assert response.status_code == 200, response.content
    assert site.status(0) == Status.BOUNCED
    assert kinds(site.delivery(0, site.older)) == [HARD]
    assert kinds(site.delivery(0)) == []
    [row] = InboundMessage.objects.all()
    assert (row.via, row.cls, row.kind, row.status) == ("webhook", "hard", "esp-event", "5.1.1")
    assert (row.delivery_id, row.campaign_id) == (site.delivery(0, site.older).pk, site.older.pk)
    assert row.recipients == site.email(0)


def test_ses_bounce_naming_two_recipients_bounces_both_once(site):
    message = samples.ses_bounce_without_dsn([site.email(1), site.email(2)], site.message_id(1))
    assert post_ses(message).status_code == 200
    assert (site.status(1), site.status(2)) == (Status.BOUNCED, Status.BOUNCED)
    assert kinds(site.delivery(1)) == [HARD] and kinds(site.delivery(2)) == [HARD]
    assert InboundMessage.objects.count() == 2  # one record per recipient of the one SNS notification
    assert post_ses(message).status_code == 200  # SNS delivers at least once: the same notification again
    assert InboundMessage.objects.count() == 2
    assert Event.objects.count() == 2


def test_ses_transient_bounces_count_or_record_only(site):
    post_ses(samples.ses_bounce_without_dsn([site.email(0)], "", "Transient", "MailboxFull"), sns_id="sns-1")
    post_ses(samples.ses_bounce_without_dsn([site.email(1)], "", "Transient", "General"), sns_id="sns-2")
    assert kinds(site.delivery(0)) == [SOFT] and kinds(site.delivery(1)) == [TRANSIENT]
    assert site.status(0) == site.status(1) == Status.SUBSCRIBED


def test_ses_complaint_marks_the_subscriber_complained(site):
    assert post_ses(samples.ses_complaint(site.email(3), site.message_id(3))).status_code == 200
    assert site.status(3) == Status.COMPLAINED
    assert kinds(site.delivery(3)) == [COMPLAINT]


def test_ses_policy_bounce_pauses_the_campaign_and_spares_the_subscriber(site):
    diagnostic = "smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using Spamhaus"
    post_ses(samples.ses_bounce_with_dsn(site.email(0), site.message_id(0), "5.7.1", diagnostic))
    assert kinds(site.delivery(0)) == [POLICY]
    assert site.status(0) == Status.SUBSCRIBED
    campaign = Campaign.objects.get(pk=site.newer.pk)
    assert campaign.status == CampaignStatus.PAUSED and campaign.pause_cause == "policy"


def test_ses_delivery_notification_is_not_recorded(site):
    assert post_ses(samples.ses_delivery(site.email(0), site.message_id(0))).status_code == 200
    assert InboundMessage.objects.count() == 0 and Event.objects.count() == 0


def test_ses_post_without_or_with_a_wrong_secret_changes_nothing(site):
    message = samples.ses_bounce_with_dsn(site.email(0), site.message_id(0))
    envelope = samples.sns_notification(message, "sns-x")
    headers = {"HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification", "HTTP_X_AMZ_SNS_MESSAGE_ID": "sns-x"}
    no_auth = Client().post("/anymail/amazon_ses/tracking/", json.dumps(envelope), content_type="application/json",
                            **headers)  # fmt: skip
    assert no_auth.status_code == 401  # SNS sends its credentials only when asked
    assert post_ses(message, sns_id="sns-x", secret="esp-hooks:wrong").status_code == 400
    assert site.status(0) == Status.SUBSCRIBED and InboundMessage.objects.count() == 0


# --- Postmark -----------------------------------------------------------------------------------------------------


def test_postmark_hard_bounce_finds_the_latest_delivery_to_the_address(site):
    # Postmark echoes no header of ours: the recipient's latest sent delivery is the one.
    assert post("postmark", samples.postmark_bounce(site.email(0))).status_code == 200
    assert site.status(0) == Status.BOUNCED
    assert kinds(site.delivery(0)) == [HARD] and kinds(site.delivery(0, site.older)) == []


def test_postmark_soft_bounce_dmarc_refusal_and_spam_complaint(site):
    post("postmark", samples.postmark_bounce(site.email(1), 101, "SoftBounce", "mailbox full"))
    post("postmark", samples.postmark_spam_complaint(site.email(2)))
    assert kinds(site.delivery(1)) == [SOFT] and site.status(1) == Status.SUBSCRIBED
    assert kinds(site.delivery(2)) == [COMPLAINT] and site.status(2) == Status.COMPLAINED
    post("postmark", samples.postmark_bounce(site.email(3), 102, "DMARCPolicy", "550 5.7.1 DMARC policy violation"))
    assert kinds(site.delivery(3)) == [POLICY] and site.status(3) == Status.SUBSCRIBED


def test_postmark_subscription_change_unsubscribes_that_subscriber_once(site):
    payload = samples.postmark_subscription_change(site.email(1))
    assert post("postmark", payload).status_code == 200
    assert site.status(1) == Status.UNSUBSCRIBED
    assert kinds(site.delivery(1)) == [UNSUBSCRIBE]
    assert post("postmark", payload).status_code == 200
    assert Event.objects.count() == 1 and InboundMessage.objects.count() == 1
    assert received()[0]["outcome"] == "unsubscribed"
    assert [s for n, s in enumerate(map(site.status, range(4))) if n != 1] == [Status.SUBSCRIBED] * 3


def test_postmark_wrong_secret_is_refused(site):
    response = post("postmark", samples.postmark_bounce(site.email(0)), secret="esp-hooks:guess")
    assert response.status_code == 400
    assert site.status(0) == Status.SUBSCRIBED and InboundMessage.objects.count() == 0


# --- Mailgun ------------------------------------------------------------------------------------------------------


def test_mailgun_permanent_failure_complaint_and_unsubscribe(site):
    assert post_mailgun(samples.mailgun_failed(site.email(0), site.message_id(0, site.older))).status_code == 200
    assert post_mailgun(samples.mailgun_complained(site.email(1), site.message_id(1))).status_code == 200
    assert post_mailgun(samples.mailgun_unsubscribed(site.email(2), site.message_id(2))).status_code == 200
    assert kinds(site.delivery(0, site.older)) == [HARD] and site.status(0) == Status.BOUNCED
    assert kinds(site.delivery(1)) == [COMPLAINT] and site.status(1) == Status.COMPLAINED
    assert kinds(site.delivery(2)) == [UNSUBSCRIBE] and site.status(2) == Status.UNSUBSCRIBED
    assert [row["cls"] for row in received()] == ["hard", "complaint", "unsubscribe"]


def test_mailgun_temporary_failure_is_transient(site):
    event = samples.mailgun_failed(site.email(3), site.message_id(3), "Fs7-5t81S2ms-sXr8UnSBA", "temporary")
    post_mailgun(event)
    assert kinds(site.delivery(3)) == [TRANSIENT] and site.status(3) == Status.SUBSCRIBED


def test_mailgun_bad_signature_is_refused(site):
    response = post_mailgun(samples.mailgun_failed(site.email(0), site.message_id(0)), key="not-the-key")
    assert response.status_code == 400
    assert site.status(0) == Status.SUBSCRIBED and InboundMessage.objects.count() == 0


# --- SendGrid -----------------------------------------------------------------------------------------------------


def test_sendgrid_batch_of_events(site):
    ids = [site.message_id(n) for n in range(4)]
    batch = [
        samples.sendgrid_event("processed", site.email(0), ids[0], "rbtnWrG1DVDGGGFHFyun0A=="),
        samples.sendgrid_event("deferred", site.email(0), ids[0], "t7LEShmowp86DTdUW8M-GQ==",
                               response="400 try again later", attempt="5"),
        samples.sendgrid_event("delivered", site.email(1), ids[1], "rWVYmVk90MjZJ9iohOBa3w==", response="250 OK"),
        samples.sendgrid_event("open", site.email(1), ids[1], "FOTFFO0ecsBE-zxFXfs6WA==",
                               useragent="Mozilla/4.0 (compatible; MSIE 6.1; Windows XP)", ip="255.255.255.255"),
        samples.sendgrid_event("bounce", site.email(1), ids[1], "6g4ZI7SA-xmRDv57GoPIPw==",
                               reason="500 unknown recipient", status="5.0.0", type="bounce"),
        samples.sendgrid_event("spamreport", site.email(2), ids[2], "37nvH5QBz858KGVYCM4uOA=="),
        samples.sendgrid_event("unsubscribe", site.email(3), ids[3], "zz_BjPgU_5pS-J8vlfB1sg=="),
    ]  # fmt: skip
    assert post("sendgrid", batch).status_code == 200
    assert kinds(site.delivery(0)) == [TRANSIENT] and site.status(0) == Status.SUBSCRIBED
    assert kinds(site.delivery(1)) == [HARD] and site.status(1) == Status.BOUNCED
    assert kinds(site.delivery(2)) == [COMPLAINT] and site.status(2) == Status.COMPLAINED
    assert kinds(site.delivery(3)) == [UNSUBSCRIBE] and site.status(3) == Status.UNSUBSCRIBED
    assert InboundMessage.objects.count() == 4  # processed, delivered and open are not ours to record
    assert post("sendgrid", batch).status_code == 200  # SendGrid retries a batch whole
    assert InboundMessage.objects.count() == 4 and Event.objects.count() == 4


def test_sendgrid_dropped_for_a_previous_bounce_is_hard(site):
    dropped = samples.sendgrid_event("dropped", site.email(2), site.message_id(2), "zmzJhfJgAfUSOW80yEbPyw==",
                                     reason="Bounced Address", status="5.0.0")  # fmt: skip
    post("sendgrid", [dropped])
    assert kinds(site.delivery(2)) == [HARD] and site.status(2) == Status.BOUNCED


# --- Brevo (formerly Sendinblue) --------------------------------------------------------------------------------------


def test_brevo_events(site):
    ids = [site.message_id(n, site.older) for n in range(4)]
    post("brevo", samples.brevo_event("hard_bounce", site.email(0), ids[0], reason="server relayed an error"))
    post("brevo", samples.brevo_event("soft_bounce", site.email(1), ids[1], reason="mailbox full"))
    post("brevo", samples.brevo_event("spam", site.email(2), ids[2]))
    post("brevo", samples.brevo_event("unsubscribed", site.email(3), ids[3]))
    older = [kinds(site.delivery(n, site.older)) for n in range(4)]
    assert older == [[HARD], [SOFT], [COMPLAINT], [UNSUBSCRIBE]]
    assert list(map(site.status, range(4))) == [Status.BOUNCED, Status.SUBSCRIBED, Status.COMPLAINED,
                                                Status.UNSUBSCRIBED]  # fmt: skip


def test_brevo_same_event_twice_is_taken_once(site):
    # Brevo's events carry no id of their own: the digest is of the event's fields.
    payload = samples.brevo_event("hard_bounce", site.email(0), site.message_id(0), reason="server relayed an error")
    assert post("brevo", payload).status_code == post("brevo", payload).status_code == 200
    assert InboundMessage.objects.count() == 1 and kinds(site.delivery(0)) == [HARD]


# --- Mailjet ------------------------------------------------------------------------------------------------------


def test_mailjet_events(site):
    post("mailjet", samples.mailjet_event("bounce", site.email(0), blocked=False, hard_bounce=True,
                                          error_related_to="recipient", error="user unknown"))  # fmt: skip
    post("mailjet", [samples.mailjet_event("spam", site.email(1), source="JMRPP"),
                     samples.mailjet_event("unsub", site.email(2), list_id=1, ip="127.0.0.1", geo="FR",
                                           agent="Mozilla/5.0 (Windows NT 6.1; WOW64; rv:21.0)")])  # fmt: skip
    post("mailjet", samples.mailjet_event("blocked", site.email(3), error_related_to="recipient",
                                          error="preblocked"))  # fmt: skip
    assert [kinds(site.delivery(n)) for n in range(4)] == [[HARD], [COMPLAINT], [UNSUBSCRIBE], [TRANSIENT]]
    assert list(map(site.status, range(4))) == [Status.BOUNCED, Status.COMPLAINED, Status.UNSUBSCRIBED,
                                                Status.SUBSCRIBED]  # fmt: skip


# --- Addresses we never mailed ------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["postmark", "sendgrid", "brevo", "amazon_ses"])
def test_event_about_an_address_never_mailed_is_recorded_and_changes_nothing(site, service):
    stranger = "nobody@elsewhere.example"
    if service == "postmark":
        response = post("postmark", samples.postmark_subscription_change(stranger))
    elif service == "sendgrid":
        response = post("sendgrid", [samples.sendgrid_event("bounce", stranger, "<abc@elsewhere.example>",
                                                            "sg-stranger", reason="550 no such user")])  # fmt: skip
    elif service == "brevo":
        response = post("brevo", samples.brevo_event("spam", stranger, "<x.y@relay.example>"))
    else:
        response = post_ses(samples.ses_complaint(stranger, "custom-message-ID"))
    assert response.status_code == 200
    [row] = received()
    assert row["delivery_id"] is None and row["recipients"] == stranger
    assert row["outcome"] in ("no delivery found", "no delivery found: nothing done")
    assert Event.objects.count() == 0
    assert set(Subscriber.objects.values_list("status", flat=True)) == {Status.SUBSCRIBED}


def test_forged_message_id_of_ours_finds_nothing_even_through_the_address(site):
    genuine = site.message_id(0)
    local, at, domain = genuine.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + at + domain  # same shape, signature broken
    post("sendgrid", [samples.sendgrid_event("spamreport", site.email(0), forged, "sg-forged")])
    assert site.status(0) == Status.SUBSCRIBED and Event.objects.count() == 0
    assert received()[0]["delivery_id"] is None


# --- The mapping alone (no HTTP, no database) ---------------------------------------------------------------------


def tracking_event(event_type, recipient="a@example.com", **fields):
    from anymail.signals import AnymailTrackingEvent

    return AnymailTrackingEvent(event_type=event_type, recipient=recipient, **fields)


@pytest.mark.parametrize(
    "event_type, fields, expected",
    [
        ("opened", {}, None),
        ("delivered", {"mta_response": "250 OK"}, None),
        ("deferred", {"mta_response": "421 4.7.0 try again later"}, "transient"),
        ("bounced", {"mta_response": "550 5.1.1 user unknown"}, "hard"),
        ("bounced", {"mta_response": "552 5.2.2 mailbox full"}, "soft"),
        ("bounced", {"mta_response": "554 5.7.1 rejected: listed at zen.spamhaus.org"}, "policy"),
        ("rejected", {"reject_reason": "invalid"}, "hard"),
        ("rejected", {"reject_reason": "bounced"}, "hard"),
        ("rejected", {"reject_reason": "spam"}, "complaint"),
        ("rejected", {"reject_reason": "unsubscribed"}, "unsubscribe"),
        ("rejected", {"reject_reason": "blocked"}, "transient"),  # a suppression list says nothing of the sender
        ("rejected", {"reject_reason": "other", "description": "blocked for spam content"}, "policy"),
        ("complained", {}, "complaint"),
        ("complained", {"description": "not-spam"}, None),
        ("unsubscribed", {}, "unsubscribe"),
    ],
)
def test_verdict_for_event(event_type, fields, expected):
    from wagtail_newsletter.deliverability.esp_events import verdict_for_event

    verdict = verdict_for_event(tracking_event(event_type, **fields), "SparkPost")
    assert (verdict.cls if verdict else None) == expected
    if verdict:
        assert verdict.recipients == ("a@example.com",) and verdict.kind == "esp-event"


def test_status_and_message_id_are_read_from_the_event():
    from wagtail_newsletter.deliverability.esp_events import verdict_for_event

    event = tracking_event("bounced", "A@Example.COM", mta_response="smtp; 550 5.1.1 <a@example.com>: no such user",
                           message_id="1234.abcd@mail.example.org")  # fmt: skip
    verdict = verdict_for_event(event, "Mailgun")
    assert (verdict.status, verdict.recipients) == ("5.1.1", ("a@example.com",))
    assert verdict.original_message_id == "<1234.abcd@mail.example.org>"
    ses_own_id = tracking_event("bounced", message_id="0100-ses-id")  # SES's id, not a Message-ID
    assert verdict_for_event(ses_own_id, "Amazon SES").original_message_id == ""


def test_digest_is_per_event_and_recipient():
    from wagtail_newsletter.deliverability.esp_events import event_digest

    one, other = (
        tracking_event("bounced", "a@x.example", event_id="sns-1"),
        tracking_event("bounced", "b@x.example", event_id="sns-1"),
    )
    assert event_digest(one, "Amazon SES") != event_digest(other, "Amazon SES")
    assert event_digest(one, "Amazon SES") == event_digest(tracking_event("bounced", "A@x.example", event_id="sns-1"),
                                                           "Amazon SES")  # fmt: skip
    no_id = tracking_event("bounced", esp_event={"event": "hard_bounce", "email": "a@x.example", "ts": 1})
    assert len(event_digest(no_id, "Brevo")) == 64


def test_the_app_runs_without_anymail():
    # anymail is an optional extra: with it absent, Django starts, the URLs load, and the mapping imports.
    code = (
        "import sys; sys.modules['anymail'] = None\n"
        "import django; django.setup()\n"
        "from wagtail_newsletter.deliverability import esp_events\n"
        "import example.urls\n"
        "print(any('anymail' in str(p.pattern) for p in example.urls.urlpatterns))\n"
    )
    root = settings.BASE_DIR.parent  # the checkout: the example site is its example_site/
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": f"{root}:{settings.BASE_DIR}"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
