"""Campaigns in the admin: the listing, a campaign's page with its live progress, pause / resume / cancel.

A campaign is never edited through a form: the send wizard (``send_wizard``) prepares drafts, and the actions of
``send.campaigns`` change the state of the others. Everything here stays thin and calls those functions.
"""

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils import formats
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn
from wagtail.admin.views.generic import DeleteView, IndexView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from ...growth import follow_ups
from ...send import campaigns as lifecycle
from ...send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from ...send.outgoing import sender_of
from ..permissions import CAMPAIGN_VIEW_ACTIONS, can_send, may_view_campaigns
from . import entry, wizard
from .languages import LanguagePreviewView
from .pauses import guard_pause
from .sender_domain_dns import campaign_sender_alert
from .wizard import SendPermissionMixin, url


def audience_description(campaign):
    """ "All subscribers", "Members of A, B", each followed by "except members of C" when some are excluded; a
    follow-up's own audience ("Recipients of “Spring” who did not open it…")."""
    if campaign.follow_up:
        return follow_ups.describe(campaign)
    included = ", ".join(group.name for group in campaign.include_groups.all())
    excluded = ", ".join(group.name for group in campaign.exclude_groups.all())
    text = _("All subscribers") if campaign.all_subscribers else _("Members of %(groups)s") % {"groups": included}
    if excluded:
        text = _("%(audience)s, except members of %(groups)s") % {"audience": text, "groups": excluded}
    return text


def format_duration(seconds):
    """h:mm:ss, the same in every language (campaign_progress.js formats it the same way)."""
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def rate_text(rate):
    return _("%(rate)s messages per minute") % {"rate": rate}


def progress_context(progress):
    """The progress dict and what the template shows of it: bar segments, rate and time left as text."""
    total = progress["total"] or 1
    return {
        "progress": progress,
        "segments": {name: round(100 * progress[name] / total, 2) for name in ("sent", "failed", "skipped")},
        "rate_display": rate_text(formats.number_format(progress["rate_per_minute"]))
        if progress["rate_per_minute"] is not None
        else "",
        "eta_display": format_duration(progress["eta_seconds"]) if progress["eta_seconds"] is not None else "",
        "rate_format": rate_text("{rate}"),  # for the script, which puts in its own localised number
    }


class StatusColumn(Column):
    cell_template_name = "wagtail_newsletter/admin/campaign/status_tag_cell.html"


def deliveries_with_status(status):
    """A campaign's deliveries in ``status``: a correlated subquery, evaluated only for the rows of the page shown."""
    count = (
        Delivery.objects.filter(campaign=OuterRef("pk"), status=status)
        .order_by()
        .values("campaign")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(count, output_field=IntegerField())


def with_sent_counts(queryset):
    return queryset.annotate(sent_count=deliveries_with_status(DeliveryStatus.SENT))


class CampaignIndexView(IndexView):
    any_permission_required = CAMPAIGN_VIEW_ACTIONS
    page_title = gettext_lazy("Campaigns")

    def get_base_queryset(self):
        return with_sent_counts(super().get_base_queryset().select_related("page"))

    def get_edit_url(self, instance):
        return url("detail", instance.pk)  # the campaign's page, for every viewer: nothing is edited in place

    def get_add_url(self):
        return url("new") if can_send(self.request.user) else None

    @cached_property
    def add_item_label(self):
        return _("New campaign")

    @cached_property
    def add_button(self):
        return HeaderButton(self.add_item_label, url=self.add_url, icon_name="plus")

    def get_delete_url(self, instance):
        if instance.status == CampaignStatus.DRAFT and can_send(self.request.user):
            return url("delete", instance.pk)
        return None

    def get_list_more_buttons(self, instance):
        """Open the campaign; a draft can also be sent (the wizard) or deleted. Nothing says "Edit"."""
        buttons = [MenuItem(_("Open"), url=url("detail", instance.pk), icon_name="view", priority=10)]
        if has_report(instance):
            buttons.append(MenuItem(_("Report"), url=url("report", instance.pk), icon_name="table", priority=15))
        if delete_url := self.get_delete_url(instance):
            send_url = url("send_recipients", instance.pk)
            buttons.append(MenuItem(_("Continue sending…"), url=send_url, icon_name="mail", priority=20))
            buttons.append(MenuItem(_("Delete"), url=delete_url, icon_name="bin", priority=30))
        return buttons


def has_report(campaign):
    """A campaign has a report (admin/reports/views.py) once its messages started going out."""
    return campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)


