"""The send wizard's A/B test step: instead of sending the campaign to everyone, test 2–4 variants on samples first.

Reached from the confirm step (the checklist accepted, as for any send); its POST makes the test and starts it in one
transaction (``growth.ab_start``): an error leaves nothing behind — no test, no variant campaign, no sample.
"""

from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView

from ...growth.ab_start import AbTestError, create_ab_test, start_ab_test
from ...send import campaigns as lifecycle
from .ab_test_form import AbTestForm
from .wizard import WizardStepMixin, forget_wizard_state, url

NAMESPACE = "newsletter_ab_tests"


def ab_url(name, *args):
    return reverse(f"{NAMESPACE}:{name}", args=args)


class AbTestSetupView(WizardStepMixin, FormView):
    """The variants, their samples and the winner's rule of a draft campaign; starts the test."""

    step = "confirm"  # shown as the last step of the wizard
    form_class = AbTestForm

    def missing_step(self):
        if self.campaign.follow_up:
            return "send_confirm"  # a follow-up's audience is fixed: no samples to draw
        return None if "accepted" in self.state else "send_checks"

    def get_template_names(self):
        return ["wagtail_newsletter/admin/ab_tests/setup.html"]

    def get_page_title(self):
        return _("A/B test")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "campaign": self.campaign}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            back_url=url("send_confirm", self.campaign.pk),
            count=lifecycle.count_recipients_of(self.campaign),
            submit_button_label=_("Start the A/B test"),
            submit_button_active_label=_("Starting…"),
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            with transaction.atomic():
                test = create_ab_test(
                    self.campaign,
                    data["variants"],
                    metric=data["metric"],
                    wait_minutes=data["wait_hours"] * 60,
                    send_winner=data["send_winner"],
                    user=self.request.user,
                )
                test = start_ab_test(test, self.request.user)
        except AbTestError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        forget_wizard_state(self.request, self.campaign)
        return redirect(ab_url("report", test.pk))
