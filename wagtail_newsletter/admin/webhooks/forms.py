"""The endpoint form: a name, an http(s) URL, the events wanted, enabled or not."""

from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm

from ...api.webhooks.endpoints import prepare_new
from ...api.webhooks.models import EventType, WebhookEndpoint


class WebhookEndpointForm(WagtailAdminModelForm):
    url = forms.URLField(
        label=_("URL"), max_length=500, assume_scheme="https", help_text=_("An http(s) URL that answers POST requests.")
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only events that happen after the endpoint is saved are sent."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "events", "enabled"]

    def clean_url(self):
        url = (self.cleaned_data.get("url") or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(_("Enter an http:// or https:// URL."))
        return url

    def save(self, commit=True):
        if self.instance.pk is None:
            prepare_new(self.instance)
        return super().save(commit=commit)
