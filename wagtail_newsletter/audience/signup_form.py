"""The Django form a visitor fills in, built from a ``SubscriptionForm`` snippet.

Every form asks for the email address and the consent; the snippet adds built-in fields (first
name, last name, language) and custom ``Field``s. A honeypot field and a signed render stamp
feed the checks in ``abuse``.
"""

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ..conf import newsletter_settings
from .abuse import make_render_stamp
from .fields import InvalidValue, clean_text, coerce_field_value, normalise_email
from .models import Field

CONSENT_NAME = "consent"
STAMP_NAME = "rendered"


class SignupForm(forms.Form):
    """``SignupForm(snippet, data=None)``; once valid, ``subscription_values()`` gives what
    ``optin.submit_subscription`` takes."""

    def __init__(self, snippet, *args, **kwargs):
        kwargs.setdefault("auto_id", f"wn-{snippet.pk}-%s")
        super().__init__(*args, **kwargs)
        self.snippet = snippet
        self.placeholders = snippet.label_style == snippet.LabelStyle.INSIDE
        self.honeypot_name = newsletter_settings.HONEYPOT_FIELD
        self._builtin = {}  # html name -> builtin key
        self._custom = {}  # html name -> Field
        self.fields["email"] = forms.CharField(
            label=_("Email address"),
            error_messages={"required": _("Enter your email address.")},
            widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": 254}),
        )
        for form_field in snippet.form_fields.select_related("custom_field"):
            if form_field.builtin:
                self._add_builtin(form_field)
            elif form_field.custom_field is not None:
                self._add_custom(form_field.custom_field, form_field.required)
        self.fields[CONSENT_NAME] = forms.BooleanField(
            label=snippet.consent_text,
            error_messages={"required": _("Please tick the box to agree before subscribing.")},
        )
        self.fields[self.honeypot_name] = forms.CharField(
            label=_("Leave this field empty"),
            required=False,
            widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
        )
        self.fields[STAMP_NAME] = forms.CharField(
            required=False, widget=forms.HiddenInput, initial=lambda: make_render_stamp(snippet.pk)
        )
        if self.placeholders:
            for name in self.person_field_names():
                self._put_label_inside(self.fields[name])

    @staticmethod
    def _put_label_inside(field):
        """A placeholder (or a select's empty choice) shows the label; checkboxes and date
        pickers, which have no room for it, keep a visible label (``label_inside`` stays False)."""
        text = f"{field.label} *" if field.required else str(field.label)
        if isinstance(field, forms.ChoiceField):
            field.choices = [("", text), *field.choices[1:]]
        elif isinstance(field.widget, forms.CheckboxInput) or field.widget.input_type == "date":
            return
        else:
            field.widget.attrs["placeholder"] = text
        field.label_inside = True

    def _add_builtin(self, form_field):
        key = form_field.builtin
        label = form_field.get_builtin_display()
        if key == "language":
            field = forms.ChoiceField(
                label=label,
                required=form_field.required,
                choices=[("", "---------"), *settings.LANGUAGES],
                initial=(get_language() or "").split("-")[0],
            )
        else:
            autocomplete = {"first_name": "given-name", "last_name": "family-name"}[key]
            field = forms.CharField(
                label=label,
                required=form_field.required,
                widget=forms.TextInput(
                    attrs={"autocomplete": autocomplete, "maxlength": newsletter_settings.MAX_NAME_LENGTH}
                ),
            )
        self.fields[key] = field
        self._builtin[key] = key

    def _add_custom(self, custom, required):
        # Custom keys never equal built-in names (Field.clean); they may equal our control fields.
        name = custom.key
        if name in (CONSENT_NAME, STAMP_NAME, self.honeypot_name):
            name = f"field_{name}"
        common = {"label": custom.label, "required": required}
        if custom.type == Field.Type.BOOLEAN:
            field = forms.BooleanField(**common)
        elif custom.type == Field.Type.CHOICE:
            field = forms.ChoiceField(choices=[("", "---------"), *((c, c) for c in custom.choice_list)], **common)
        elif custom.type == Field.Type.NUMBER:
            field = forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
        elif custom.type == Field.Type.DATE:
            field = forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
        else:
            field = forms.CharField(
                widget=forms.TextInput(attrs={"maxlength": newsletter_settings.MAX_FIELD_LENGTH}), **common
            )
        self.fields[name] = field
        self._custom[name] = custom

    # What templates need.
    def person_field_names(self):
        return ["email", *self._builtin, *self._custom]

    def person_fields(self):
        return [self[name] for name in self.person_field_names()]

    @property
    def consent_field(self):
        return self[CONSENT_NAME]

    @property
    def honeypot_field(self):
        return self[self.honeypot_name]

    @property
    def stamp_field(self):
        return self[STAMP_NAME]

    # Validation.
    def clean_email(self):
        try:
            return normalise_email(self.cleaned_data.get("email"))
        except InvalidValue as exc:
            raise forms.ValidationError(str(exc)) from exc

    def _clean_field(self, name):
        value = self.cleaned_data.get(name)
        try:
            if name in self._builtin:
                if self._builtin[name] == "language":
                    return value
                return clean_text(value, max_length=newsletter_settings.MAX_NAME_LENGTH, label=self.fields[name].label)
            return coerce_field_value(self._custom[name], value)
        except InvalidValue as exc:
            raise forms.ValidationError(str(exc)) from exc

    def _clean_fields(self):
        super()._clean_fields()
        for name in [*self._builtin, *self._custom]:
            if name in self.cleaned_data:
                try:
                    self.cleaned_data[name] = self._clean_field(name)
                except forms.ValidationError as exc:
                    self.add_error(name, exc)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:  # point assistive technology at the message
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"{self[name].auto_id}-error"}
                )

    def honeypot_value(self):
        """What a bot typed in the hidden field, read from the raw data (valid or not)."""
        return self.data.get(self.honeypot_name, "")

    def stamp_value(self):
        return self.data.get(STAMP_NAME, "")

    def refresh_stamp(self):
        """Give a re-rendered form a new render time (after a stale or too fast submission)."""
        self.data = self.data.copy()
        self.data[STAMP_NAME] = make_render_stamp(self.snippet.pk)

    def subscription_values(self):
        """(email, values) of a valid form; ``values`` keyed by built-in and custom field keys."""
        values = {}
        for name, key in self._builtin.items():
            values[key] = self.cleaned_data.get(name) or ""
        for name, custom in self._custom.items():
            values[custom.key] = self.cleaned_data.get(name)
        return self.cleaned_data["email"], values
