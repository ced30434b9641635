"""Webhook endpoints (a ModelViewSet with its secret panel, rotation and enabling again) and the delivery log (every
outbox message with its status, last answer and body; replay)."""

import django_filters
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, ObjectList, Panel
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import CreateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.log_actions import log
from wagtail.permission_policies import ModelPermissionPolicy

from ...api.webhooks import endpoints
from ...api.webhooks.models import EventType, OutboxStatus, WebhookEndpoint, WebhookMessage
from ...api.webhooks.payloads import build_bodies
from .forms import WebhookEndpointForm

NAME = "newsletter_webhooks"
LOG = "newsletter_webhook_log"
_policy = ModelPermissionPolicy(WebhookEndpoint)


def may_manage(user):
    return _policy.user_has_permission(user, "change")


class SecretPanel(Panel):
    """Read-only: the signing secret (to give the receiver), its rotation, the endpoint's state and its log."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_newsletter/admin/webhooks/secret_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            endpoint = self.instance
            context["endpoint"] = endpoint
            context["saved"] = endpoint is not None and endpoint.pk is not None
            if context["saved"]:
                context["rotate_url"] = reverse(f"{NAME}:rotate", args=[endpoint.pk])
                context["enable_url"] = reverse(f"{NAME}:enable", args=[endpoint.pk])
                context["log_url"] = reverse(f"{LOG}:index") + f"?endpoint={endpoint.pk}"
                context["waiting"] = endpoint.messages.filter(status=OutboxStatus.PENDING).count()
            return context


class EndpointCreateView(CreateView):
    def save_instance(self):
        self.form.instance.created_by = self.request.user  # told when the endpoint is disabled
        return super().save_instance()


class EndpointActionView(WagtailAdminTemplateMixin, TemplateView):
    """POST only: rotate the secret or enable the endpoint again, then back to its page."""

    action = None

    def post(self, request, pk):
        if not may_manage(request.user):
            raise PermissionDenied
        endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
        if self.action == "rotate":
            endpoints.rotate_secret(endpoint)
            messages.success(request, gettext("A new secret was made. The previous one keeps signing for a while."))
        else:
            endpoints.enable(endpoint)
            messages.success(request, gettext("The endpoint is enabled again: its waiting messages are being sent."))
        log(instance=endpoint, action="wagtail.edit", user=request.user, data={"webhook": self.action})
        return redirect(reverse(f"{NAME}:edit", args=[pk]))


def _state(endpoint):
    if not endpoint.enabled:
        return gettext("Disabled")
    return gettext("Failing") if endpoint.failing_since else gettext("Enabled")


class WebhookEndpointViewSet(ModelViewSet):
    """Included in the "Newsletter" menu group by ``admin.viewsets``."""

    model = WebhookEndpoint
    name = NAME
    icon = "link-external"
    menu_label = _("Webhooks")
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = False
    add_view_class = EndpointCreateView
    list_display = [
        "name",
        "url",
        Column("state", label=_("State"), accessor=_state),
        Column("count", label=_("Events"), accessor=lambda e: len(e.events)),
        "last_success_at",
    ]
    search_fields = ["name", "url"]
    search_backend_name = None
    edit_handler = ObjectList(
        [FieldPanel("name"), FieldPanel("url"), FieldPanel("events"), FieldPanel("enabled"),
         SecretPanel(heading=_("Signing secret and deliveries"))],
        base_form_class=WebhookEndpointForm,
    )  # fmt: skip

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("rotate/<int:pk>/", EndpointActionView.as_view(action="rotate"), name="rotate"),
            path("enable/<int:pk>/", EndpointActionView.as_view(action="enable"), name="enable"),
        ]


# --- The delivery log ---------------------------------------------------------------------------------------------


class MessageFilterSet(WagtailFilterSet):
    endpoint = django_filters.ModelChoiceFilter(
        label=_("Endpoint"), queryset=WebhookEndpoint.objects.all(), empty_label=_("All endpoints")
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OutboxStatus.choices, empty_label=_("All"))
    event_type = django_filters.ChoiceFilter(label=_("Event"), choices=EventType.choices, empty_label=_("All"))

    class Meta:
        model = WebhookMessage
        fields = ["endpoint", "status", "event_type"]


class MessageColumn(Column):
    cell_template_name = "wagtail_newsletter/admin/link_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["url"] = reverse(f"{LOG}:detail", args=[instance.pk])
        return context


class DeliveryLogView(ReportView):
    page_title = _("Webhook deliveries")
    header_icon = "link-external"
    model = WebhookMessage
    filterset_class = MessageFilterSet
    index_url_name = f"{LOG}:index"
    index_results_url_name = f"{LOG}:index_results"
    paginate_by = 50
    columns = [
        MessageColumn("webhook_id", label=_("Message")),
        DateColumn("occurred_at", label=_("Occurred")),
        Column("endpoint", label=_("Endpoint")),
        Column("event_type", label=_("Event")),
        Column("status", label=_("Status"), accessor="get_status_display"),
        Column("attempts", label=_("Attempts")),
        Column("response_status", label=_("HTTP status")),
        Column("error", label=_("Error")),
        DateColumn("next_attempt_at", label=_("Next attempt")),
    ]

    def dispatch(self, request, *args, **kwargs):
        if not may_manage(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return WebhookMessage.objects.select_related("endpoint").order_by("-id")


class MessageDetailView(WagtailAdminTemplateMixin, TemplateView):
    """One message: what was sent (the signed body), the last answer, and a button to send it again."""

    template_name = "wagtail_newsletter/admin/webhooks/message.html"
    header_icon = "link-external"
    page_title = _("Webhook message")

    def dispatch(self, request, *args, **kwargs):
        if not may_manage(request.user):
            raise PermissionDenied
        self.message = get_object_or_404(WebhookMessage.objects.select_related("endpoint"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.message.webhook_id

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        body, rebuilt = self.message.body, False
        if not body and not self.message.response_status and not self.message.error:
            # Never answered yet: a preview of what will be sent (every answered attempt keeps its exact body).
            body, rebuilt = build_bodies([self.message])[self.message.pk].decode(), True
        return {
            **context,
            "message": self.message,
            "body": body,
            "rebuilt": rebuilt,
            "log_url": reverse(f"{LOG}:index"),
        }

    def post(self, request, pk):
        endpoints.replay(WebhookMessage.objects.filter(pk=pk))
        messages.success(request, gettext("The message will be sent again, with the same id."))
        return redirect(reverse(f"{LOG}:detail", args=[pk]))


class DeliveryLogMenuItem(MenuItem):
    def is_shown(self, request):
        return may_manage(request.user)


class DeliveryLogViewSet(ViewSet):
    """The "Webhook deliveries" item of the Newsletter menu (``admin.viewsets``)."""

    menu_label = _("Webhook deliveries")
    icon = "link-external"
    add_to_admin_menu = False
    menu_item_class = DeliveryLogMenuItem

    def get_urlpatterns(self):
        return [
            path("", DeliveryLogView.as_view(), name="index"),
            path("results/", DeliveryLogView.as_view(results_only=True), name="index_results"),
            path("<int:pk>/", MessageDetailView.as_view(), name="detail"),
        ]


delivery_log_viewset = DeliveryLogViewSet(LOG, url_prefix="newsletter/webhook-deliveries")
