"""django-q2 tasks of the audience stage. Each takes primary keys and is idempotent.

The confirmation email goes out through the send stage's pipeline (``send.system_mail``, which receives
``optin.confirmation_requested``).
"""

from .confirmation_email import build_manager_notification
from .models import Consent, Source


def consent_to_mail(consent_id):
    consent = Consent.objects.select_related("form", "subscriber").filter(pk=consent_id).first()
    if consent is None or consent.subscriber is None:
        return None  # the person was erased since
    if consent.form is None and consent.source == Source.FORM:
        return None  # the form was deleted since (a sign-up through the API has none: default texts)
    return consent


def notify_manager(consent_id):
    """Tell the form's ``notify_email`` that a subscription was confirmed. Returns "sent" or "skipped"."""
    consent = consent_to_mail(consent_id)
    if consent is None or consent.form is None or not consent.form.notify_email or consent.confirmed_at is None:
        return "skipped"
    build_manager_notification(consent).send()
    return "sent"
