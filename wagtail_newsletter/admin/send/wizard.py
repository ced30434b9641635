"""The send wizard: recipients → pre-flight checklist → now or later → confirm with the count.

The campaign is created as a draft when step 1 is first submitted; later steps change that draft, and the final
POST starts or schedules it through ``send.campaigns``. A campaign that is no longer a draft never goes through the
wizard again (its steps redirect to its page), so a double submit of the last step starts nothing twice. What the
editor chose at steps 2 and 3 lives in the session until the campaign starts; each step is validated again on the
server, and the final step re-checks everything.
"""

from typing import NamedTuple

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import FormView, TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from ...compose.checks import ERROR, WARNING, preflight
from ...deliverability.spam_score import campaign_spam_checks
from ...growth import follow_ups
from ...growth.segments import Segment, segment_ids
from ...send import campaigns as lifecycle
from ...send import translations
from ...send.models import Campaign, CampaignStatus
from ...send.outgoing import sender_of
from ...send.sender_domains import sender_domain_checks
from ..compose.pages import is_newsletter_page, no_revision_message
from ..permissions import can_send
from .campaign_forms import ChecksForm, FollowUpRecipientsForm, RecipientsForm, ScheduleForm, newsletter_pages
from .languages import language_rows, set_fallback

NAMESPACE = "newsletter_campaigns"
SESSION_KEY = "wagtail_newsletter_send_wizard"
STEPS = [
    ("recipients", gettext_lazy("Recipients")),
    ("checks", gettext_lazy("Checklist")),
    ("schedule", gettext_lazy("When")),
    ("confirm", gettext_lazy("Confirm")),
]


def url(name, *args):
    return reverse(f"{NAMESPACE}:{name}", args=args)


def campaign_breadcrumbs(view, campaign, label):
    """Breadcrumbs of a page about ``campaign``: … › Campaigns › its name › ``label``."""
    return [
        *view.breadcrumbs_items,
        {"url": url("index"), "label": _("Campaigns")},
        {"url": url("detail", campaign.pk), "label": campaign.name},
        {"url": "", "label": label},
    ]


def wizard_state(request, campaign):
    return request.session.get(SESSION_KEY, {}).get(str(campaign.pk), {})


def save_wizard_state(request, campaign, **values):
    states = request.session.get(SESSION_KEY, {})
    states.setdefault(str(campaign.pk), {}).update(values)
    request.session[SESSION_KEY] = states  # a new assignment: the session is saved


def forget_wizard_state(request, campaign, *keys):
    """Forget these choices (all of them without ``keys``) made in the wizard for ``campaign``."""
    states = request.session.get(SESSION_KEY, {})
    state = states.get(str(campaign.pk))
    if state is None:
        return
    if keys:
        for key in keys:
            state.pop(key, None)
    else:
        del states[str(campaign.pk)]
    request.session[SESSION_KEY] = states


def scheduled_time(state):
    """The aware datetime chosen at step 3, None for "now"."""
    return parse_datetime(state["when"]) if state.get("when") else None


class Evaluation(NamedTuple):
    """What step 2 shows and the last step re-checks: ``checks`` of the campaign's own revision, ``languages``
    ([{code, name, checks}]) of each translation it will send, and what check_can_send objects to besides."""

    checks: list
    problems: list
    languages: list

    @property
    def has_errors(self):
        every = self.checks + [check for language in self.languages for check in language["checks"]]
        return any(check.level == ERROR for check in every)

    @property
    def blocked(self):
        return bool(self.problems) or self.has_errors

    @property
    def warning_codes(self):
        """Codes of the warnings to accept; a translation's are prefixed with its language ("fr:html-too-large")."""
        codes = {check.code for check in self.checks if check.level == WARNING}
        for language in self.languages:
            codes |= {f"{language['code']}:{check.code}" for check in language["checks"] if check.level == WARNING}
        return sorted(codes)


