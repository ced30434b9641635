"""Ways into the send wizard: "New campaign" on the listing (choose a newsletter), "Send…" in a newsletter's action
menu, a follow-up of a campaign that has started (from its report), and the live recipient count of step 1."""

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...growth import follow_ups
from ...send.models import Campaign, FollowUp
from ...track import aggregate
from ..compose.pages import NewsletterEditMenuItem
from ..permissions import can_send
from .campaign_forms import ChooseNewsletterForm, CountForm
from .wizard import SendPermissionMixin, campaign_breadcrumbs, url


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


class FollowUpView(SendPermissionMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: what a follow-up of the campaign would be (audience, count now); POST: create it as a draft and go on
    to the send wizard (the normal four steps, with the follow-up's audience at step 1)."""

    template_name = "wagtail_newsletter/admin/send_wizard/follow_up.html"
    header_icon = "mail"
    page_title = gettext_lazy("Follow-up campaign")

    def dispatch(self, request, pk, kind):
        if kind not in FollowUp.values:
            raise Http404
        self.campaign = get_object_or_404(Campaign, pk=pk)
        self.kind = kind
        aggregate.refresh()  # who opened or clicked so far: fold the latest events first (bounded)
        return super().dispatch(request, pk, kind)

    def get_page_subtitle(self):
        return self.campaign.name

    def get_breadcrumbs_items(self):
        return campaign_breadcrumbs(self, self.campaign, FollowUp(self.kind).label)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        available = self.kind in follow_ups.available_kinds(self.campaign)
        context.update(
            campaign=self.campaign,
            available=available,
            audience=follow_ups.describe_kind(self.campaign, self.kind),
            count=follow_ups.preview_recipients(self.campaign, self.kind).count() if available else 0,
            back_url=url("detail", self.campaign.pk),
        )
        return context

    def post(self, request, pk, kind):
        if self.kind not in follow_ups.available_kinds(self.campaign):
            messages.error(request, _("This follow-up is not available for this campaign."))
            return redirect(url("detail", self.campaign.pk))
        try:
            draft = follow_ups.create_follow_up(self.campaign, self.kind, request.user)
        except follow_ups.FollowUpError as error:
            messages.error(request, str(error))
            return redirect(url("detail", self.campaign.pk))
        return redirect(url("send_recipients", draft.pk))
