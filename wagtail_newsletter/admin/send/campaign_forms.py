"""Forms of the send wizard: which newsletter, who gets it, the checklist's warnings accepted, now or later.

Every form validates on the server; the recipient count shown in the browser is only a preview.
"""

from django import forms
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from wagtail.admin.widgets import AdminDateTimeInput
from wagtail.models import Page, get_page_models

from ...audience.models import Group, Status
from ...compose.models import NewsletterPageMixin
from ...growth import follow_ups
from ...growth.segments import Segment, segment_ids, segments_q, set_campaign_segments
from ...send import campaigns as lifecycle

ALL = "all"
GROUPS = "groups"
NOW = "now"
LATER = "later"


def newsletter_pages():
    """Pages of every newsletter page type (projects may have their own), newest first."""
    models = [model for model in get_page_models() if issubclass(model, NewsletterPageMixin)]
    return Page.objects.type(*models).order_by("-latest_revision_created_at", "-pk")


class ChooseNewsletterForm(forms.Form):
    page = forms.ModelChoiceField(queryset=Page.objects.none(), label=gettext_lazy("Newsletter"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["page"].queryset = newsletter_pages()
        self.fields["page"].label_from_instance = lambda page: page.get_admin_display_title()


class NamedGroupMixin:
    """Radio buttons or checkboxes in an element named after their field (``role`` group / radiogroup), so that a
    group's box in "Groups" is told apart from its twin in "Except members of" by assistive technology."""

    template_name = "wagtail_newsletter/admin/send_wizard/choice_group.html"
    group_role = "group"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(group_role=self.group_role, group_label=self.group_label)
        return context


class NamedCheckboxes(NamedGroupMixin, forms.CheckboxSelectMultiple):
    pass


class NamedRadios(NamedGroupMixin, forms.RadioSelect):
    group_role = "radiogroup"


class GroupChoiceField(forms.ModelMultipleChoiceField):
    """Groups as checkboxes, each with its number of subscribed members (annotated by ``groups_with_counts``)."""

    widget = NamedCheckboxes

    def label_from_instance(self, group):
        return _("%(name)s (%(count)s subscribed)") % {"name": group.name, "count": group.subscribed_count}


def groups_with_counts():
    subscribed = Q(memberships__subscriber__status=Status.SUBSCRIBED, memberships__subscriber__deleted_at__isnull=True)
    return Group.objects.annotate(subscribed_count=Count("memberships", filter=subscribed)).order_by("name")


class RecipientsForm(forms.Form):
    """Step 1. A valid form sets ``recipient_count``: the de-duplicated count, computed here, not by the browser."""

    name = forms.CharField(
        label=gettext_lazy("Campaign name"),
        max_length=255,
        help_text=gettext_lazy("For you and your colleagues; subscribers never see it."),
    )
    audience = forms.ChoiceField(
        label=gettext_lazy("Send to"),
        choices=[
            (ALL, gettext_lazy("All subscribers")),
            (GROUPS, gettext_lazy("Subscribers in chosen groups or segments")),
        ],
        widget=NamedRadios,
        initial=ALL,
    )
    include_groups = GroupChoiceField(
        queryset=Group.objects.none(),
        required=False,
        label=gettext_lazy("Groups"),
        help_text=gettext_lazy("Subscribers in any of these groups; someone in several groups gets one message."),
    )
    exclude_groups = GroupChoiceField(
        queryset=Group.objects.none(),
        required=False,
        label=gettext_lazy("Except members of"),
        help_text=gettext_lazy("Nobody in these groups gets this newsletter."),
    )
    include_segments = forms.ModelMultipleChoiceField(
        queryset=Segment.objects.all(),
        required=False,
        widget=NamedCheckboxes,
        label=gettext_lazy("Segments"),
        help_text=gettext_lazy("Also the subscribers of these segments, as they are when the campaign starts."),
    )
    exclude_segments = forms.ModelMultipleChoiceField(
        queryset=Segment.objects.all(),
        required=False,
        widget=NamedCheckboxes,
        label=gettext_lazy("Except people in segments"),
        help_text=gettext_lazy("Nobody in these segments gets this newsletter."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("include_groups", "exclude_groups"):
            self.fields[name].queryset = groups_with_counts()
        for name in ("audience", "include_groups", "exclude_groups", "include_segments", "exclude_segments"):
            self.fields[name].widget.group_label = self.fields[name].label
        self.recipient_count = None

    @classmethod
    def initial_for(cls, campaign):
        return {
            "name": campaign.name,
            "audience": ALL if campaign.all_subscribers else GROUPS,
            "include_groups": list(campaign.include_groups.all()),
            "exclude_groups": list(campaign.exclude_groups.all()),
            "include_segments": segment_ids(campaign)[0],
            "exclude_segments": segment_ids(campaign)[1],
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        everyone = data["audience"] == ALL
        include = [] if everyone else list(data["include_groups"])
        exclude = list(data["exclude_groups"])
        segments = [] if everyone else [s.pk for s in data["include_segments"]]
        left_out = [s.pk for s in data["exclude_segments"]]
        if not everyone and not include and not segments:
            self.add_error("include_groups", _("Choose at least one group or segment, or send to all subscribers."))
            return data
        if set(include) & set(exclude):
            self.add_error("exclude_groups", _("A group can't be both chosen and excepted."))
            return data
        if set(segments) & set(left_out):
            self.add_error("exclude_segments", _("A segment can't be both chosen and excepted."))
            return data
        data["all_subscribers"], data["include_groups"], data["segments"] = everyone, include, segments
        self.recipient_count = lifecycle.count_recipients(
            everyone,
            [g.pk for g in include],
            [g.pk for g in exclude],
            include_q=segments_q(segments) if segments else None,
            exclude_q=segments_q(left_out) if left_out else None,
        )
        if not self.recipient_count:
            raise forms.ValidationError(_("Nobody would get this newsletter: no subscribed member matches."))
        return data

    def save(self, campaign):
        """Store the choice on a draft campaign (``set_audience`` raises CampaignError once it has started)."""
        data = self.cleaned_data
        lifecycle.set_audience(
            campaign,
            data["all_subscribers"],
            [g.pk for g in data["include_groups"]],
            [g.pk for g in data["exclude_groups"]],
            other_audience=bool(data["segments"]),
        )
        set_campaign_segments(campaign, data["segments"], [s.pk for s in data["exclude_segments"]])
        if campaign.name != data["name"]:
            campaign.name = data["name"]
            campaign.save(update_fields=["name"])


class FollowUpRecipientsForm(forms.Form):
    """Step 1 of a follow-up: its audience is part of the earlier campaign's; the name is chosen, and segments may
    narrow it (only their people) or leave people out."""

    name = RecipientsForm.base_fields["name"]
    include_segments = forms.ModelMultipleChoiceField(
        queryset=Segment.objects.all(),
        required=False,
        widget=NamedCheckboxes,
        label=gettext_lazy("Only people in segments"),
        help_text=gettext_lazy("Of the follow-up's audience, only those in one of these segments get it."),
    )
    exclude_segments = RecipientsForm.base_fields["exclude_segments"]

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.recipient_count = None
        for name in ("include_segments", "exclude_segments"):
            self.fields[name].widget.group_label = self.fields[name].label

    @classmethod
    def initial_for(cls, campaign):
        include, exclude = segment_ids(campaign)
        return {"name": campaign.name, "include_segments": include, "exclude_segments": exclude}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        only = [s.pk for s in data["include_segments"]]
        left_out = [s.pk for s in data["exclude_segments"]]
        if set(only) & set(left_out):
            self.add_error("exclude_segments", _("A segment can't be both chosen and excepted."))
            return data
        audience = follow_ups.follow_up_recipients(self.campaign)
        self.recipient_count = lifecycle.narrowed(
            audience, segments_q(only) if only else None, segments_q(left_out) if left_out else None
        ).count()
        if not self.recipient_count:
            raise forms.ValidationError(_("Nobody would get this follow-up: no subscribed person matches."))
        return data

    def save(self, campaign):
        data = self.cleaned_data
        set_campaign_segments(campaign, [s.pk for s in data["include_segments"]],
                              [s.pk for s in data["exclude_segments"]])  # fmt: skip
        if campaign.name != data["name"]:
            campaign.name = data["name"]
            campaign.save(update_fields=["name"])


class CountForm(forms.Form):
    """The live count's query string: ``audience``, ``include_groups`` and ``exclude_groups`` as in RecipientsForm."""

    audience = forms.ChoiceField(choices=[(ALL, ALL), (GROUPS, GROUPS)])
    include_groups = forms.ModelMultipleChoiceField(queryset=Group.objects.all(), required=False)
    exclude_groups = forms.ModelMultipleChoiceField(queryset=Group.objects.all(), required=False)
    include_segments = forms.ModelMultipleChoiceField(queryset=Segment.objects.all(), required=False)
    exclude_segments = forms.ModelMultipleChoiceField(queryset=Segment.objects.all(), required=False)

    def count(self):
        data = self.cleaned_data
        everyone = data["audience"] == ALL
        include = [] if everyone else [g.pk for g in data["include_groups"]]
        segments = [] if everyone else [s.pk for s in data["include_segments"]]
        left_out = [s.pk for s in data["exclude_segments"]]
        if not everyone and not include and not segments:
            return 0
        return lifecycle.count_recipients(
            everyone,
            include,
            [g.pk for g in data["exclude_groups"]],
            include_q=segments_q(segments) if segments else None,
            exclude_q=segments_q(left_out) if left_out else None,
        )


class ChecksForm(forms.Form):
    """Step 2: with warnings on the checklist, the editor ticks that they read them."""

    accept_warnings = forms.BooleanField(
        label=gettext_lazy("I have read the warnings above and want to send anyway."), required=False
    )

    def __init__(self, *args, warnings=(), blocked=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.warnings = list(warnings)
        self.blocked = blocked
        if not self.warnings:
            del self.fields["accept_warnings"]

    def clean(self):
        data = super().clean()
        if self.blocked:
            raise forms.ValidationError(_("Fix the problems above before sending."))
        if self.warnings and not data.get("accept_warnings"):
            self.add_error("accept_warnings", _("Tick this box to go on despite the warnings."))
        return data


class ScheduleForm(forms.Form):
    """Step 3: now, or at a time in the future (in the admin's time zone: the user's, else the site's)."""

    when = forms.ChoiceField(
        label=gettext_lazy("When"),
        choices=[(NOW, gettext_lazy("Send now")), (LATER, gettext_lazy("Schedule for later"))],
        widget=forms.RadioSelect,
        initial=NOW,
    )
    scheduled_at = forms.DateTimeField(label=gettext_lazy("Date and time"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheduled_at"].widget = AdminDateTimeInput()
        self.fields["scheduled_at"].help_text = _("Time zone: %(zone)s") % {
            "zone": timezone.get_current_timezone_name()
        }

    def clean(self):
        data = super().clean()
        if data.get("when") == NOW and data.get("scheduled_at"):
            # A date with "Send now" is ambiguous: never send now what someone meant for later.
            self.add_error("when", _("You chose a date: choose “Schedule for later”, or clear the date."))
            return data
        if data.get("when") != LATER:
            data["scheduled_at"] = None
            return data
        when = data.get("scheduled_at")
        if when is None:
            if "scheduled_at" not in self.errors:
                self.add_error("scheduled_at", _("Choose the date and time to send at."))
        elif when <= timezone.now():
            self.add_error("scheduled_at", _("Choose a time in the future."))
        return data
