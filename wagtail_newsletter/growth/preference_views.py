"""The preference page's view (thin: the logic is in ``preference_centre`` and ``audience.preferences``).

GET shows; it never changes anything (link scanners open every link). Each form POSTs with Django's CSRF token and,
when it worked, is redirected (303) to the page again with a note of what was done. The page is the template
``wagtail_newsletter/public/preferences.html``, extending ``BASE_TEMPLATE``: a site overrides either.
"""

import contextlib

from django.http import HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import render
from django.utils import formats, timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from ..audience import preferences
from ..conf import newsletter_settings
from ..track.unsubscribe import delivery_language, mask_email
from . import preference_centre as centre
from .preference_forms import PauseForm, PreferencesForm, UnsubscribeForm

DONE = {
    "saved": lambda visit: _("Your preferences are saved."),
    "unchanged": lambda visit: _("Nothing needed changing: your preferences are as you chose."),
    "paused": lambda visit: (
        _("Your newsletters are paused until %(date)s. They will start again by themselves.")
        % {"date": formats.date_format(timezone.localtime(visit.subscriber.paused_until), "DATE_FORMAT")}
        if visit.subscriber.paused_until
        else ""
    ),
    "resumed": lambda visit: _("Your pause has ended: you will receive our next newsletters."),
    "unsubscribed": lambda visit: _("You are unsubscribed. Thank you for having read us."),
}


def _render(request, template, context, status=200):
    context = {"base_template": newsletter_settings.BASE_TEMPLATE, **context}
    response = render(request, f"wagtail_newsletter/public/{template}", context, status=status)
    response["Content-Language"] = translation.get_language()
    # A personal page behind a secret URL: never cached by proxies, never indexed, the URL not passed to other sites
    # ("same-origin", not "no-referrer": browsers then send "Origin: null" with the forms, which CSRF refuses).
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "same-origin"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def preferences_page(request, token):
    visit = centre.read_link(token)
    if visit.problem:
        title, message = centre.problem_text(visit.problem)
        return _render(request, "message.html", {"title": title, "message": message}, status=404)
    language = delivery_language(visit.delivery) if visit.delivery is not None else None
    with translation.override(language) if language else contextlib.nullcontext():
        return _answer(request, visit)


def _forms(visit, data=None, action=None):
    """The page's three forms, the one ``action`` names bound to ``data``."""
    groups, fields = preferences.public_groups(), preferences.editable_fields()
    return {
        "form": PreferencesForm(visit.subscriber, groups, fields, data=data if action == "save" else None),
        "pause_form": PauseForm(data=data if action == "pause" else None),
        "unsubscribe_form": UnsubscribeForm(data=data if action == "unsubscribe" else None),
    }


def _answer(request, visit):
    notice = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in centre.ACTIONS:
            return HttpResponseBadRequest(_("Unknown action."))
        if visit.preview:
            notice = _("This is a preview from a test email: nothing was saved.")
        elif centre.can_change(visit):
            forms = _forms(visit, request.POST, action)
            done = _apply(visit, action, forms)
            if done:
                return HttpResponseRedirect(f"{request.path}?done={done}", status=303)
            return _page(request, visit, forms, notice)
    elif not visit.preview and request.GET.get("done") in DONE:
        notice = DONE[request.GET["done"]](visit)
    return _page(request, visit, _forms(visit), notice)


def _apply(visit, action, forms):
    """Carry out ``action`` when its form is valid; the ``done`` note to show, or "" (errors on the form)."""
    if action == "save":
        form = forms["form"]
        if form.is_valid():
            return "saved" if centre.save(visit, form) else "unchanged"
    elif action == "pause":
        if forms["pause_form"].is_valid():
            centre.pause(visit, forms["pause_form"].cleaned_data["months"])
            return "paused"
    elif action == "resume":
        centre.resume(visit)
        return "resumed"
    elif action == "unsubscribe":
        form = forms["unsubscribe_form"]
        if form.is_valid():
            centre.unsubscribe(visit, form.cleaned_data["reason"], form.cleaned_data["reason_text"])
            return "unsubscribed"
    return ""


def _page(request, visit, forms, notice):
    subscriber = visit.subscriber
    paused = subscriber is not None and preferences.is_paused(subscriber)
    context = {
        **forms,
        "preview": visit.preview,
        "notice": notice,
        "masked_email": mask_email(subscriber.email) if subscriber else "ann•••e@e•••.org",
        "can_change": visit.preview or centre.can_change(visit),
        "status": subscriber.status if subscriber else "",
        "paused_until": subscriber.paused_until if paused else None,
        "has_topics": bool(forms["form"].groups),
        "has_fields": bool(forms["form"].custom),
    }
    return _render(request, "preferences.html", context, status=400 if forms_have_errors(forms) else 200)


def forms_have_errors(forms):
    return any(form.is_bound and form.errors for form in forms.values())
