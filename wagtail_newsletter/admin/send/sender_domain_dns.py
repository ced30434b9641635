"""The DNS checks of a sender domain in the admin: each check with its status and the records to publish (with a
copy button), "Check DNS now" (POST, needs the change permission), and the domain's state on the listing, the
campaign page and the dashboard.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import View
from wagtail.admin.panels import Panel
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import BaseObjectMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.permissions import policy_registry

from ...deliverability import findings
from ...deliverability.check_texts import described_checks, mx_hint
from ...deliverability.domain_checks import check_sender_domain
from ...send import sender_domains as verification
from ...send.models import SenderDomain

VIEWSET_NAME = "newsletter_sender_domains"  # SenderDomainViewSet.name
STATE_LABELS = {
    verification.VERIFIED: _("Verified"),
    verification.ASSUMED: _("Assumed verified (setting)"),
    verification.FAILING: _("Records failing"),
    verification.BLOCKED: _("Cannot send"),
    verification.UNVERIFIED: _("Not verified"),
}
# The colour of a state's tag: good, to watch, or blocking.
STATE_TONES = {
    verification.VERIFIED: "ok",
    verification.ASSUMED: "ok",
    verification.FAILING: "warning",
    verification.BLOCKED: "critical",
    verification.UNVERIFIED: "critical",
}


def edit_url(row):
    return reverse(f"{VIEWSET_NAME}:edit", args=[row.pk])


def domain_context(row):
    """What the panel, the listing and the alerts show of one SenderDomain row."""
    state = verification.row_state(row)
    return {
        "state": state,
        "state_label": STATE_LABELS[state.state],
        "state_tone": STATE_TONES[state.state],
        "state_message": verification.state_message(state),
        "checks": described_checks(row),
        "checked_at": row.dns_checked_at,
        "mx_hint": mx_hint(),
    }


class DnsChecksPanel(Panel):
    """Read-only: the last DNS check of the domain, check by check, and the "Check DNS now" button."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_newsletter/admin/sender_domain_checks_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            instance = self.instance
            context["saved"] = saved = instance is not None and instance.pk is not None
            if saved:
                context.update(domain_context(instance))
                context["check_url"] = reverse(f"{VIEWSET_NAME}:check_dns", args=[instance.pk])
            return context


class CheckDnsView(PermissionCheckedMixin, BaseObjectMixin, View):
    """POST: look the domain's records up now, store the results, back to the domain's page."""

    model = SenderDomain
    permission_required = "change"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        row = check_sender_domain(self.object.pk)
        statuses = {entry["status"] for entry in row.dns_checks.values()}
        params = {"domain": row.domain}
        if statuses & set(findings.FAILED):
            messages.error(request, gettext("Some DNS records of %(domain)s are missing or wrong: see below.") % params)
        elif findings.UNKNOWN in statuses:
            messages.warning(
                request,
                gettext("DNS did not answer every question about %(domain)s: check again in a few minutes.") % params,
            )
        else:
            messages.success(request, gettext("Every DNS record of %(domain)s is right: it is verified.") % params)
        return redirect(edit_url(row))


class DnsStateColumn(Column):
    """The listing's "DNS" column: the domain's state as a coloured tag, and since when it fails."""

    cell_template_name = "wagtail_newsletter/admin/sender_domain_state_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context.update(domain_context(instance))
        return context


def domains_needing_attention():
    """(row, context) of every sender domain that cannot send or whose records are failing."""
    rows = SenderDomain.objects.exclude(dns_failing_since=None) | SenderDomain.objects.filter(dns_verified_at=None)
    found = []
    for row in rows.order_by("domain"):
        context = domain_context(row)
        if context["state"].state in (verification.FAILING, verification.BLOCKED):
            found.append((row, context))
    return found


class SenderDomainAlertsPanel(Component):
    """Dashboard: sender domains whose records stopped passing (when they stop sending), at the top."""

    name = "newsletter_sender_domain_alerts"
    template_name = "wagtail_newsletter/admin/sender_domain_alerts_panel.html"
    order = 50

    def __init__(self, rows):
        self.rows = rows

    def get_context_data(self, parent_context):
        return {"rows": [{"row": row, "url": edit_url(row), **context} for row, context in self.rows]}


def add_sender_domain_alerts_panel(request, panels):
    """``construct_homepage_panels``: failing domains, for those who may change sender domains."""
    if policy_registry.get_by_type(SenderDomain).user_has_permission(request.user, "change"):
        rows = domains_needing_attention()
        if rows:
            panels.append(SenderDomainAlertsPanel(rows))


def campaign_sender_alert(address):
    """The checklist entry about the sender domain of ``address`` (a Check), or None when it is verified."""
    return next(iter(verification.sender_domain_checks(address)), None) if address else None
