"""Conversions: a newsletter click that leads, within CONVERSION_DAYS, to a goal of the site (goals.py).

1. The click view (track) sends ``link_followed`` with its redirect. When the visitor consented (CONVERSION_CONSENT or
   CONVERSION_CONSENT_COOKIE), the hit is a person's (``agents.classify_agent``: no scanner, no HEAD) and the link
   leads to this site, ``remember_click`` puts the click's own signed token into a first-party cookie, itself signed
   with a timestamp (Django's signed cookies), HttpOnly, SameSite=Lax, for CONVERSION_DAYS.
2. Wagtail's ``before_serve_page`` hook calls ``page_served``: a request with that cookie, to a page that is a goal,
   records the conversion (a visit: on GET; a form: when the form page saves its submission during that request).
3. ``record_conversion`` checks the cookie's signature and age and the click token's HMAC, then writes one row per
   delivery and goal (a second visit changes nothing), attributed to the token's campaign and link. A forged,
   altered or expired cookie, or no consent, records nothing.

A request without the cookie costs one dictionary lookup; goals are read only for visitors who carry one.
"""

import contextvars
from datetime import timedelta
from urllib.parse import urlsplit

from django.core import signing
from django.utils import timezone
from django.utils.module_loading import import_string

from ..conf import newsletter_settings
from ..send.models import Delivery
from ..tokens import InvalidToken, LinkSigner
from ..track.agents import classify_agent
from ..track.models import Agent
from .goals import Conversion, Goal

COOKIE_SALT = "wagtail_newsletter.conversion"
REFUSED = {"", "0", "false", "no", "deny", "denied", "reject", "rejected", "off"}
# The form goals of the page being served in this request, until its submission is saved (see form_submitted).
_pending_form = contextvars.ContextVar("wagtail_newsletter_pending_form_goal", default=None)


def consent_given(request):
    """Whether the site says this visitor agreed to the conversion cookie (neither setting: never)."""
    settings = newsletter_settings
    check = settings.CONVERSION_CONSENT
    if check is not None:
        if isinstance(check, str):
            check = import_string(check)
        return bool(check(request))
    name = settings.CONVERSION_CONSENT_COOKIE
    if name:
        return request.COOKIES.get(name, "").strip().lower() not in REFUSED
    return False


def _is_this_site(url, request):
    host = (urlsplit(url).hostname or "").lower()
    if not host:
        return False
    if host == request.get_host().rsplit(":", 1)[0].lower():
        return True
    from wagtail.models import Site

    return any(host == (urlsplit(root.root_url).hostname or "").lower() for root in Site.get_site_root_paths())


def remember_click(sender, request, response, token, url, **kwargs):
    """``track.signals.link_followed`` receiver: the conversion cookie on a person's click, with their consent."""
    if not consent_given(request):
        return
    meta = request.META
    agent = classify_agent(meta.get("HTTP_USER_AGENT", ""), request.method, meta.get("REMOTE_ADDR", ""))
    if agent != Agent.BROWSER or not _is_this_site(url, request):
        return
    response.set_signed_cookie(
        newsletter_settings.CONVERSION_COOKIE_NAME,
        token,
        salt=COOKIE_SALT,
        max_age=int(_window().total_seconds()),
        path="/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )


def _window():
    return timedelta(days=newsletter_settings.CONVERSION_DAYS)


def click_of(request):
    """(delivery id, link index, campaign id) of the click the visitor's cookie carries, or None (no cookie, forged,
    altered, expired, a token that is not a click's)."""
    try:
        token = request.get_signed_cookie(
            newsletter_settings.CONVERSION_COOKIE_NAME, salt=COOKIE_SALT, max_age=_window()
        )
    except (KeyError, signing.BadSignature):  # SignatureExpired is a BadSignature
        return None
    try:
        numbers = LinkSigner("click").read_all(token)
    except InvalidToken:
        return None
    return tuple(numbers) if len(numbers) == 3 else None


def record_conversion(request, goal, now=None):
    """Record that the visitor of ``request`` reached ``goal``; the Conversion, or None when nothing was recorded
    (no valid cookie, no consent, unknown delivery, or already converted: one per delivery and goal)."""
    if not goal.active or not consent_given(request):
        return None
    click = click_of(request)
    if click is None:
        return None
    delivery_id, link, campaign_id = click
    if not Delivery.objects.filter(pk=delivery_id, campaign_id=campaign_id).exists():
        return None
    if Conversion.objects.filter(delivery_id=delivery_id, goal=goal).exists():
        return None
    conversion = Conversion(
        delivery_id=delivery_id, campaign_id=campaign_id, goal=goal, link=link, at=now or timezone.now()
    )
    # The unique (delivery, goal) constraint settles two visits at the same instant: one row.
    Conversion.objects.bulk_create([conversion], ignore_conflicts=True)
    return conversion


def page_served(page, request, serve_args, serve_kwargs):
    """Wagtail's ``before_serve_page`` hook: never changes the response (returns None)."""
    if newsletter_settings.CONVERSION_COOKIE_NAME not in request.COOKIES:
        return None
    goals = list(Goal.objects.filter(page_id=page.pk, active=True))
    if request.method == "GET":
        for goal in goals:
            if goal.trigger == Goal.VISIT:
                record_conversion(request, goal)
    elif request.method == "POST":
        forms = [goal for goal in goals if goal.trigger == Goal.FORM]
        _pending_form.set((request, page.pk, forms) if forms else None)
    return None


def form_submitted(sender, instance, created, **kwargs):
    """``post_save`` of a form page's submission: a form goal of the page served in this request converts."""
    pending = _pending_form.get()
    if not created or pending is None:
        return
    request, page_id, goals = pending
    if getattr(instance, "page_id", None) != page_id:
        return
    _pending_form.set(None)
    for goal in goals:
        record_conversion(request, goal)


def request_done(sender, **kwargs):
    """``request_started``/``request_finished``: a pending form goal never outlives its request."""
    _pending_form.set(None)


def connect():
    """Wire the hooks tracking and Django offer (called by ``AppConfig.ready``)."""
    from django.core.signals import request_finished, request_started
    from django.db.models.signals import post_save

    from ..track.signals import link_followed

    link_followed.connect(remember_click, dispatch_uid="wagtail_newsletter.conversions.remember_click")
    request_started.connect(request_done, dispatch_uid="wagtail_newsletter.conversions.request_started")
    request_finished.connect(request_done, dispatch_uid="wagtail_newsletter.conversions.request_finished")
    # Any model: a form page's submission class may be the project's own (``get_submission_class``).
    post_save.connect(form_submitted, dispatch_uid="wagtail_newsletter.conversions.form_submitted")
