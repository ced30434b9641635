"""django-q2 tasks of the audience stage. Each takes primary keys and is idempotent."""

from .services import erase_forgotten


def erase_forgotten_task():
    return erase_forgotten()


def _consent_to_mail(consent_id):
    from .models import Consent

    consent = Consent.objects.select_related("form", "subscriber").filter(pk=consent_id).first()
    if consent is None or consent.form is None or consent.subscriber is None:
        return None  # the form was deleted or the person erased since
    return consent


def send_confirmation_email(consent_id):
    """Send the double opt-in email of a consent; skipped once confirmed (so a retry after
    confirmation, or a late duplicate task, mails nobody). Returns "sent" or "skipped"."""
    from django.conf import settings
    from django.utils import translation

    from .confirmation_email import build_confirmation_email, consent_language

    consent = _consent_to_mail(consent_id)
    if consent is None or consent.confirmed_at is not None:
        return "skipped"
    with translation.override(consent_language(consent) or settings.LANGUAGE_CODE):
        build_confirmation_email(consent).send()
    return "sent"


def notify_manager(consent_id):
    """Tell the form's ``notify_email`` that a subscription was confirmed. Returns "sent" or "skipped"."""
    from .confirmation_email import build_manager_notification

    consent = _consent_to_mail(consent_id)
    if consent is None or not consent.form.notify_email or consent.confirmed_at is None:
        return "skipped"
    build_manager_notification(consent).send()
    return "sent"
