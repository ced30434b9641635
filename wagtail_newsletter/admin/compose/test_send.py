"""Test send: "Send test…" in a newsletter page's action menu opens a form; the mail goes out from a django-q2 task.

The view sends the page's latest revision (the draft the editor saved) — or, opened from a campaign
(``?campaign=<id>``, the send wizard's languages), exactly the revision that campaign sends for this page — shows its
pre-flight checklist above the form, and enqueues one ``send.test_send.send_test_task`` for all the addresses.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.generic import FormView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.log_actions import LogFormatter, log
from wagtail.snippets.widgets import AdminSnippetChooser

from ... import taskqueue
from ...audience.fields import InvalidValue, normalise_email
from ...audience.models import Subscriber
from ...send import translations
from ...send.models import Campaign
from ...send.test_send import MAX_TEST_ADDRESSES, parse_test_addresses, sender_problems
from .pages import (
    NewsletterEditMenuItem,
    NewsletterToolViewMixin,
    checklist,
    no_revision_message,
)

TASK = "wagtail_newsletter.send.test_send.send_test_task"
# The page's history records each test: who sent which revision to which addresses.
LOG_ACTION = "wagtail_newsletter.test_send"


class TestSentLogFormatter(LogFormatter):
    label = gettext_lazy("Send test")

    def format_message(self, log_entry):
        addresses = ", ".join((log_entry.data or {}).get("addresses", []))
        return _("Test sent to %(addresses)s") % {"addresses": addresses}


def register_log_actions(actions):
    """register_log_actions hook."""
    actions.register_action(LOG_ACTION)(TestSentLogFormatter)


class TestSendForm(forms.Form):
    addresses = forms.CharField(
        label=gettext_lazy("Send to"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Up to %(max)d addresses, separated by commas or line breaks.")
        % {"max": MAX_TEST_ADDRESSES},
    )
    subscriber = forms.ModelChoiceField(
        queryset=Subscriber.objects.all(),
        required=False,
        label=gettext_lazy("Render as subscriber"),
        help_text=gettext_lazy("Fill the variables with this subscriber's data. Empty: sample data."),
    )
    subscriber_email = forms.CharField(
        required=False,
        label=gettext_lazy("…or the subscriber with this address"),
        max_length=254,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built here, not at import: the chooser needs the snippet URLs, which exist once the admin is loaded.
        self.fields["subscriber"].widget = AdminSnippetChooser(Subscriber)

    def clean_addresses(self):
        try:
            return parse_test_addresses(self.cleaned_data["addresses"])
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc

    def clean_subscriber_email(self):
        raw = self.cleaned_data["subscriber_email"].strip()
        if not raw:
            return None
        try:
            email = normalise_email(raw)
        except InvalidValue as exc:
            raise ValidationError(str(exc)) from exc
        subscriber = Subscriber.objects.filter(email=email).first()
        if subscriber is None:
            raise ValidationError(_("No subscriber has this address."))
        return subscriber

    def render_as(self):
        """The chosen subscriber (the chooser wins over the address), or None for sample data."""
        return self.cleaned_data.get("subscriber") or self.cleaned_data.get("subscriber_email")


class TestSendView(NewsletterToolViewMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "wagtail_newsletter/admin/compose/test_send.html"
    form_class = TestSendForm
    header_icon = "mail"
    page_title = gettext_lazy("Send a test")
    url_name = "newsletter_compose:test_send"

    @cached_property
    def campaign(self):
        """The campaign named by ``?campaign=`` (from the send wizard's languages), whose version of the page is
        tested instead of the latest draft; None without it."""
        pk = self.request.GET.get("campaign")
        if pk is None:
            return None
        if not pk.isdigit():
            raise Http404
        return get_object_or_404(Campaign, pk=pk)

    @cached_property
    def campaign_version(self):
        """(revision, page object) the campaign sends for this page, or None."""
        return translations.campaign_content(self.campaign, self.page.pk) if self.campaign else None

    @cached_property
    def revision(self):
        if self.campaign is not None:
            return self.campaign_version[0] if self.campaign_version else None
        return self.page.get_latest_revision()

    @cached_property
    def content(self):
        """The page as the campaign sends it, else as the editor last saved it."""
        if self.campaign is not None:
            return self.campaign_version[1] if self.campaign_version else self.page
        return self.revision.as_object() if self.revision else self.page

    def get_initial(self):
        return {"addresses": self.request.user.email or ""}

    def problems(self):
        if self.campaign is not None and self.campaign_version is None:
            return [_("The campaign “%(name)s” sends no version of this page.") % {"name": self.campaign.name}]
        if self.revision is None:
            return [no_revision_message()]
        return sender_problems(self.content)

    def action_url(self):
        url = reverse("newsletter_compose:test_send", args=[self.page.pk])
        return f"{url}?campaign={self.campaign.pk}" if self.campaign else url

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            page=self.page,
            revision=self.revision,
            problems=self.problems(),
            checks=checklist(self.content) if self.revision else [],
            campaign=self.campaign,
            action_url=self.action_url(),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
            submit_button_label=_("Send test"),
            submit_button_active_label=_("Sending…"),
            media=context["form"].media,  # the subscriber chooser's JavaScript
        )
        return context

    def form_valid(self, form):
        problems = self.problems()
        if problems:
            for problem in problems:
                form.add_error(None, problem)
            return self.form_invalid(form)
        addresses = form.cleaned_data["addresses"]
        subscriber = form.render_as()
        with transaction.atomic():
            # Who the test was rendered as stays out of the page's history (it is personal data).
            log(self.page, LOG_ACTION, user=self.request.user, revision=self.revision, data={"addresses": addresses})
            # A campaign's translation goes out in its locale's language (translations.translation_content).
            language = self.content.language if self.campaign else ""
            taskqueue.enqueue_on_commit(
                TASK, self.revision.pk, addresses, subscriber.pk if subscriber else None, self.request.user.pk, language
            )
        messages.success(
            self.request,
            ngettext(
                "A test of “%(title)s” is on its way to %(addresses)s.",
                "A test of “%(title)s” is on its way to %(addresses)s.",
                len(addresses),
            )
            % {"title": self.page.get_admin_display_title(), "addresses": ", ".join(addresses)},
        )
        return redirect("wagtailadmin_pages:edit", self.page.pk)


class TestSendMenuItem(NewsletterEditMenuItem):
    """ "Send test…" in the action menu of a saved newsletter page, for users who may edit it."""

    label = gettext_lazy("Send test…")
    name = "action-newsletter-test-send"
    icon_name = "mail"
    order = 900

    def get_url(self, parent_context):
        return reverse("newsletter_compose:test_send", args=[parent_context["page"].pk])
