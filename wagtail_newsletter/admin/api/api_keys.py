"""API keys in the admin (Settings › API keys): made here, shown once, then only their prefix, scopes and dates.

A new key acts as the person who made it (their permission to send is asked when the key sends a campaign). The
plain key is rendered in the answer to the creating POST and nowhere else: not in a message (messages may live in a
cookie), not in the database (only the secret's hash is kept).
"""

from django import forms
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic.models import CreateView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.log_actions import log

from ...api.rest.keys import create_key
from ...api.rest.models import ApiKey, Scope


class ApiKeyForm(WagtailAdminModelForm):
    scope_choices = forms.MultipleChoiceField(
        label=_("Scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ]
    )

    class Meta:
        model = ApiKey
        fields = ["name", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["scope_choices"] = self.instance.scope_list

    def save(self, commit=True):
        self.instance.scopes = " ".join(self.cleaned_data["scope_choices"])
        return super().save(commit=commit)


class ApiKeyCreateView(CreateView):
    def form_valid(self, form):
        api_key, plain = create_key(
            form.cleaned_data["name"], self.request.user, form.cleaned_data["scope_choices"],
            expires_at=form.cleaned_data.get("expires_at"),
        )  # fmt: skip
        log(instance=api_key, action="wagtail.create", user=self.request.user)
        context = {"api_key": api_key, "plain_key": plain, "index_url": self.get_success_url(),
                   "page_title": _("API key created"), "header_title": _("API key created")}  # fmt: skip
        response = TemplateResponse(self.request, "wagtail_newsletter/admin/api_key_created.html", context)
        response["Cache-Control"] = "no-store"  # the only time the key is shown: never from a cache
        return response


class ApiKeyViewSet(ModelViewSet):
    model = ApiKey
    icon = "key"
    menu_label = _("API keys")
    add_to_settings_menu = True
    form_class = ApiKeyForm
    add_view_class = ApiKeyCreateView
    list_display = [
        "name",
        Column("prefix", label=_("Prefix")),
        Column("scopes", label=_("Scopes")),
        Column("user", label=_("Acts as")),
        DateColumn("expires_at", label=_("Expires")),
        DateColumn("last_used_at", label=_("Last used")),
    ]
    ordering = "name"
    search_fields = ["name", "prefix"]
    search_backend_name = None

    def get_form_class(self, for_update=False):
        return ApiKeyForm


api_key_viewset = ApiKeyViewSet("newsletter_api_keys")
