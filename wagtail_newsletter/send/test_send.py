"""Test sends: a page's latest revision mailed to a few addresses, clearly marked and with inert links.

The admin view validates the addresses and enqueues :func:`send_test_task`; the task compiles the revision once,
personalises it once (with a chosen subscriber's data or sample data, nothing tracked, unsubscribe inert, the web
version a signed link to this revision: see ``test_web_version``) and sends one message per address through the
campaigns' pipeline.
"""

import logging
import re

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..audience.fields import InvalidValue, normalise_email
from ..mail_text import one_line
from .outgoing import Sender, sender_of
from .sender_domains import sender_domain_problem
from .test_web_version import render_as_tested

logger = logging.getLogger(__name__)

MAX_TEST_ADDRESSES = 10
SUBJECT_PREFIX = "[TEST] "
TEST_HEADER = "X-Newsletter-Test"
_SEPARATORS = re.compile(r"[,;\s]+")


def parse_test_addresses(raw):
    """Addresses typed by an editor (comma, semicolon or newline separated) -> normalised, de-duplicated list.

    Raises ``InvalidValue`` naming every invalid address, or when there are none or more than
    ``MAX_TEST_ADDRESSES``.
    """
    addresses, invalid = [], []
    for part in _SEPARATORS.split(raw or ""):
        if not part:
            continue
        try:
            # The editor's own address may be a local account's (admin@example.test): the relay decides.
            address = normalise_email(part, reserved_domains=True)
        except InvalidValue:
            invalid.append(part)
            continue
        if address not in addresses:
            addresses.append(address)
    if invalid:
        raise InvalidValue(
            ngettext(
                "This is not a valid email address: %(addresses)s",
                "These are not valid email addresses: %(addresses)s",
                len(invalid),
            )
            % {"addresses": ", ".join(invalid)}
        )
    if not addresses:
        raise InvalidValue(_("Enter at least one email address."))
    if len(addresses) > MAX_TEST_ADDRESSES:
        raise InvalidValue(
            _("A test goes to at most %(max)d addresses; you entered %(count)d.")
            % {"max": MAX_TEST_ADDRESSES, "count": len(addresses)}
        )
    return addresses


def sender_problems(page):
    """What keeps ``page`` (a NewsletterPage as its latest revision has it) from being test-sent, for people."""
    problems = []
    if not one_line(page.subject):
        problems.append(_("The newsletter has no subject: fill it in on the “Email” tab and save a draft."))
    sender = sender_address(page)
    if not sender:
        problems.append(_("The newsletter has no sender address: fill it in on the “Email” tab and save a draft."))
    elif refusal := sender_domain_problem(sender[1]):
        problems.append(refusal)
    return problems


def sender_address(page):
    """(name, address) of the sender: the page's, else the site's default sender (as the page's help text says)."""
    name, address = sender_of(page.sender_name, page.sender_email)
    return (name, address) if address else None


def test_sender(page):
    """The page's sender, on the campaigns' pipeline (same skeleton, DKIM key and transport), marked as a test."""
    name, address = sender_address(page)
    return Sender(
        name,
        address,
        reply_to=one_line(getattr(page, "reply_to", "")),
        extra_headers=((TEST_HEADER, "1"), ("Auto-Submitted", "auto-generated")),
        list_id="",
    )


def send_test_task(revision_id, addresses, subscriber_id=None, user_id=None, language=""):
    """django-q2 task: compile revision ``revision_id`` once and mail it to ``addresses`` as a test.

    ``language``: the language a campaign sends this revision in, when it differs from the revision's own field (a
    translation whose field was copied unchanged: see ``translations.translation_content``).
    Returns the number of messages the email backend accepted (0 when the revision is gone).
    """
    from wagtail.models import Revision

    revision = Revision.objects.filter(pk=revision_id).first()
    if revision is None:
        return 0
    page = revision.as_object()
    if language:
        page.language = language
    # Its "View in your browser" link opens this revision, a draft too, through a signed link.
    personalised = render_as_tested(revision, subscriber_id, content=page)
    sender = test_sender(page)
    subject = SUBJECT_PREFIX + one_line(personalised.subject)
    for address in addresses:
        sender.send_single(address, subject, personalised.html, personalised.text)
    sent = len(addresses)
    logger.info("Test of page %s (revision %s) sent to %d address(es) by user %s", page.pk, revision_id, sent, user_id)
    return sent
