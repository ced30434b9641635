"""Every link of every kind of mail survives the trip: sent through a real SMTP server (aiosmtpd), decoded with the
standard library, and compared with the newsletter's own link table (for tracked links, with where the click
redirect leads). One row per mail × click tracking × part × kind of link."""

import html as html_lib
import re

import pytest
from bs4 import BeautifulSoup
from django.test import Client
from django.utils.encoding import iri_to_uri

from wagtail_newsletter.audience.confirmation_email import confirmation_url
from wagtail_newsletter.audience.models import Consent, Status, Subscriber
from wagtail_newsletter.compose.compiled import compile_page
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.links import campaign_compiled
from wagtail_newsletter.send.test_send import send_test_task

from .compose_editor_fixtures import make_newsletter
from .signup_fixtures import subscribe_url, valid_post

pytestmark = pytest.mark.django_db

BASE = "http://testserver"  # the test settings' BASE_URL: links there get the UTM parameters (with "=" and "&")
# label -> href as written by the editor
LINKS = {
    "equals": f"{BASE}/offer?ref=spring",
    "ampersand": f"{BASE}/search?q=tea&page=2",
    "percent": f"{BASE}/caf%C3%A9/100%25",
    "non-ascii": f"{BASE}/été/thé?q=crème",
    "long": f"{BASE}/a/rather/long/path/to/the/spring/issue/of/our/newsletter?section=garden&year=2026&x=%20",
}
FOOTER = {"address": "1 Main St", "text": "", "unsubscribe_label": "", "web_version_label": ""}


def anchor(label):
    """The link as an editor's rich text has it; one link a mail, so no other link changes how this one is encoded."""
    return f'<p>Read <a href="{html_lib.escape(LINKS[label])}">{label}</a> today.</p>'


def body(label):
    return [{"type": "rich_text", "value": {"text": anchor(label)}}, {"type": "footer", "value": FOOTER}]

CONFIRM_BUTTON = "Confirm"

MAILS = [  # (mail, click tracking of the newsletter); a confirmation mail is never tracked
    ("test send", True),
    ("test send", False),
    ("campaign", True),
    ("campaign", False),
    ("confirmation", None),
]
PARTS = ("html", "text")
CASES = [(mail, tracking, part, label) for mail, tracking in MAILS for part in PARTS for label in LINKS]
CASES += [("confirmation", None, part, CONFIRM_BUTTON) for part in PARTS]  # the confirmation URL itself


def case_id(mail, tracking, part, label):
    tracked = {True: "-tracked", False: "-untracked", None: ""}[tracking]
    return f"{mail}{tracked}-{part}-{label}"


def hrefs(message, part, label):
    """The URLs the received message gives for the link labelled ``label`` (decoded by the standard library)."""
    content = message.get_body((part if part == "html" else "plain",)).get_content()
    if part == "html":
        soup = BeautifulSoup(content, "html.parser")
        return [anchor["href"] for anchor in soup.find_all("a", href=True) if anchor.get_text(strip=True) == label]
    separator = r": " if label == CONFIRM_BUTTON else r" \("
    return [url.rstrip(")") for url in re.findall(re.escape(label) + separator + r"(\S+)", content)]


def send_test(archive, smtp_server, tracking, label):
    page = make_newsletter(archive, body=body(label), tracking_enabled=tracking)
    send_test_task(page.latest_revision_id, ["qa@example.org"])
    table = compile_page(page.get_latest_revision()).links
    return smtp_server.wait_for(1)[0]["message"], {link.label: link.final_url for link in table}


def send_campaign(archive, smtp_server, tracking, label, capture):
    Subscriber.objects.create(email="reader@example.net", first_name="Ann", status=Status.SUBSCRIBED)
    campaign = campaigns.create_campaign(make_newsletter(archive, body=body(label), tracking_enabled=tracking))
    campaigns.set_audience(campaign, True)
    with capture(execute=True):
        campaigns.send_now(campaign)
    campaign.refresh_from_db()
    table = campaign_compiled(campaign).links
    return smtp_server.wait_for(1)[0]["message"], {link.label: link.final_url for link in table}


def send_confirmation(client, signup_snippet, smtp_server, label, capture):
    signup_snippet.email_body = "<p>Hello {{ first_name }},</p>" + (anchor(label) if label in LINKS else "")
    signup_snippet.email_button_label = CONFIRM_BUTTON
    signup_snippet.save()
    with capture(execute=True):
        client.post(subscribe_url(signup_snippet), valid_post(signup_snippet))
    consent = Consent.objects.get()
    return smtp_server.wait_for(1)[0]["message"], {**LINKS, CONFIRM_BUTTON: confirmation_url(consent)}


def landing(url):
    """Where a click on ``url`` leads: the click redirect's target for a tracked link, else the URL itself."""
    if not url.startswith(f"{BASE}/newsletter/c/"):
        return url
    response = Client().get(url.removeprefix(BASE))
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.parametrize(("mail", "tracking", "part", "label"), CASES, ids=[case_id(*case) for case in CASES])
def test_every_link_reaches_the_reader_as_in_the_link_table(
    mail, tracking, part, label, archive, client, signup_snippet, smtp_server, django_capture_on_commit_callbacks
):
    if mail == "test send":
        message, table = send_test(archive, smtp_server, tracking, label)
    elif mail == "campaign":
        message, table = send_campaign(archive, smtp_server, tracking, label, django_capture_on_commit_callbacks)
    else:
        capture = django_capture_on_commit_callbacks
        message, table = send_confirmation(client, signup_snippet, smtp_server, label, capture)
    expected = table[label]
    if label == "equals" and mail != "confirmation":
        assert "utm_source=newsletter" in expected  # the UTM parameters were added: a row with "=" and "&" indeed
    found = hrefs(message, part, label)
    assert found, f"no link labelled {label!r} in the {part} part"
    tracked = mail == "campaign" and tracking
    for url in found:
        assert url.startswith(f"{BASE}/newsletter/c/") == tracked
        # The redirect sends an IRI as a URI (non-ASCII characters %-encoded), as HTTP requires.
        assert landing(url) == (iri_to_uri(expected) if tracked else expected)
