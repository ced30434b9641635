"""The forms of the preference page: topics, language and the subscriber's own fields; a pause; leaving.

Each form validates against what the subscriber may choose: a topic that is not a public group, a field not marked
editable or a pause length not offered is refused or ignored by the form before any service is called.
"""

from django import forms
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..audience import preferences
from ..audience.fields import InvalidValue, coerce_field_value
from ..audience.models import Field
from ..audience.preference_log import UnsubscribeReason
from ..conf import newsletter_settings

FIELD_PREFIX = "field_"


def _custom_form_field(custom, initial):
    common = {"label": custom.label, "required": False, "initial": initial}
    if custom.type == Field.Type.BOOLEAN:
        return forms.BooleanField(**common)
    if custom.type == Field.Type.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *((c, c) for c in custom.choice_list)], **common)
    if custom.type == Field.Type.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if custom.type == Field.Type.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    return forms.CharField(widget=forms.TextInput(attrs={"maxlength": newsletter_settings.MAX_FIELD_LENGTH}), **common)


class PreferencesForm(forms.Form):
    """Topics (public groups, with their descriptions), language, and the custom fields editable by subscribers."""

    topics = forms.MultipleChoiceField(
        label=_("Topics"), required=False, widget=forms.CheckboxSelectMultiple
    )  # choices: the public groups (set per instance)
    language = forms.ChoiceField(label=_("Language of our emails"), required=False)

    def __init__(self, subscriber, groups, fields, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.groups = list(groups)
        self.fields["topics"].choices = [(str(group.pk), group.name) for group in self.groups]
        self.fields["topics"].initial = [str(pk) for pk in preferences.topic_ids(subscriber)] if subscriber else []
        self.fields["language"].choices = [("", _("No preference")), *preferences.languages()]
        self.fields["language"].initial = subscriber.language if subscriber else ""
        self.custom = {}
        data = (subscriber.data or {}) if subscriber else {}
        for custom in fields:
            name = FIELD_PREFIX + custom.key
            self.fields[name] = _custom_form_field(custom, data.get(custom.key, ""))
            self.custom[name] = custom

    def topic_choices(self):
        """(bound checkbox, group) pairs: the template shows each topic's description under its name."""
        by_id = {str(group.pk): group for group in self.groups}
        return [(checkbox, by_id[str(checkbox.data["value"])]) for checkbox in self["topics"]]

    def custom_fields(self):
        return [self[name] for name in self.custom]

    def clean(self):
        cleaned = super().clean()
        for name, custom in self.custom.items():
            if name in cleaned:
                try:
                    coerce_field_value(custom, cleaned[name])
                except InvalidValue as exc:
                    self.add_error(name, str(exc))
        return cleaned

    def field_values(self):
        """{key: raw value} of the editable fields, for ``preferences.set_fields``."""
        return {custom.key: self.cleaned_data.get(name) for name, custom in self.custom.items()}


class PauseForm(forms.Form):
    months = forms.TypedChoiceField(label=_("Pause all our emails for"), coerce=int, widget=forms.RadioSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        for months in preferences.pause_months():
            end = formats.date_format(timezone.localtime(preferences.pause_end(months)), "DATE_FORMAT")
            label = ngettext("%(count)d month (until %(date)s)", "%(count)d months (until %(date)s)", months)
            choices.append((months, label % {"count": months, "date": end}))
        self.fields["months"].choices = choices
        self.fields["months"].initial = choices[0][0] if choices else None


class UnsubscribeForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Would you tell us why? (optional)"),
        required=False,
        widget=forms.RadioSelect,
        choices=UnsubscribeReason.choices,
    )
    reason_text = forms.CharField(
        label=_("In your own words (optional)"),
        required=False,
        max_length=preferences.REASON_TEXT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