def translation_checks(campaign, compiled_translations):
    """The checklist of each translation the campaign will send (the revision it would freeze), errors first."""
    languages = []
    for language, compiled in compiled_translations:
        checks = preflight(compiled) + campaign_spam_checks(campaign, compiled)
        checks.sort(key=lambda check: check.level != ERROR)
        languages.append({"code": language.code, "name": language.name, "checks": checks})
    return languages


def evaluate(campaign, user):
    """The Evaluation of a draft: the checklist of its revision and of each translation it will send, and what
    check_can_send objects to, without repeating the checklists' errors."""
    try:
        compiled = lifecycle.compile_campaign(campaign)
    except lifecycle.CampaignError as error:
        return Evaluation([], [str(error)], [])
    address = sender_of(campaign.from_name, campaign.from_email)[1]
    checks = preflight(compiled) + (sender_domain_checks(address) if address else [])
    checks += campaign_spam_checks(campaign, compiled)  # a warning at most: never blocks
    checks.sort(key=lambda check: check.level != ERROR)
    plan = translations.language_plan(campaign, lambda: lifecycle.campaign_recipients(campaign))
    languages = translation_checks(campaign, translations.compile_sent_translations(campaign, plan))
    errors = {check.message for check in checks if check.level == ERROR}
    errors |= {
        translations.language_problem(language["name"], check.message)
        for language in languages
        for check in language["checks"]
        if check.level == ERROR
    }
    problems = [p for p in lifecycle.check_can_send(campaign, user, compiled=compiled) if p not in errors]
    return Evaluation(checks, problems, languages)


def sender_context(campaign):
    """The sender the messages carry (the newsletter's, else DEFAULT_FROM_EMAIL) for admin/campaign/sender.html."""
    name, address = sender_of(campaign.from_name, campaign.from_email)
    return {"sender_name": name, "sender_email": address, "default_sender": not campaign.from_email}


def campaign_segments(campaign):
    """The segments ``campaign`` goes to and leaves out, for the summary (two small queries)."""
    include, exclude = segment_ids(campaign)
    return {
        "segments": list(Segment.objects.filter(pk__in=include)),
        "excluded_segments": list(Segment.objects.filter(pk__in=exclude)),
    }


