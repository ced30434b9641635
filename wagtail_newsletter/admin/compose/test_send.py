"""Test send: "Send test…" in a newsletter page's action menu opens a form; the mail goes out from a django-q2 task.

The view sends the page's latest revision (the draft the editor saved), shows its pre-flight checklist above the
form, and enqueues one ``send.test_send.send_test_task`` for all the addresses.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect
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
    def revision(self):
        return self.page.get_latest_revision()

    @cached_property
    def content(self):
        """The page as the editor last saved it."""
        return self.revision.as_object() if self.revision else self.page

    def get_initial(self):
        return {"addresses": self.request.user.email or ""}

    def problems(self):
        if self.revision is None:
            return [no_revision_message()]
        return sender_problems(self.content)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            page=self.page,
            revision=self.revision,
            problems=self.problems(),
            checks=checklist(self.revision) if self.revision else [],
            action_url=reverse("newsletter_compose:test_send", args=[self.page.pk]),
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
            taskqueue.enqueue_on_commit(
                TASK, self.revision.pk, addresses, subscriber.pk if subscriber else None, self.request.user.pk
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