class DeleteDraftView(DeleteView):
    """Only drafts can be deleted (by those who may send); a started campaign is part of the record."""

    permission_required = "send"

    def get_queryset(self):
        return Campaign.objects.filter(status=CampaignStatus.DRAFT)


class CampaignObjectMixin:
    """The campaign from the URL, for users who may see campaigns (403 otherwise)."""

    def dispatch(self, request, *args, **kwargs):
        from django.core.exceptions import PermissionDenied

        if not may_view_campaigns(request.user):
            raise PermissionDenied
        self.campaign = get_object_or_404(
            Campaign.objects.select_related("page", "created_by", "sent_by"), pk=kwargs["pk"]
        )
        return super().dispatch(request, *args, **kwargs)


class CampaignDetailView(CampaignObjectMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_newsletter/admin/campaign/detail.html"
    header_icon = "mail"

    def get_page_title(self):
        return self.campaign.name

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": url("index"), "label": _("Campaigns")},
            {"url": "", "label": self.campaign.name},
        ]

    @property
    def header_buttons(self):
        if not has_report(self.campaign):
            return []
        return [HeaderButton(_("Report"), url=url("report", self.campaign.pk), icon_name="table")]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.campaign
        sender = can_send(self.request.user)
        status = campaign.status
        context.update(
            campaign=campaign,
            Status=CampaignStatus,
            audience=audience_description(campaign),
            **wizard.sender_context(campaign),
            **progress_context(lifecycle.progress(campaign)),
            progress_url=url("progress", campaign.pk),
            can_pause=sender and status == CampaignStatus.SENDING,
            can_resume=sender and status == CampaignStatus.PAUSED,
            can_cancel=sender and status in (CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED),
            continue_url=url("send_recipients", campaign.pk) if sender and status == CampaignStatus.DRAFT else None,
            delete_url=url("delete", campaign.pk) if sender and status == CampaignStatus.DRAFT else None,
            page_edit_url=self.page_edit_url(),
            guard_pause=guard_pause(campaign),
            sender_domain_alert=None if campaign.is_finished else campaign_sender_alert(
                sender_of(campaign.from_name, campaign.from_email)[1]
            ),
        )
        return context

    def page_edit_url(self):
        from django.urls import reverse

        return reverse("wagtailadmin_pages:edit", args=[self.campaign.page_id]) if self.campaign.page_id else None


class ProgressView(CampaignObjectMixin, View):
    """JSON polled by the campaign page: ``send.campaigns.progress`` (never cached: Wagtail's admin URLs say so)."""

    def get(self, request, pk):
        return JsonResponse(lifecycle.progress(self.campaign))


class ActionView(SendPermissionMixin, CampaignObjectMixin, View):
    """POST-only pause / resume / cancel; a refusal (CampaignError) becomes an error message on the page."""

    action = None  # a function of send.campaigns
    success_message = None

    def post(self, request, pk):
        try:
            self.action(self.campaign, request.user)
        except lifecycle.CampaignError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, self.success_message % {"name": self.campaign.name})
        return redirect(url("detail", self.campaign.pk))


class PauseView(ActionView):
    action = staticmethod(lifecycle.pause)
    success_message = gettext_lazy("“%(name)s” is paused: nothing more is sent until you resume it.")


class ResumeView(ActionView):
    action = staticmethod(lifecycle.resume)
    success_message = gettext_lazy("“%(name)s” is sending again.")


