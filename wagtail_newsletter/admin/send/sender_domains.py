"""Sender domains in the admin: the domains newsletters are sent from, each with its DKIM key.

A key (RSA 2048) is made when a domain is added; the edit page shows the DNS TXT record to publish, ready to copy,
rotates the key without a gap (``sender_domain_rotation``) and can replace a broken one at once. The private key
itself is never shown: only its public half and a fingerprint. The DNS checks of the domain (SPF, DKIM, DMARC, MX)
and their "Check DNS now" button are in ``sender_domain_dns``.
"""

import hashlib
import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, ObjectList, Panel
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic.base import BaseObjectMixin, WagtailAdminTemplateMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.log_actions import log

from ...mail_text import ascii_domain
from ...send.dkim_signing import dns_name, dns_record, generate_private_key, load_private_key, public_key_der
from ...send.models import SenderDomain
from .sender_domain_dns import CheckDnsView, DnsChecksPanel, DnsStateColumn
from .sender_domain_rotation import VIEW_NAME as ROTATION_VIEW_NAME
from .sender_domain_rotation import DkimRotationView, rotation_context

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_SELECTOR = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def clean_domain(value):
    """A domain as typed -> lower-case ASCII hostname (IDNA 2008 for non-ASCII), or ValidationError."""
    try:
        value = ascii_domain((value or "").strip().rstrip(".").lower())
    except UnicodeError:
        value = ""
    if len(value) > 253 or not _HOSTNAME.match(value) or value.rsplit(".", 1)[1].isdigit():
        raise ValidationError(_("Enter a domain name such as example.org (no address, no “https://”)."))
    return value


def clean_selector(value):
    value = (value or "").strip().lower()
    if len(value) > 63 or not _SELECTOR.match(value):
        raise ValidationError(_("Use letters, digits and hyphens only, such as “newsletter”."))
    return value


def key_summary(private_key):
    """What the admin shows instead of a key: its size and the fingerprint of its public half, or None."""
    if not private_key:
        return None
    try:
        key = load_private_key(private_key)
    except ValueError:
        return {"valid": False}
    digest = hashlib.sha256(public_key_der(private_key)).hexdigest()
    return {"valid": True, "bits": key.key_size, "fingerprint": ":".join(digest[i : i + 2] for i in range(0, 32, 2))}


def regenerate_key(sender_domain, user=None):
    """Replace the domain's DKIM key (mail signed from now on needs the new DNS record)."""
    sender_domain.private_key = generate_private_key()
    sender_domain.save(update_fields=["private_key"])
    log(instance=sender_domain, action="wagtail.edit", user=user, data={"dkim_key": "regenerated"})


class SenderDomainForm(WagtailAdminModelForm):
    class Meta:
        model = SenderDomain
        fields = ["domain", "selector"]

    def clean_domain(self):
        return clean_domain(self.cleaned_data.get("domain"))

    def clean_selector(self):
        value = clean_selector(self.cleaned_data.get("selector"))
        if value != self.instance.selector and value in (self.instance.next_selector, self.instance.previous_selector):
            # Those records belong to the next and the previous key (a key rotation): one name, one key.
            raise ValidationError(_("This selector belongs to the next or the previous key: choose another one."))
        return value

    def save(self, commit=True):
        if not self.instance.private_key:  # a new domain gets its key at once
            self.instance.private_key = generate_private_key()
        if "domain" in self.changed_data:  # another name: what DNS said of the old one proves nothing
            self.instance.dns_checks = {}
            self.instance.dns_checked_at = self.instance.dns_verified_at = self.instance.dns_failing_since = None
        return super().save(commit=commit)


class DkimRecordPanel(Panel):
    """Read-only: the TXT record to publish for the domain's key, and the button to replace the key."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_newsletter/admin/sender_domain_record_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            instance = self.instance
            saved = instance is not None and instance.pk is not None
            context["saved"] = saved
            if saved:
                context["summary"] = key_summary(instance.private_key)
                if context["summary"] and context["summary"]["valid"]:
                    context["record_name"] = dns_name(instance.selector, instance.domain)
                    context["record_value"] = dns_record(instance.private_key)
                    context.update(rotation_context(instance, SenderDomainViewSet.name))
                context["regenerate_url"] = reverse(f"{SenderDomainViewSet.name}:regenerate_key", args=[instance.pk])
            return context


class RegenerateKeyView(PermissionCheckedMixin, BaseObjectMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: a confirmation page; POST: a new key, then back to the domain with its new record."""

    model = SenderDomain
    permission_required = "change"
    template_name = "wagtail_newsletter/admin/sender_domain_regenerate.html"
    page_title = _("Generate a new DKIM key")
    header_icon = "key"

    def get_page_subtitle(self):
        return str(self.object)

    @cached_property
    def edit_url(self):
        return reverse(f"{SenderDomainViewSet.name}:edit", args=[self.object.pk])

    def post(self, request, *args, **kwargs):
        regenerate_key(self.object, request.user)
        messages.success(
            request,
            gettext("A new key was generated for %(domain)s. Publish its DNS record now: until then, receivers "
                    "cannot verify the signature of newsletters sent from this domain.") % {"domain": self.object},
        )  # fmt: skip
        return redirect(self.edit_url)


def key_status(instance):
    summary = key_summary(instance.private_key)
    if not summary:
        return gettext("No key")
    if not summary["valid"]:
        return gettext("Invalid key")
    return gettext("RSA %(bits)d bits") % {"bits": summary["bits"]}


class SenderDomainViewSet(ModelViewSet):
    """Included in the "Newsletter" menu group by ``admin.viewsets``."""

    model = SenderDomain
    name = "newsletter_sender_domains"
    icon = "key"
    menu_label = _("Sender domains")
    add_to_admin_menu = False
    copy_view_enabled = False
    list_display = [
        "domain",
        "selector",
        Column("dkim_key", label=_("DKIM key"), accessor=key_status),
        DnsStateColumn("dns_state", label=_("DNS")),
        "dns_checked_at",
    ]
    ordering = "domain"
    search_fields = ["domain"]
    search_backend_name = None
    edit_handler = ObjectList(
        [
            FieldPanel("domain"),
            FieldPanel("selector"),
            DkimRecordPanel(heading=_("DNS record")),
            DnsChecksPanel(heading=_("DNS checks")),
        ],
        base_form_class=SenderDomainForm,
    )

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("regenerate-key/<int:pk>/", RegenerateKeyView.as_view(), name="regenerate_key"),
            path("check-dns/<int:pk>/", CheckDnsView.as_view(), name="check_dns"),
            path("dkim-rotation/<int:pk>/<str:action>/", DkimRotationView.as_view(), name=ROTATION_VIEW_NAME),
        ]
