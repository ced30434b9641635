"""The subscriber's create/edit form: built per request, with one form field per custom ``Field``.

Status is never edited here: it changes through actions (bulk actions, double opt-in, unsubscribe
links) so that every change is recorded in the subscriber's history.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, ObjectList, Panel, TabbedInterface
from wagtail.admin.widgets import AdminDateInput

from ...audience.fields import InvalidValue, clean_text, coerce_field_value, normalise_email
from ...audience.models import Field, Subscriber, Suppression
from ...audience.preferences import is_paused

CUSTOM_PREFIX = "custom__"


def custom_form_field(field):
    """A Django form field to enter the value of custom ``field`` (validated by ``coerce_field_value``)."""
    common = {"label": field.label, "required": False}
    if field.type == Field.Type.NUMBER:
        return forms.DecimalField(**common)
    if field.type == Field.Type.DATE:
        return forms.DateField(widget=AdminDateInput, **common)
    if field.type == Field.Type.BOOLEAN:
        return forms.NullBooleanField(**common)
    if field.type == Field.Type.CHOICE:
        return forms.ChoiceField(choices=[("", "---------")] + [(c, c) for c in field.choice_list], **common)
    return forms.CharField(max_length=255, **common)


class SubscriberForm(WagtailAdminModelForm):
    """Base form; ``subscriber_form_class`` adds the custom field inputs."""

    custom_fields = ()

    class Meta:
        model = Subscriber
        fields = ["email", "first_name", "last_name", "language", "groups"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.instance.data or {}
        for field in self.custom_fields:
            self.fields[CUSTOM_PREFIX + field.key].initial = data.get(field.key)

    def clean_email(self):
        try:
            email = normalise_email(self.cleaned_data.get("email", ""))
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc
        hidden = Subscriber.all_objects.filter(email=email, deleted_at__isnull=False).exclude(pk=self.instance.pk)
        hidden = hidden.only("pk", "erase_after").first()
        if hidden is not None and (hidden.erase_after is not None or self.instance.pk):
            raise ValidationError(
                _("This address belongs to a deleted subscriber whose data is being erased on request.")
                if hidden.erase_after
                else _("This address belongs to a deleted subscriber: add it as a new subscriber to restore it.")
            )
        if hidden is None and Suppression.contains(email):
            raise ValidationError(_("This address was erased at the person's request and may not be added again."))
        # Creating an address that exists as a deleted row restores that row (with its history).
        self.restored = hidden
        return email

    def _clean_name(self, name):
        try:
            return clean_text(self.cleaned_data.get(name), max_length=100, label=self.fields[name].label)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc

    def clean_first_name(self):
        return self._clean_name("first_name")

    def clean_last_name(self):
        return self._clean_name("last_name")

    def clean(self):
        cleaned = super().clean()
        restored = getattr(self, "restored", None)
        if restored is not None and not self.instance.pk:
            # Save over the deleted row instead of inserting a duplicate address.
            self.instance = Subscriber.all_objects.get(pk=restored.pk)
        for field in self.custom_fields:
            name = CUSTOM_PREFIX + field.key
            try:
                cleaned[name] = coerce_field_value(field, cleaned.get(name))
            except InvalidValue as exc:
                self.add_error(name, str(exc))
        return cleaned

    def save(self, commit=True):
        data = dict(self.instance.data or {})
        for field in self.custom_fields:
            value = self.cleaned_data.get(CUSTOM_PREFIX + field.key)
            if value is None:
                data.pop(field.key, None)
            else:
                data[field.key] = value
        self.instance.data = data
        return super().save(commit=commit)


def subscriber_form_class(custom_fields):
    """A SubscriberForm subclass with one input per custom field (``custom__<key>``)."""
    attrs = {CUSTOM_PREFIX + field.key: custom_form_field(field) for field in custom_fields}
    attrs["custom_fields"] = tuple(custom_fields)
    return type("SubscriberForm", (SubscriberForm,), attrs)


class StatusHistoryPanel(Panel):
    """Read-only: the current status, its history (with who changed it) and the consent records."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_newsletter/admin/subscriber_history_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            subscriber = self.instance
            context["subscriber"] = subscriber
            # A pause the subscriber chose on their preference page: campaigns planned until then leave them out.
            context["paused_until"] = subscriber.paused_until if subscriber and is_paused(subscriber) else None
            if subscriber is not None and subscriber.pk:
                context["events"] = subscriber.status_events.select_related("actor")[:200]
                context["consents"] = subscriber.consents.select_related("form")[:50]
            return context


def subscriber_edit_handler(custom_fields=()):
    """The (unbound) edit handler of a subscriber, with inputs for the given custom fields."""
    details = [
        FieldPanel("email"),
        FieldPanel("first_name"),
        FieldPanel("last_name"),
        FieldPanel("language"),
        FieldPanel("groups", widget=forms.CheckboxSelectMultiple),
    ]
    details += [FieldPanel(CUSTOM_PREFIX + field.key) for field in custom_fields]
    return TabbedInterface(
        [
            ObjectList(details, heading=_("Details")),
            ObjectList([StatusHistoryPanel(heading=_("Status and history"))], heading=_("Status and history")),
        ],
        base_form_class=subscriber_form_class(custom_fields),
    )
