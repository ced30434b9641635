"""Public double opt-in views (thin: parsing and rendering; logic in ``optin`` and ``abuse``).

Every answer to a sign-up is the same whether the address is new, pending or subscribed
already, so nobody learns who is on the list.
"""

import contextlib
import dataclasses
import enum

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from ..conf import newsletter_settings
from ..tokens import InvalidToken
from . import abuse
from .confirmation_email import consent_language
from .models import Status
from .optin import ConfirmResult, confirm_subscription, consent_from_token, submit_subscription
from .signup_form import SignupForm
from .subscription_form import SubscriptionForm


def _redirect_303(url):
    # 303 See Other: the browser follows with a GET, so a reload never re-posts.
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _page(request, template, context=None, status=200):
    context = {"base_template": newsletter_settings.BASE_TEMPLATE, **(context or {})}
    return render(request, f"wagtail_newsletter/public/{template}", context, status=status)


def _message(request, title, message, status, snippet=None):
    return _page(request, "message.html", {"title": title, "message": message, "snippet": snippet}, status=status)


def rate_limited_message():
    """(title, text) of the answer to a sign-up over a rate limit."""
    return (
        _("Too many attempts"),
        _("We received too many sign-ups from you in a short time. Please wait a while and try again."),
    )


def too_large_message():
    """(title, text) of the answer to an oversized sign-up."""
    return _("Request too large"), _("The form you sent is too large.")


def _rate_limited(request, snippet, period):
    response = _message(request, *rate_limited_message(), status=429, snippet=snippet)
    response["Retry-After"] = str(period)
    return response


def _after_submit(request, snippet):
    """The one answer to every accepted-looking sign-up (new, known, or a bot's)."""
    page_url = snippet.success_page.get_url(request) if snippet.success_page_id and snippet.success_page else None
    if page_url:  # None when the page is not routable (e.g. unpublished)
        return _redirect_303(page_url)
    return _redirect_303(reverse("wagtail_newsletter:subscribe_done", args=[snippet.pk]))


def _render_form(request, snippet, form, status=200):
    return _page(request, "subscribe.html", {"snippet": snippet, "signup_form": form}, status=status)


def _language_of_request(values):
    """Remember the language the person browsed in when the form did not ask for one."""
    offered = {code for code, _name in settings.LANGUAGES}
    current = (translation.get_language() or "").split("-")[0]
    if not values.get("language") and current in offered:
        values["language"] = current
    return values


class SignupOutcome(enum.Enum):
    """What ``process_signup`` made of a POSTed sign-up."""

    ACCEPTED = "accepted"  # recorded, or a bot's that looks recorded: give the one success answer
    INVALID = "invalid"  # re-render ``form``, which carries the errors (400)
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"  # try again after ``retry_after`` seconds


@dataclasses.dataclass
class SignupResult:
    outcome: SignupOutcome
    form: SignupForm | None = None
    retry_after: int = 0


def process_signup(request, snippet):
    """Check a POSTed sign-up of ``snippet`` and record it when every check passes.

    In: the request (POST data, REMOTE_ADDR, CONTENT_LENGTH). Out: a ``SignupResult``. The one
    pipeline of every public form, on the site and embedded elsewhere: body size, rate limit per
    IP, honeypot, render stamp (fill time, age, form id), field validation, rate limit per
    address, then ``submit_subscription``. New and known addresses give the same outcome.
    """
    if abuse.body_too_large(request.META.get("CONTENT_LENGTH")):
        return SignupResult(SignupOutcome.TOO_LARGE)
    if not abuse.allow_ip(request.META.get("REMOTE_ADDR", "")):
        return SignupResult(SignupOutcome.RATE_LIMITED, retry_after=newsletter_settings.RATE_LIMIT_PER_IP[1])
    form = SignupForm(snippet, data=request.POST)
    if abuse.honeypot_filled(form.honeypot_value()):
        return SignupResult(SignupOutcome.ACCEPTED)  # a bot: answer like a success, write and send nothing
    timing = abuse.check_render_stamp(form.stamp_value(), snippet.pk)
    if timing != abuse.FormTiming.OK:
        form.is_valid()  # show the other errors at the same time
        if timing == abuse.FormTiming.TOO_FAST:
            form.add_error(None, _("That was quick! Please check your details and send the form again."))
        else:
            form.add_error(None, _("This form has expired. Please check your details and send it again."))
        form.refresh_stamp()
        return SignupResult(SignupOutcome.INVALID, form=form)
    if not form.is_valid():
        return SignupResult(SignupOutcome.INVALID, form=form)
    email, values = form.subscription_values()
    if not abuse.allow_email(email):
        return SignupResult(SignupOutcome.RATE_LIMITED, retry_after=newsletter_settings.RATE_LIMIT_PER_EMAIL[1])
    submit_subscription(snippet, email, _language_of_request(values), ip=request.META.get("REMOTE_ADDR", ""))
    return SignupResult(SignupOutcome.ACCEPTED)


@require_http_methods(["GET", "POST"])
def subscribe(request, form_id):
    """GET: the form on a page of its own. POST: validate and record a sign-up, or say what is wrong."""
    snippet = get_object_or_404(SubscriptionForm, pk=form_id)
    if request.method == "GET":
        return _render_form(request, snippet, SignupForm(snippet))
    result = process_signup(request, snippet)
    if result.outcome == SignupOutcome.ACCEPTED:
        return _after_submit(request, snippet)
    if result.outcome == SignupOutcome.INVALID:
        return _render_form(request, snippet, result.form, status=400)
    if result.outcome == SignupOutcome.RATE_LIMITED:
        return _rate_limited(request, snippet, result.retry_after)
    return _message(request, *too_large_message(), 413, snippet)


@require_GET
def subscribe_done(request, form_id):
    """ "Check your inbox": the form's text shown after submitting."""
    snippet = get_object_or_404(SubscriptionForm, pk=form_id)
    return _page(request, "subscribed.html", {"snippet": snippet})


def _invalid_link(request):
    return _message(
        request,
        _("Link invalid or expired"),
        _(
            "This link is invalid or has expired. Confirmation links work for a limited time: "
            "please subscribe again to receive a new one."
        ),
        status=404,
    )


def _after_confirm(request, consent):
    if consent.subscriber.status != Status.SUBSCRIBED:
        # Confirmed earlier, then unsubscribed (or bounced): an old link must not claim otherwise.
        return _message(
            request,
            _("Subscription confirmed earlier"),
            _(
                "This subscription was confirmed earlier and is no longer active. "
                "To subscribe again, please fill in the subscription form once more."
            ),
            status=200,
            snippet=consent.form,
        )
    form = consent.form
    page_url = form.confirmed_page.get_url(request) if form and form.confirmed_page_id and form.confirmed_page else None
    if page_url:
        return _redirect_303(page_url)
    return _page(request, "confirmed.html", {"snippet": form})


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET: a page whose one button confirms. POST: confirm. A GET alone never confirms, so mail
    scanners that open every link can't subscribe anybody."""
    try:
        consent = consent_from_token(token)
    except InvalidToken:
        return _invalid_link(request)
    if consent.subscriber_id is None:  # erased since
        return _invalid_link(request)
    language = consent_language(consent)
    with translation.override(language) if language else contextlib.nullcontext():
        if request.method == "POST":
            if confirm_subscription(consent.pk) == ConfirmResult.GONE:
                return _invalid_link(request)
            consent.subscriber.refresh_from_db(fields=["status"])
            return _after_confirm(request, consent)
        if consent.confirmed_at is not None:
            return _after_confirm(request, consent)
        return _page(request, "confirm.html", {"snippet": consent.form, "token": token})
