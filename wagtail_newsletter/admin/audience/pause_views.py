"""End a subscriber's pause from the admin: a button on the subscriber's edit view while they are paused, a
confirmation page (GET) and the POST that ends it (``audience.pause_clearing``), for users who may change
subscribers."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import BaseObjectMixin, WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import Button

from ...audience.models import Subscriber
from ...audience.pause_clearing import clear_pause
from ...audience.preferences import is_paused
from ..permissions import PolicyFromRegistryMixin, policy


class ClearPauseView(
    PolicyFromRegistryMixin, PermissionCheckedMixin, BaseObjectMixin, WagtailAdminTemplateMixin, TemplateView
):
    model = Subscriber
    permission_required = "change"
    template_name = "wagtail_newsletter/admin/clear_pause.html"
    page_title = _("End the pause")
    header_icon = "user"
    url_namespace = None  # the subscriber viewset's, set by ``pause_urls``

    def get_page_subtitle(self):
        return str(self.object)

    def edit_url(self):
        return reverse(f"{self.url_namespace}:edit", args=[self.object.pk])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        until = self.object.paused_until
        context.update(
            subscriber=self.object,
            paused=is_paused(self.object),
            until=formats.date_format(timezone.localtime(until), "DATETIME_FORMAT") if until else "",
            edit_url=self.edit_url(),
        )
        return context

    def post(self, request, *args, **kwargs):
        if clear_pause(self.object, request.user):
            messages.success(
                request, gettext("%(subscriber)s receives newsletters again.") % {"subscriber": self.object}
            )
        else:
            messages.warning(request, gettext("%(subscriber)s is not paused.") % {"subscriber": self.object})
        return redirect(self.edit_url())


def pause_urls(viewset):
    """For ``SubscriberViewSet.get_urlpatterns``."""
    view = ClearPauseView.as_view(url_namespace=viewset.url_namespace)
    return [path(f"clear-pause/<{viewset.pk_path_converter}:pk>/", view, name="clear_pause")]


def clear_pause_button(subscriber, user):
    """ "End the pause" for the edit view's header, when the subscriber is paused and ``user`` may change them."""
    if not is_paused(subscriber):
        return None
    if not policy(Subscriber).user_has_permission(user, "change"):
        return None
    url = reverse("wagtailsnippets_wagtail_newsletter_subscriber:clear_pause", args=[subscriber.pk])
    return Button(_("End the pause"), url=url, icon_name="resubmit", priority=4)
