"""The send wizard's A/B test form: 2–4 variants (A is the newsletter as the campaign sends it; each may change the
subject, preheader, sender name, or send another newsletter), their sample sizes, how the winner is chosen and when.

Everything is checked again on the server (``growth.ab_start.check_choices`` too): a forged POST with five variants,
samples over 100 % or a page that is not a newsletter gets a clear error and makes nothing.
"""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ...compose.models import NewsletterPage
from ...growth.ab_start import MAX_WAIT_MINUTES, AbTestError, VariantChoice, check_choices
from ...growth.ab_tests import LETTERS, MAX_VARIANTS, MIN_VARIANTS, AbMetric
from .campaign_forms import newsletter_pages

TEXT_FIELDS = ("subject", "preheader", "sender_name")
MAX_LENGTHS = {
    "subject": NewsletterPage._meta.get_field("subject").max_length,
    "preheader": NewsletterPage._meta.get_field("preheader").max_length,
    "sender_name": NewsletterPage._meta.get_field("sender_name").max_length,
}
LABELS = {
    "subject": gettext_lazy("Subject"),
    "preheader": gettext_lazy("Preheader"),
    "sender_name": gettext_lazy("Sender name"),
    "page": gettext_lazy("Another newsletter"),
    "percent": gettext_lazy("Sample (% of the audience)"),
}


class AbTestForm(forms.Form):
    variant_count = forms.TypedChoiceField(
        label=gettext_lazy("Number of variants"),
        choices=[(n, str(n)) for n in range(MIN_VARIANTS, MAX_VARIANTS + 1)],
        coerce=int,
        initial=2,
        help_text=gettext_lazy("The fields of the variants after this number are ignored."),
    )
    metric = forms.ChoiceField(
        label=gettext_lazy("The winner is"),
        choices=[
            (AbMetric.OPENS, gettext_lazy("the variant most people opened")),
            (AbMetric.CLICKS, gettext_lazy("the variant most people clicked")),
            (AbMetric.MANUAL, gettext_lazy("the one I choose")),
        ],
        widget=forms.RadioSelect,
        initial=AbMetric.OPENS,
        help_text=gettext_lazy("Opens by privacy proxies and clicks by link scanners never count."),
    )
    wait_hours = forms.IntegerField(
        label=gettext_lazy("Choose the winner after (hours)"), min_value=0, max_value=MAX_WAIT_MINUTES // 60, initial=4
    )
    send_winner = forms.BooleanField(
        label=gettext_lazy("Send the winner to everyone else automatically"),
        required=False,
        initial=True,
        help_text=gettext_lazy("Unticked: the test waits for you to confirm the winner."),
    )

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        pages = newsletter_pages()
        if campaign is not None and campaign.page_id:
            pages = pages.exclude(pk=campaign.page_id)
        for letter in LETTERS:
            self.fields[f"{letter}_percent"] = forms.IntegerField(
                label=LABELS["percent"], min_value=1, max_value=100, required=False, initial=10
            )
            if letter == "A":  # A is the campaign as it is: the control
                continue
            for name in TEXT_FIELDS:
                self.fields[f"{letter}_{name}"] = forms.CharField(
                    label=LABELS[name], required=False, max_length=MAX_LENGTHS[name]
                )
            self.fields[f"{letter}_page"] = forms.ModelChoiceField(
                queryset=pages, label=LABELS["page"], required=False, empty_label=_("The same newsletter")
            )

    def variant_rows(self):
        """The form's fields by variant, for the template."""
        rows = []
        for letter in LETTERS:
            names = ["percent"] + ([] if letter == "A" else [*TEXT_FIELDS, "page"])
            rows.append({"letter": letter, "fields": [self[f"{letter}_{name}"] for name in names]})
        return rows

    def clean(self):
        data = super().clean()
        count = data.get("variant_count")
        if count is None or self.errors:
            return data
        variants = []
        for letter in LETTERS[:count]:
            percent = data.get(f"{letter}_percent")
            if percent is None:
                self.add_error(
                    f"{letter}_percent", _("Choose the size of variant %(letter)s's sample.") % {"letter": letter}
                )
                continue
            choice = VariantChoice(percent)
            if letter != "A":
                choice = VariantChoice(
                    percent,
                    page=data.get(f"{letter}_page"),
                    **{name: (data.get(f"{letter}_{name}") or "").strip() for name in TEXT_FIELDS},
                )
                if not choice.page and not any(getattr(choice, name) for name in TEXT_FIELDS):
                    self.add_error(
                        None,
                        _("Variant %(letter)s is the same as A: change its subject, preheader, sender or newsletter.")
                        % {"letter": letter},
                    )
            variants.append(choice)
        if self.errors:
            return data
        try:
            check_choices(variants, data["metric"], data["wait_hours"] * 60)
        except AbTestError as error:
            raise forms.ValidationError(str(error)) from error
        data["variants"] = variants
        return data
