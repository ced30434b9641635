"""Double opt-in: a form submission makes a pending subscriber and a consent record; the signed
link in the confirmation email, POSTed from the confirmation page, subscribes them.

Plain functions; the views in ``views.py`` only parse requests and call these.
"""

import enum
import ipaddress

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from ..conf import newsletter_settings
from ..taskqueue import enqueue_on_commit
from ..tokens import InvalidToken, make_token, read_token
from .models import Consent, Group, Source, Status, Subscriber, Suppression, email_digest
from .services import add_to_group, change_status, record_status_events, restore_subscriber
from .subscription_form import DEFAULT_CONSENT_TEXT

BUILTIN_KEYS = ("first_name", "last_name", "language")
# Consent.data key of the group ids a sign-up through the Python API joins once confirmed (besides its form's).
GROUPS_KEY = "groups"

# Sent (with ``consent_id``) inside the sign-up's transaction when a consent awaits its confirmation email. The mail
# goes out through the send stage's pipeline (DKIM, transport), a floor above this one: ``send.system_mail`` receives
# this signal and queues its task, so that audience never names send.
confirmation_requested = Signal()
# Sent by ``confirm_subscription`` once a subscription is confirmed (the form's groups joined), inside its transaction,
# with ``consent_id``, ``subscriber_id``, ``form_id`` (or None) and ``group_ids`` (the form's): growth's automations.
subscription_confirmed = Signal()


class ConfirmResult(enum.Enum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    GONE = "gone"  # the subscriber was erased since


def minimise_ip(ip):
    """Keep only the network: /24 for IPv4, /48 for IPv6 (enough for abuse handling, not a person)."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def split_values(values):
    """(builtin field values, custom field values) from a cleaned submission."""
    builtin = {key: values[key] for key in BUILTIN_KEYS if values.get(key) not in (None, "")}
    custom = {
        key: value
        for key, value in values.items()
        if key not in BUILTIN_KEYS and key not in ("email", GROUPS_KEY) and value not in (None, "")
    }
    return builtin, custom


def submit_subscription(form, email, values, ip="", *, source=Source.FORM, group_ids=()):
    """Record a sign-up through ``form`` and queue its confirmation email; return the Consent.

    ``email`` is normalised and ``values`` cleaned already. A new address becomes a ``pending``
    subscriber with the submitted data; an existing one keeps its status and data until the
    person confirms (so nobody can overwrite someone else's name by typing their address).
    ``form`` may be None (a sign-up through the Python API, ``source``): the confirmation email then uses the
    default texts. ``group_ids``: groups joined on confirmation, besides the form's.
    """
    builtin, custom = split_values(values)
    joins = {GROUPS_KEY: [int(pk) for pk in group_ids]} if group_ids else {}
    with transaction.atomic():
        subscriber = Subscriber.all_objects.select_for_update().filter(email=email).first()
        if subscriber is None:
            try:
                with transaction.atomic():
                    subscriber = Subscriber.all_objects.create(
                        email=email, status=Status.PENDING, source=source, data=custom, **builtin
                    )
            except IntegrityError:  # created by a concurrent submission
                subscriber = Subscriber.all_objects.select_for_update().get(email=email)
            else:
                note = f"form {form.pk}" if form is not None else ""
                record_status_events([(subscriber.pk, "", Status.PENDING)], source, note=note)
        consent = Consent.objects.create(
            subscriber=subscriber,
            form=form,
            text=str(form.consent_text if form is not None else DEFAULT_CONSENT_TEXT),
            data={"email": email, **builtin, **custom, **joins},
            ip_network=minimise_ip(ip),
            source=source,
        )
        confirmation_requested.send(sender=Consent, consent_id=consent.pk)
    return consent


def confirmation_token(consent):
    return make_token("confirm", consent.pk)


def consent_from_token(token):
    """The Consent a confirmation token was made for; raise InvalidToken if forged or expired."""
    pk = read_token("confirm", token, max_age=newsletter_settings.CONFIRMATION_MAX_AGE)
    consent = Consent.objects.select_related("form", "subscriber").filter(pk=pk).first()
    if consent is None:
        raise InvalidToken("unknown")
    return consent


def confirm_subscription(consent_id):
    """Confirm a consent: apply its data, subscribe, join the form's groups. Idempotent."""
    with transaction.atomic():
        consent = Consent.objects.select_for_update(of=("self",)).select_related("form").filter(pk=consent_id).first()
        if consent is None or consent.subscriber_id is None:
            return ConfirmResult.GONE
        if consent.confirmed_at is not None:
            return ConfirmResult.ALREADY_CONFIRMED
        subscriber = Subscriber.all_objects.select_for_update().get(pk=consent.subscriber_id)
        builtin, custom = split_values(consent.data)
        # The person proved they own the address: the data they submitted wins.
        for key, value in builtin.items():
            setattr(subscriber, key, value)
        subscriber.data = {**subscriber.data, **custom}
        subscriber.updated_at = timezone.now()
        subscriber.save(update_fields=[*builtin.keys(), "data", "updated_at"])
        restore_subscriber(subscriber)
        Suppression.objects.filter(email_sha256=email_digest(subscriber.email)).delete()
        change_status([subscriber.pk], Status.SUBSCRIBED, Source.CONFIRMATION, note=f"consent {consent.pk}")
        if consent.form is not None:
            for group in consent.form.groups.all():
                add_to_group([subscriber.pk], group)
        for group in Group.objects.filter(pk__in=(consent.data or {}).get(GROUPS_KEY) or ()):
            add_to_group([subscriber.pk], group)
        consent.confirmed_at = timezone.now()
        consent.save(update_fields=["confirmed_at"])
        subscription_confirmed.send(
            sender=Consent,
            consent_id=consent.pk,
            subscriber_id=subscriber.pk,
            form_id=consent.form_id,
            group_ids=[group.pk for group in consent.form.groups.all()] if consent.form is not None else [],
        )
        if consent.form is not None and consent.form.notify_email:
            enqueue_on_commit("wagtail_newsletter.audience.tasks.notify_manager", consent.pk)
    return ConfirmResult.CONFIRMED
