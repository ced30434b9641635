"""The public sign-up endpoint: what a subscription form does, for pages and apps that draw their own form.

No API key: it is called from visitors' browsers (CORS: ``API_CORS_ALLOWED_ORIGINS``, applied in ``urls``). The
checks are the forms' own, in the same order (``audience.views.process_signup``): body size, rate limit per IP
network, honeypot, render stamp (fill time and age, from ``GET`` of the form), field validation, rate limit per
address; then the double opt-in of ``audience.optin``. A new, a pending and a subscribed address get the same
answer, so nobody learns who is on the list.
"""

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from ...audience import abuse
from ...audience.optin import submit_subscription
from ...audience.signup_form import CONSENT_NAME, STAMP_NAME, SignupForm
from ...audience.subscription_form import SubscriptionForm
from ...conf import newsletter_settings
from .problems import ApiProblem, not_found
from .schemas import ID_PATH, SignupAccepted, SignupFormOut

router = Router(tags=["subscription"])


class SignupIn(Schema):
    email: str = Field(..., max_length=254)
    consent: bool = Field(..., description="The person ticked the consent (the form's consent_text).")
    rendered: str = Field("", max_length=200, description="The stamp of GET /subscription-forms/{id}.")
    honeypot: str = Field("", max_length=1000, description="The value of a hidden input people never fill.")
    fields: dict[str, str | int | float | bool | None] = Field(
        default_factory=dict, description="first_name, last_name, language and custom fields, as the form asks."
    )


def _form(form_id):
    form = SubscriptionForm.objects.filter(pk=form_id).first()
    if form is None:
        raise not_found(_("No subscription form has the id %(id)s.") % {"id": form_id})
    return form


@router.get("/subscription-forms/{int:form_id}", response=SignupFormOut, auth=None, summary="A sign-up form")
def get_form(request, form_id: int = ID_PATH):
    """What the form asks and a fresh ``stamp`` to send back as ``rendered``."""
    form = _form(form_id)
    signup = SignupForm(form)
    fields = [
        {"name": name, "label": str(signup.fields[name].label), "required": signup.fields[name].required,
         "choices": [value for value, _label in getattr(signup.fields[name], "choices", []) if value]}
        for name in signup.person_field_names()
    ]  # fmt: skip
    return {"id": form.pk, "title": form.title, "consent_text": form.consent_text, "fields": fields,
            "honeypot_field": signup.honeypot_name, "stamp": abuse.make_render_stamp(form.pk)}  # fmt: skip


def _rate_limited(period):
    return ApiProblem(
        429, "rate_limited",
        _("We received too many sign-ups from you in a short time. Please wait a while and try again."),
        headers={"Retry-After": str(period)},
    )  # fmt: skip


@router.post("/subscription-forms/{int:form_id}/signups", response={202: SignupAccepted}, auth=None, summary="Sign up")
def sign_up(request, payload: SignupIn, form_id: int = ID_PATH):
    """Record a sign-up: the person gets the confirmation mail and is subscribed once they confirm."""
    form = _form(form_id)
    if abuse.body_too_large(request.META.get("CONTENT_LENGTH")):
        raise ApiProblem(413, "too_large", _("The form you sent is too large."))
    if not abuse.allow_ip(request.META.get("REMOTE_ADDR", "")):
        raise _rate_limited(newsletter_settings.RATE_LIMIT_PER_IP[1])
    accepted = {"detail": _("Check your inbox: we sent you an email to confirm your subscription.")}
    if abuse.honeypot_filled(payload.honeypot):
        return Status(202, accepted)  # a bot: answer like a success, write and send nothing
    signup = SignupForm(form, data=_form_data(signup_fields(payload), payload))
    timing = abuse.check_render_stamp(payload.rendered, form.pk)
    if timing == abuse.FormTiming.TOO_FAST:
        raise _invalid(_("That was quick! Please check your details and send the form again."), "rendered")
    if timing != abuse.FormTiming.OK:
        raise _invalid(_("This form has expired: ask for a new stamp and send it again."), "rendered")
    if not signup.is_valid():
        errors = [(_location(name), message) for name, messages in signup.errors.items() for message in messages]
        raise ApiProblem(422, "invalid_value", errors[0][1], errors=errors)
    email, values = signup.subscription_values()
    if not abuse.allow_email(email):
        raise _rate_limited(newsletter_settings.RATE_LIMIT_PER_EMAIL[1])
    submit_subscription(form, email, values, ip=request.META.get("REMOTE_ADDR", ""))
    return Status(202, accepted)


def signup_fields(payload):
    return {key: value for key, value in payload.fields.items() if value is not None}


def _form_data(values, payload):
    return {**values, "email": payload.email, CONSENT_NAME: "on" if payload.consent else "", STAMP_NAME: ""}


def _location(name):
    if name in ("email", CONSENT_NAME):
        return ["body", name]
    return ["body"] if name == "__all__" else ["body", "fields", name]


def _invalid(message, name):
    return ApiProblem(422, "invalid_value", message, errors=[(["body", name], message)])
