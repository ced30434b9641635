"""Gapless DKIM key rotation on the sender domain's page: start it (a next key under a new selector, whose record
is shown to publish while the current key keeps signing), complete it once DNS publishes that record, or cancel it.
The buttons POST here; the work is ``api.dkim``'s (the same as ``manage.py newsletter_dkim``)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.views import View
from wagtail.admin.views.generic.base import BaseObjectMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin

from ... import api
from ...send.models import SenderDomain

ACTIONS = ("rotate", "complete", "force", "cancel")
VIEW_NAME = "dkim_rotation"


def rotation_context(instance, viewset_name):
    """What the DNS record panel shows of a rotation: the next key's record, the previous selector, the buttons."""
    urls = {action: reverse(f"{viewset_name}:{VIEW_NAME}", args=[instance.pk, action]) for action in ACTIONS}
    try:
        keys = api.dkim_keys(instance.domain)
    except api.NewsletterError:  # a row the API cannot name (stored before domains were checked): no buttons
        return {}
    removable = keys.previous_removable_after
    return {
        "pending": keys.pending,
        "previous_selector": keys.previous_selector,
        "previous_removable_after": date_format(timezone.localtime(removable), "DATE_FORMAT") if removable else "",
        "previous_removable_now": bool(removable and removable <= timezone.now()),
        "rotation_urls": urls,
    }


class DkimRotationView(PermissionCheckedMixin, BaseObjectMixin, View):
    """POST ``…/dkim-rotation/<pk>/<action>/``: rotate, complete (after the DNS lookup), force, cancel; then back
    to the domain's page with what happened, or why nothing did."""

    model = SenderDomain
    permission_required = "change"
    http_method_names = ["post"]
    viewset_name = "newsletter_sender_domains"  # SenderDomainViewSet.name (that module imports this one)

    def post(self, request, *args, action, **kwargs):
        if action not in ACTIONS:
            raise Http404
        domain, user = self.object.domain, request.user
        params = {"domain": domain}
        try:
            if action == "rotate":
                key = api.rotate_dkim_key(domain, user=user)
                message = gettext("Key rotation started for %(domain)s: publish the new record shown below, under "
                                  "the selector %(selector)s, then complete the rotation. The current key keeps "
                                  "signing until then.") % {**params, "selector": key.selector}  # fmt: skip
            elif action in ("complete", "force"):
                key = api.complete_dkim_rotation(domain, force=action == "force", user=user)
                previous = api.dkim_keys(domain).previous_selector
                message = gettext("%(domain)s now signs with the selector %(selector)s. Keep the record of "
                                  "%(previous)s published for about a week, for mail still on its way, then "
                                  "remove it.") % dict(params, selector=key.selector, previous=previous)  # fmt: skip
            else:
                api.cancel_dkim_rotation(domain, user=user)
                message = gettext("Key rotation cancelled: %(domain)s keeps its current key.") % params
        except api.NewsletterError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, message)
        return redirect(reverse(f"{self.viewset_name}:edit", args=[self.object.pk]))
