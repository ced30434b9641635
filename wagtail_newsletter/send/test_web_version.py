"""The "View in your browser" link of a test mail: the tested revision as a web page, for a limited time.

A test often mails an unpublished draft, whose page URL answers 404. Its web-version link carries a signed token
instead — (revision id, day issued, subscriber id or none), HMAC-signed, so it can't be forged or pointed at another
revision — and shows that revision as the test mail showed it: with the same subscriber's data or sample data,
links untracked, unsubscribe inert. It expires after ``TEST_WEB_VERSION_DAYS``: a draft is not meant to stay public.
"""

import time

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods
from wagtail.models import Revision

from ..audience.models import Subscriber
from ..compose.compiled import compile_page
from ..compose.personalise import InertLinks, personalise, sample_recipient
from ..tokens import InvalidToken, LinkSigner
from .links import preferences_preview_url

TEST_WEB_VERSION_DAYS = 30


def issue_day():
    """Today as days since 1970: a token's date of issue."""
    return int(time.time() // 86400)


def web_version_of_test_url(base_url, revision_id, subscriber_id=None, day=None):
    """The absolute URL of the web version of a test of ``revision_id`` (rendered as ``subscriber_id``, or with
    sample data when None), issued ``day`` (days since 1970; today when None)."""
    token = LinkSigner("test_web").sign(revision_id, issue_day() if day is None else day, subscriber_id)
    return base_url.rstrip("/") + reverse("wagtail_newsletter:test_web_version", args=[token])


def read_web_version_of_test_token(token):
    """(revision id, subscriber id or None) of a valid, unexpired token; None otherwise."""
    try:
        numbers = LinkSigner("test_web").read_all(token)
    except InvalidToken:
        return None
    if len(numbers) < 2 or not 0 <= issue_day() - numbers[1] <= TEST_WEB_VERSION_DAYS:
        return None
    return numbers[0], numbers[2] if len(numbers) == 3 else None


def render_as_tested(revision, subscriber_id=None, web_url=None, content=None):
    """PersonalisedEmail of a test of ``revision``: compiled once, filled with the data of subscriber
    ``subscriber_id`` (sample data when None or deleted since), final URLs, nothing tracked, an unsubscribe link that
    unsubscribes nobody, and ``web_url`` (a new signed link to this web version when None) as its web version.
    ``content``: the revision's page object as a campaign compiles it (a translation's language), if not as saved."""
    compiled = compile_page(content if content is not None else revision)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first() if subscriber_id is not None else None
    recipient = subscriber or sample_recipient(compiled.language, compiled.base_url)
    if web_url is None:
        web_url = web_version_of_test_url(compiled.base_url, revision.pk, subscriber.pk if subscriber else None)
    # Its preference link opens a preview of the page that saves nothing: a test mail reaches editors, not subscribers.
    links = InertLinks(compiled.base_url, web_url, preferences_preview_url(compiled.base_url))
    return personalise(compiled, recipient, links=links)


@require_http_methods(["GET", "HEAD"])
def web_version_of_test(request, token):
    """The tested revision as a web page; 404 for a forged, altered or expired token or a deleted revision."""
    found = read_web_version_of_test_token(token)
    revision = Revision.objects.filter(pk=found[0]).first() if found else None
    if revision is None:
        raise Http404
    message = render_as_tested(revision, found[1], request.build_absolute_uri())
    response = HttpResponse(message.html, content_type="text/html; charset=utf-8")
    # A draft behind a secret URL: never cached or indexed, the URL not passed on; the email's HTML runs nothing.
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    response["Content-Security-Policy"] = "script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'"
    return response
