"""The double opt-in confirmation email and the manager's notification, built from the form's texts.

Builders return unsent ``EmailMultiAlternatives``; the tasks in ``tasks.py`` send them.
"""

import math
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.models import Site
from wagtail.rich_text import expand_db_html

from ..conf import newsletter_settings
from ..mail_text import date_header, fill_tags, html_to_text, one_line, prepare_for_text
from .optin import confirmation_token
from .subscription_form import SubscriptionForm


def site_base_url():
    """``BASE_URL`` or the default Wagtail site's root URL, without a trailing slash."""
    base = newsletter_settings.BASE_URL
    if not base:
        site = Site.objects.filter(is_default_site=True).first()
        base = site.root_url if site else ""
    return base.rstrip("/")


def confirmation_url(consent):
    """The absolute URL of the confirmation page of ``consent``."""
    return site_base_url() + reverse("wagtail_newsletter:confirm", args=[confirmation_token(consent)])


def consent_language(consent):
    """The language to talk to the person of ``consent`` in, when known and offered by the site."""
    offered = {code for code, _name in settings.LANGUAGES}
    subscriber = consent.subscriber
    for code in ((consent.data or {}).get("language"), subscriber.language if subscriber else ""):
        if code and code in offered:
            return code
    return None


def expiry_text():
    seconds = newsletter_settings.CONFIRMATION_MAX_AGE
    if seconds >= 86400:
        days = math.ceil(seconds / 86400)
        return ngettext("This link expires in %(count)d day.", "This link expires in %(count)d days.", days) % {
            "count": days
        }
    hours = max(1, math.ceil(seconds / 3600))
    return ngettext("This link expires in %(count)d hour.", "This link expires in %(count)d hours.", hours) % {
        "count": hours
    }


def absolute_links(html, base):
    """Rich text links to the site's pages are relative ("/about/"): mail clients need absolute ones."""
    soup = BeautifulSoup(html, "html.parser")
    for anchor in soup.find_all("a", href=True):
        if anchor["href"].startswith("/"):
            anchor["href"] = urljoin(base + "/", anchor["href"])
    return str(soup)


def body_text(body_html):
    """The plain text of the mail's body (the editor's rich text): link targets written out, as newsletters do."""
    soup = BeautifulSoup(body_html, "html.parser")
    prepare_for_text(soup)
    return html_to_text(str(soup)).strip()


def _values(consent):
    subscriber = consent.subscriber
    data = consent.data or {}
    return {
        "first_name": data.get("first_name") or (subscriber.first_name if subscriber else ""),
        "email": subscriber.email if subscriber else data.get("email", ""),
    }


def build_confirmation_email(consent):
    """The confirmation email of ``consent`` (with its form and subscriber loaded; without a form — a sign-up through
    the Python API — the default texts of a new form)."""
    form = consent.form or SubscriptionForm()
    base = site_base_url()
    values = _values(consent)
    # {{ first_name }} or {{ first_name|default:"there" }} and {{ email }}, written by the editor in the form's texts.
    body_html = fill_tags(absolute_links(expand_db_html(str(form.email_body)), base), values, in_html=True)
    subject = one_line(fill_tags(str(form.email_subject), values))
    context = {
        "form": form,
        "subject": subject,
        "body_html": mark_safe(body_html),  # noqa: S308 - editor's rich text with escaped variable values
        "body_text": body_text(body_html),
        "confirm_url": confirmation_url(consent),
        "button_label": str(form.email_button_label) or _("Confirm"),
        "expiry_text": expiry_text(),
    }
    message = EmailMultiAlternatives(
        subject=subject or _("Please confirm your subscription"),
        body=render_to_string("wagtail_newsletter/emails/confirmation.txt", context),
        from_email=one_line(form.email_from) or newsletter_settings.DEFAULT_FROM_EMAIL,
        to=[consent.subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("wagtail_newsletter/emails/confirmation.html", context), "text/html")
    return message


def build_manager_notification(consent):
    """The email telling the form's ``notify_email`` that someone confirmed through the form."""
    form = consent.form
    data = consent.data or {}
    details = [(key, value) for key, value in data.items() if key != "email" and value not in (None, "")]
    context = {
        "form": form,
        "consent": consent,
        "email": consent.subscriber.email,
        "details": details,
        "admin_base_url": site_base_url(),
    }
    message = EmailMultiAlternatives(
        subject=_("New subscriber through “%(form)s”: %(email)s")
        % {
            "form": one_line(form.name),
            "email": consent.subscriber.email,
        },  # fmt: skip
        body=render_to_string("wagtail_newsletter/emails/manager_notification.txt", context),
        from_email=newsletter_settings.DEFAULT_FROM_EMAIL,
        to=[form.notify_email],
        # Django would write UTC's "-0000" (EMAIL_USE_LOCALTIME is off by default): the site's zone, as every mail.
        headers={"Auto-Submitted": "auto-generated", "Date": date_header()},
    )
    return message
