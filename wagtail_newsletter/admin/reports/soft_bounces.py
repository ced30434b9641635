"""The "Repeated soft bounces" report: subscribers whose mailbox refused several recent newsletters for a while (full,
over quota, suspended), before the soft-bounce rule marks them bounced — as ActiveTrail advises, the editor sees them
and may write to them another way, or remove them."""

from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils.translation import gettext_lazy
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import DateColumn, NumberColumn, TitleColumn
from wagtail.admin.views.reports import ReportView
from wagtail.admin.viewsets.base import ViewSet

from ...audience.models import Subscriber
from ...conf import newsletter_settings
from ...deliverability.soft_bounces import repeated_soft_bounces
from ..audience.subscriber_views import SubscriberStatusColumn
from ..permissions import user_can_any


def subscriber_url(subscriber):
    return reverse("wagtailsnippets_wagtail_newsletter_subscriber:edit", args=[subscriber.pk])


class RecentColumn(NumberColumn):
    """The count the soft-bounce rule uses, with its limit: "3 (limit 7)"."""

    def get_value(self, instance):
        return gettext_lazy("%(count)s (limit %(limit)s)") % {
            "count": instance.recent_soft_bounces,
            "limit": newsletter_settings.SOFT_BOUNCE_LIMIT,
        }


class RepeatedSoftBouncesView(ReportView):
    page_title = gettext_lazy("Repeated soft bounces")
    header_icon = "warning"
    model = Subscriber
    index_url_name = "newsletter_soft_bounces:index"
    index_results_url_name = "newsletter_soft_bounces:index_results"
    results_template_name = "wagtail_newsletter/admin/report/soft_bounces_results.html"
    no_results_message = gettext_lazy("No subscriber has soft-bounced repeatedly in recent campaigns.")
    columns = [
        TitleColumn("email", label=gettext_lazy("Subscriber"), get_url=subscriber_url),
        SubscriberStatusColumn("status", label=gettext_lazy("Status")),
        RecentColumn("recent_soft_bounces", label=gettext_lazy("Soft bounces in recent campaigns")),
        NumberColumn("soft_bounces", label=gettext_lazy("Soft bounces in all")),
        DateColumn("last_soft_bounce_at", label=gettext_lazy("Last soft bounce")),
    ]
    list_export = ["email", "get_status_display", "recent_soft_bounces", "soft_bounces", "last_soft_bounce_at"]
    export_headings = {
        "email": gettext_lazy("Subscriber"),
        "get_status_display": gettext_lazy("Status"),
        "recent_soft_bounces": gettext_lazy("Soft bounces in recent campaigns"),
        "soft_bounces": gettext_lazy("Soft bounces in all"),
        "last_soft_bounce_at": gettext_lazy("Last soft bounce"),
    }
    export_filename = "repeated-soft-bounces"

    def dispatch(self, request, *args, **kwargs):
        if not user_can_any(request.user, Subscriber):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        return repeated_soft_bounces()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["report_help"] = gettext_lazy(
            "Subscribers whose mailbox refused at least two of the last %(campaigns)s newsletters sent to them for a "
            "while (mailbox full, over quota, suspended). At %(limit)s such soft bounces they become “Bounced” and "
            "are not mailed any more."
        ) % {"campaigns": newsletter_settings.SOFT_BOUNCE_CAMPAIGNS, "limit": newsletter_settings.SOFT_BOUNCE_LIMIT}
        return context


class SoftBouncesMenuItem(MenuItem):
    def is_shown(self, request):
        return user_can_any(request.user, Subscriber)


class SoftBouncesViewSet(ViewSet):
    """The "Repeated soft bounces" item of the Newsletter menu (``admin.viewsets``)."""

    menu_label = gettext_lazy("Repeated soft bounces")
    icon = "warning"
    add_to_admin_menu = False
    menu_item_class = SoftBouncesMenuItem

    def get_urlpatterns(self):
        return [
            path("", RepeatedSoftBouncesView.as_view(), name="index"),
            path("results/", RepeatedSoftBouncesView.as_view(results_only=True), name="index_results"),
        ]


soft_bounces_viewset = SoftBouncesViewSet("newsletter_soft_bounces", url_prefix="newsletter/soft-bounces")