class SendPermissionMixin:
    """Sending needs ``wagtail_newsletter.send_campaign``: 403 without it."""

    def dispatch(self, request, *args, **kwargs):
        if not can_send(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class WizardStepMixin(SendPermissionMixin, WagtailAdminTemplateMixin):
    """One step about an existing draft campaign (``pk`` in the URL)."""

    step = None
    header_icon = "mail"

    def dispatch(self, request, *args, **kwargs):
        if can_send(request.user):  # else SendPermissionMixin refuses
            response = self.load(request, **kwargs)
            if response is not None:
                return response
        return super().dispatch(request, *args, **kwargs)

    def load(self, request, pk, **kwargs):
        """Set ``campaign`` and ``state``; return a redirect when this step can't be shown."""
        self.campaign = get_object_or_404(Campaign, pk=pk)
        if self.campaign.status != CampaignStatus.DRAFT:
            # Already started or scheduled (maybe by this very form a moment ago): its page tells what happened.
            return redirect(url("detail", self.campaign.pk))
        self.state = wizard_state(request, self.campaign)
        missing = self.missing_step()
        return redirect(url(missing, self.campaign.pk)) if missing else None

    def missing_step(self):
        """The name of an earlier step still to be done, or None."""
        return None

    def get_template_names(self):
        return [f"wagtail_newsletter/admin/send_wizard/{self.step}.html"]

    @cached_property
    def page(self):
        return self.campaign.page.specific if self.campaign.page else None

    def get_page_title(self):
        return _("Send a newsletter")

    def get_page_subtitle(self):
        return self.campaign.name

    def get_breadcrumbs_items(self):
        return campaign_breadcrumbs(self, self.campaign, _("Send"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        names = [name for name, _label in STEPS]
        context.update(
            campaign=self.campaign,
            newsletter=self.page,
            steps=[
                {"name": name, "label": label, "number": number, "current": name == self.step}
                for number, (name, label) in enumerate(STEPS, start=1)
            ],
            back_url=url(f"send_{names[names.index(self.step) - 1]}", self.campaign.pk)
            if self.step != names[0]
            else None,
            action_url=self.request.path,
            submit_button_label=_("Next"),
            submit_button_active_label=_("Checking…"),
        )
        if context.get("form") is not None:
            context["media"] = context["form"].media  # the date and time picker of step 3
        return context


class RecipientsView(WizardStepMixin, FormView):
    """Step 1 of an existing draft (going back from a later step). A follow-up's audience is fixed: the step shows
    it with its count instead of the group picker."""

    step = "recipients"

    def get_form_class(self):
        return FollowUpRecipientsForm if self.campaign.follow_up else RecipientsForm

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        if self.campaign.follow_up:
            kwargs["campaign"] = self.campaign
        return kwargs

    def get_initial(self):
        return self.get_form_class().initial_for(self.campaign)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(count_url=url("count"), count=self.campaign_count())
        if self.campaign.follow_up:
            context.update(follow_up_audience=follow_ups.describe(self.campaign), count_url=None)
        return context

    def campaign_count(self):
        return lifecycle.count_recipients_of(self.campaign)

    def form_valid(self, form):
        try:
            form.save(self.campaign)
        except lifecycle.CampaignError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        return redirect(url("send_checks", self.campaign.pk))


class NewCampaignView(RecipientsView):
    """Step 1 for a newsletter page (``page_id`` in the URL): the draft campaign is created when it is valid."""

    def load(self, request, page_id, **kwargs):
        self.newsletter = get_object_or_404(newsletter_pages(), pk=page_id).specific
        if not is_newsletter_page(self.newsletter):
            raise Http404
        self.campaign = Campaign(name=self.newsletter.get_admin_display_title(), page=self.newsletter)
        self.state = {}

    @cached_property
    def page(self):
        return self.newsletter

    def get_initial(self):
        return {"name": self.campaign.name}

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": url("index"), "label": _("Campaigns")},
            {"url": "", "label": _("Send “%(title)s”") % {"title": self.newsletter.get_admin_display_title()}},
        ]

    def campaign_count(self):
        return lifecycle.count_recipients(True)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.newsletter.get_latest_revision() is None:
            context["problems"] = [no_revision_message()]
        return context

    def form_valid(self, form):
        if self.newsletter.get_latest_revision() is None:
            form.add_error(None, no_revision_message())
            return self.form_invalid(form)
        with transaction.atomic():
            user = self.request.user
            self.campaign = lifecycle.create_campaign(self.newsletter, user, name=form.cleaned_data["name"])
            form.save(self.campaign)
        return redirect(url("send_checks", self.campaign.pk))


class ChecksView(WizardStepMixin, FormView):
    """Step 2: the checklist of the campaign's revision; errors block, warnings need a tick."""

    step = "checks"
    form_class = ChecksForm

    @cached_property
    def evaluation(self):
        return evaluate(self.campaign, self.request.user)

    def get_form_kwargs(self):
        evaluation = self.evaluation
        return {**super().get_form_kwargs(), "warnings": evaluation.warning_codes, "blocked": evaluation.blocked}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        evaluation = self.evaluation
        newer = self.page and self.page.latest_revision_id != self.campaign.revision_id
        context.update(
            checks=evaluation.checks,
            problems=evaluation.problems,
            language_checks=evaluation.languages,
            newer_revision=newer,
            languages=language_rows(self.campaign),
        )
        return context

    def post(self, request, *args, **kwargs):
        if "use_latest_revision" in request.POST:  # the button next to the "changed since" warning
            return self.use_latest_revision()
        if "set_translation_fallback" in request.POST:  # the languages table's checkbox
            set_fallback(self.campaign, request.POST.get("translation_fallback") == "1")
            return redirect(url("send_checks", self.campaign.pk))
        return super().post(request, *args, **kwargs)

    def use_latest_revision(self):
        """Move the draft to the newsletter's latest revision and show this step again: its checklist is new, so
        warnings accepted for the old revision are forgotten."""
        try:
            lifecycle.refresh_revision(self.campaign, self.request.user)
        except lifecycle.CampaignError as error:
            messages.error(self.request, str(error))
        else:
            forget_wizard_state(self.request, self.campaign, "accepted")
            messages.success(self.request, _("The campaign now sends the latest version of the newsletter."))
        return redirect(url("send_checks", self.campaign.pk))

    def form_valid(self, form):
        save_wizard_state(self.request, self.campaign, accepted=form.warnings)
        return redirect(url("send_schedule", self.campaign.pk))


class ScheduleView(WizardStepMixin, FormView):
    step = "schedule"
    form_class = ScheduleForm

    def missing_step(self):
        return None if "accepted" in self.state else "send_checks"

    def get_initial(self):
        when = scheduled_time(self.state)
        return {"when": "later", "scheduled_at": when} if when else {}

    def form_valid(self, form):
        when = form.cleaned_data["scheduled_at"]
        save_wizard_state(self.request, self.campaign, when=when.isoformat() if when else None)
        return redirect(url("send_confirm", self.campaign.pk))


class ConfirmView(WizardStepMixin, TemplateView):
    """Step 4: everything re-checked and shown; the POST (nothing but the CSRF token) starts or schedules the
    campaign, once."""

    step = "confirm"

    def missing_step(self):
        if "accepted" not in self.state:
            return "send_checks"
        return None if "when" in self.state else "send_schedule"

    @cached_property
    def when(self):
        return scheduled_time(self.state)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        count = lifecycle.count_recipients_of(self.campaign)
        context.update(
            count=count,
            **sender_context(self.campaign),
            when=self.when,
            when_display=formats.date_format(timezone.localtime(self.when), "DATETIME_FORMAT") if self.when else "",
            zone=timezone.get_current_timezone_name(),
            groups=list(self.campaign.include_groups.all()),
            excluded=[] if self.campaign.follow_up else list(self.campaign.exclude_groups.all()),
            **campaign_segments(self.campaign),
            follow_up_audience=follow_ups.describe(self.campaign) if self.campaign.follow_up else "",
            languages=language_rows(self.campaign),
            submit_button_label=_("Schedule") if self.when else _("Send now"),
            submit_button_active_label=_("Starting…"),
        )
        return context

    def post(self, request, *args, **kwargs):
        evaluation = evaluate(self.campaign, request.user)
        if evaluation.has_errors or not set(evaluation.warning_codes) <= set(self.state["accepted"]):
            messages.warning(request, _("The checklist has changed since you went through it; please look again."))
            return redirect(url("send_checks", self.campaign.pk))
        if self.when and self.when <= timezone.now():
            messages.warning(request, _("The time you chose has passed; please choose another."))
            return redirect(url("send_schedule", self.campaign.pk))
        try:
            if self.when:
                lifecycle.schedule(self.campaign, self.when, request.user)
            else:
                lifecycle.send_now(self.campaign, request.user)
        except lifecycle.CampaignError as error:
            self.campaign.refresh_from_db()
            if self.campaign.status != CampaignStatus.DRAFT:  # another submit got there first
                return redirect(url("detail", self.campaign.pk))
            messages.error(request, str(error))
            return self.render_to_response(self.get_context_data())
        forget_wizard_state(request, self.campaign)
        if self.when:
            message = _("“%(name)s” is scheduled for %(when)s.") % {
                "name": self.campaign.name,
                "when": formats.date_format(timezone.localtime(self.when), "DATETIME_FORMAT"),
            }
        else:
            message = _("“%(name)s” is being sent.") % {"name": self.campaign.name}
        messages.success(request, message)
        return redirect(url("detail", self.campaign.pk))