class CancelView(WagtailAdminTemplateMixin, ActionView):
    """GET asks for confirmation; POST cancels."""

    action = staticmethod(lifecycle.cancel)
    success_message = gettext_lazy("“%(name)s” is cancelled: messages not sent yet will not be sent.")
    template_name = "wagtail_newsletter/admin/campaign/confirm_cancel.html"
    page_title = gettext_lazy("Cancel campaign")
    header_icon = "cross"

    def get_page_subtitle(self):
        return self.campaign.name

    def get(self, request, pk):
        if self.campaign.is_finished:
            messages.error(request, _("This campaign has already finished."))
            return redirect(url("detail", self.campaign.pk))
        from django.template.response import TemplateResponse

        return TemplateResponse(request, self.template_name, self.get_context_data(campaign=self.campaign))


class CampaignViewSet(ModelViewSet):
    """The "Campaigns" item of the Newsletter menu: listing, wizard, campaign pages and their actions."""

    model = Campaign
    icon = "tasks"
    menu_label = gettext_lazy("Campaigns")
    add_to_admin_menu = False
    index_view_class = CampaignIndexView
    delete_view_class = DeleteDraftView
    copy_view_enabled = False
    list_display = [
        "name",
        "page",
        StatusColumn("status", label=gettext_lazy("Status"), sort_key="status"),
        NumberColumn("recipient_count", label=gettext_lazy("Recipients"), sort_key="recipient_count"),
        NumberColumn("sent_count", label=gettext_lazy("Sent"), sort_key="sent_count"),
        DateColumn("scheduled_at", label=gettext_lazy("Scheduled for"), sort_key="scheduled_at"),
        DateColumn("started_at", label=gettext_lazy("Started"), sort_key="started_at"),
        DateColumn("finished_at", label=gettext_lazy("Finished"), sort_key="finished_at"),
    ]
    list_filter = ["status"]
    ordering = ["-created_at", "-id"]
    search_fields = ["name", "subject"]
    search_backend_name = None
    list_per_page = 50

    def get_common_view_kwargs(self, **kwargs):
        kwargs = super().get_common_view_kwargs(**kwargs)
        kwargs.update(add_url_name=self.get_url_name("new"), edit_url_name=self.get_url_name("detail"))
        kwargs.update(history_url_name=None, usage_url_name=None)
        return kwargs

    @property
    def url_finder_class(self):
        finder = super().url_finder_class
        finder.edit_url_name = self.get_url_name("detail")
        return finder

    def get_urlpatterns(self):
        from ..reports import views as report_views  # cycle: the report views build on this module's views

        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path("new/", entry.ChooseNewsletterView.as_view(), name="new"),
            path("new/<int:page_id>/", wizard.NewCampaignView.as_view(), name="send_new"),
            path("count/", entry.RecipientCountView.as_view(), name="count"),
            path("<int:pk>/", CampaignDetailView.as_view(), name="detail"),
            path("<int:pk>/progress/", ProgressView.as_view(), name="progress"),
            path("<int:pk>/report/", report_views.CampaignReportView.as_view(), name="report"),
            path("<int:pk>/report/live/", report_views.ReportLiveView.as_view(), name="report_live"),
            path("<int:pk>/report/click-map/", report_views.ClickMapView.as_view(), name="click_map"),
            path("<int:pk>/recipients/", wizard.RecipientsView.as_view(), name="send_recipients"),
            path("<int:pk>/checklist/", wizard.ChecksView.as_view(), name="send_checks"),
            path("<int:pk>/preview/<int:page_id>/", LanguagePreviewView.as_view(), name="language_preview"),
            path("<int:pk>/when/", wizard.ScheduleView.as_view(), name="send_schedule"),
            path("<int:pk>/confirm/", wizard.ConfirmView.as_view(), name="send_confirm"),
            path("<int:pk>/pause/", PauseView.as_view(), name="pause"),
            path("<int:pk>/resume/", ResumeView.as_view(), name="resume"),
            path("<int:pk>/cancel/", CancelView.as_view(), name="cancel"),
            path("<int:pk>/delete/", self.delete_view, name="delete"),
        ]


campaign_viewset = CampaignViewSet(wizard.NAMESPACE, url_prefix="newsletter/campaigns")
