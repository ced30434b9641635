"""Ways into the send wizard: "New campaign" on the listing (choose a newsletter), "Send…" in a newsletter's action
menu, and the live recipient count of step 1."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .campaign_forms import ChooseNewsletterForm, CountForm
from .compose_pages import NewsletterEditMenuItem
from .send_wizard import SendPermissionMixin, can_send, url


class ChooseNewsletterView(SendPermissionMixin, WagtailAdminTemplateMixin, FormView):
    """ "New campaign" on the listing: which newsletter to send; goes on to step 1."""

    template_name = "wagtail_newsletter/admin/send_wizard/choose.html"
    form_class = ChooseNewsletterForm
    header_icon = "mail"
    page_title = gettext_lazy("New campaign")

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": url("index"), "label": _("Campaigns")},
            {"url": "", "label": self.page_title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(action_url=self.request.path, submit_button_label=_("Next"))
        return context

    def form_valid(self, form):
        return redirect(url("send_new", form.cleaned_data["page"].pk))


class RecipientCountView(SendPermissionMixin, View):
    """JSON for the live count of step 1: ``{"count": n}``; the form re-counts on the server when submitted."""

    def get(self, request):
        form = CountForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"errors": form.errors}, status=400)
        return JsonResponse({"count": form.count()})


class SendMenuItem(NewsletterEditMenuItem):
    """ "Send…" in the action menu of a saved newsletter page, next to "Send test…", for users who may send."""

    label = gettext_lazy("Send…")
    name = "action-newsletter-send"
    icon_name = "mail"
    order = 905

    def is_shown(self, context):
        return can_send(context["request"].user) and super().is_shown(context)

    def get_url(self, parent_context):
        return url("send_new", parent_context["page"].pk)
