"""An A/B test's report: the variants side by side (sends, people's opens and clicks, rates), each against A with the
two-proportion test in words, then the whole campaign; the editor's pick of the winner and cancelling.

The same comparison is a section of the campaign report of each variant and of the send to the rest.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet

from ...growth.ab_report import ab_report
from ...growth.ab_start import AbTestError
from ...growth.ab_tests import AbStatus, AbTest
from ...growth.ab_winner import cancel_ab_test, choose_winner
from ...track import aggregate
from ..permissions import can_send, may_view_campaigns
from ..send.ab_wizard import NAMESPACE, AbTestSetupView, ab_url
from ..send.wizard import url


def test_of(campaign):
    """The A/B test ``campaign`` belongs to (as a variant or as the send to the rest), or None."""
    return (
        AbTest.objects.filter(campaign=campaign).first() or AbTest.objects.filter(variants__campaign=campaign).first()
    )


def ab_context(test, user=None):
    """The template context of the comparison (``wagtail_newsletter/admin/ab_tests/comparison.html``)."""
    open_to_choice = test.status in (AbStatus.TESTING, AbStatus.WAITING)
    return {
        "ab_test": test,
        "ab": ab_report(test),
        "ab_url": ab_url("report", test.pk),
        "rest_url": url("detail", test.campaign_id),
        "choose_url": ab_url("choose", test.pk) if open_to_choice and user is not None and can_send(user) else None,
        "cancel_url": ab_url("cancel", test.pk) if open_to_choice and user is not None and can_send(user) else None,
    }


def campaign_ab_section(campaign, user):
    """For the campaign report: the comparison of the test this campaign is part of ({} when none)."""
    test = test_of(campaign)
    return ab_context(test, user) if test is not None else {}


class AbTestMixin:
    def dispatch(self, request, *args, **kwargs):
        if not may_view_campaigns(request.user):
            raise PermissionDenied
        self.ab_test = get_object_or_404(AbTest.objects.select_related("campaign", "winner"), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)


class AbTestReportView(AbTestMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_newsletter/admin/ab_tests/report.html"
    header_icon = "table"

    def get_page_title(self):
        return _("A/B test")

    def get_page_subtitle(self):
        return self.ab_test.campaign.name

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": url("index"), "label": _("Campaigns")},
            {"url": url("detail", self.ab_test.campaign_id), "label": self.ab_test.campaign.name},
            {"url": "", "label": _("A/B test")},
        ]

    def get_context_data(self, **kwargs):
        aggregate.refresh()
        return {**super().get_context_data(**kwargs), **ab_context(self.ab_test, self.request.user)}


class AbTestActionView(AbTestMixin, View):
    """POST only, for people who may send: ``act(test)`` may raise AbTestError, shown as the error message."""

    def post(self, request, pk):
        if not can_send(request.user):
            raise PermissionDenied
        try:
            message = self.act(self.ab_test)
        except AbTestError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, message)
        return redirect(ab_url("report", self.ab_test.pk))


class ChooseWinnerView(AbTestActionView):
    def act(self, test):
        variant = self.request.POST.get("variant", "")
        if not variant.isdigit():
            raise AbTestError(_("Choose one of this test's variants."))
        test = choose_winner(test, int(variant), self.request.user)
        if test.status == AbStatus.DONE:
            return _("Variant %(letter)s is the winner.") % {"letter": test.winner.letter}
        return test.note


class CancelView(AbTestActionView):
    def act(self, test):
        cancel_ab_test(test, self.request.user)
        return _("The A/B test is cancelled; the campaign for the rest stays a draft.")


class AbTestsViewSet(ViewSet):
    def get_urlpatterns(self):
        return [
            path("campaign/<int:pk>/", AbTestSetupView.as_view(), name="setup"),
            path("<int:pk>/", AbTestReportView.as_view(), name="report"),
            path("<int:pk>/choose/", ChooseWinnerView.as_view(), name="choose"),
            path("<int:pk>/cancel/", CancelView.as_view(), name="cancel"),
        ]


ab_tests_viewset = AbTestsViewSet(NAMESPACE, url_prefix="newsletter/ab-tests")
