"""Subscribers from code: subscribe one, upsert many, unsubscribe, forget.

Thin over ``audience``: one person's double opt-in is the sign-up forms' (``optin.submit_subscription``), many people
go through the importer's set-based chunk writers (``importing.import_subscribers``), status changes through
``services`` — so the rules are the same everywhere: a known address never gets its status changed by new data,
an unsubscribed, bounced or complained one is never subscribed again without the person's own confirmation, and a
forgotten (suppressed) one is never written again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from ..audience.fields import InvalidValue, coerce_field_value, normalise_email
from ..audience.import_readers import ImportFileError
from ..audience.importing import import_subscribers
from ..audience.models import STICKY_STATUSES, Consent, Field, Source, Status, Subscriber, Suppression
from ..audience.optin import confirmation_requested, submit_subscription
from ..audience.services import change_status, forget_subscribers
from ..audience.services import unsubscribe as unsubscribe_subscribers
from ..audience.subscription_form import DEFAULT_CONSENT_TEXT, SubscriptionForm
from ..conf import newsletter_settings
from .errors import InvalidInput, NotFound
from .lookup import clean_email, clean_language, clean_one_line, clean_source, get_subscriber, resolve_groups
from .results import Skipped, Subscription, UpsertResult

BUILTIN_FIELDS = ("first_name", "last_name")
_CHUNK = 2000


def _clean_fields(fields: Mapping[str, Any] | None) -> dict[str, Any]:
    """Built-in names and custom field values, checked and coerced; InvalidInput names the first bad one."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping):
        raise InvalidInput(_("fields must be a mapping of field keys to values."), field="fields")
    custom = {row.key: row for row in Field.objects.all()}
    values: dict[str, Any] = {}
    for key, raw in fields.items():
        if key in BUILTIN_FIELDS:
            label = _("First name") if key == "first_name" else _("Last name")
            values[key] = clean_one_line(raw, key, label, newsletter_settings.MAX_NAME_LENGTH)
        elif key in custom:
            try:
                value = coerce_field_value(custom[key], raw)
            except InvalidValue as error:
                raise InvalidInput(str(error), field=key) from error
            if value is not None:
                values[key] = value
        else:
            known = ", ".join([*BUILTIN_FIELDS, *custom])
            raise InvalidInput(
                _("“%(key)s” is not a subscriber field; use one of: %(known)s.") % {"key": key, "known": known},
                field=key,
            )
    return values


def _form(form: SubscriptionForm | int | None) -> SubscriptionForm | None:
    if form is None or isinstance(form, SubscriptionForm):
        return form
    found = SubscriptionForm.objects.filter(pk=form).first() if isinstance(form, int) else None
    if found is None:
        raise NotFound(_("No subscription form with id %(id)s.") % {"id": form}, field="form")
    return found


def subscribe(
    email: str,
    *,
    groups: Iterable[Any] = (),
    fields: Mapping[str, Any] | None = None,
    double_opt_in: bool = True,
    language: str | None = None,
    source: str = Source.API,
    form: SubscriptionForm | int | None = None,
    ip: str = "",
) -> Subscription:
    """Subscribe one address.

    ``groups``: Group objects, ids or names to join; ``fields``: ``first_name``, ``last_name`` and custom field
    keys; ``language``: a code such as "fr". Everything is checked first (InvalidEmail, InvalidInput, NotFound):
    on error nothing is written.

    With ``double_opt_in`` (the default) this is what a sign-up form does: a new address becomes ``pending``, a
    consent is recorded and the confirmation email is queued; the data and groups apply when the person confirms
    — even an address that unsubscribed may come back that way, by its owner's click. ``form``: a
    SubscriptionForm whose texts and groups to use (default texts without one); ``ip``: kept as its network only.

    Without it the caller vouches for the person's consent: a new address is subscribed at once, a pending one
    too, a known one gets its data merged and its groups — but an unsubscribed, bounced or complained address, or
    a forgotten one, is left alone (outcome "skipped", with the reason).
    """
    address = clean_email(email)
    values = _clean_fields(fields)
    if language is not None:
        values["language"] = clean_language(language)
    chosen = resolve_groups(groups)
    source = clean_source(source)
    form = _form(form)
    if double_opt_in:
        consent = submit_subscription(form, address, values, ip, source=source, group_ids=[g.pk for g in chosen])
        subscriber = consent.subscriber
        return Subscription(address, "pending", str(subscriber.status), subscriber.pk)

    known = Subscriber.all_objects.filter(email=address).values("pk", "status", "erase_after").first()
    if known and known["erase_after"] is not None:
        reason = _("This address is being erased.")
        return Subscription(address, "skipped", str(known["status"]), known["pk"], reason)
    if known and known["status"] in STICKY_STATUSES:
        reason = _("The address is %(status)s: only its owner can subscribe again (double opt-in).") % {
            "status": Status(known["status"]).label.lower()
        }
        return Subscription(address, "skipped", str(known["status"]), known["pk"], reason)
    if Suppression.contains(address):
        return Subscription(address, "skipped", "", None, _("This address is suppressed (forgotten)."))
    result = upsert_subscribers([{"email": address, **values}], groups=chosen, double_opt_in=False, source=source)
    subscriber = Subscriber.all_objects.get(email=address)
    outcome = "created" if result.created else "updated"
    return Subscription(address, outcome, str(subscriber.status), subscriber.pk)


class _RowsTable:
    """Mappings as the importer's table (``import_readers``): headers, numbered rows of values."""

    def __init__(self, rows: list[Mapping[str, Any]]):
        headers: dict[str, None] = {}
        for position, row in enumerate(rows, 1):
            if not isinstance(row, Mapping):
                raise InvalidInput(_("Row %(row)d is not a mapping of field keys to values.") % {"row": position},
                                   field="rows")  # fmt: skip
            if "email" not in row:
                raise InvalidInput(_("Row %(row)d has no “email”.") % {"row": position}, field="rows")
            headers.update(dict.fromkeys(row))
        self.headers = [str(header) for header in headers]
        self._rows = rows
        self._done = 0

    def rows(self):
        headers = self.headers
        for position, row in enumerate(self._rows, 1):
            self._done = position
            yield position, [_cell(row.get(header)) for header in headers]

    def check(self):
        return None

    def progress(self):
        return self._done, len(self._rows)


def _cell(value: Any) -> Any:
    """What the importer's row reader takes: text, or a typed value a custom field coerces (a date, True)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _addresses(rows: list[Mapping[str, Any]]) -> list[str]:
    """The valid addresses of ``rows``, normalised (invalid ones are the importer's to reject)."""
    found = []
    for row in rows:
        try:
            found.append(normalise_email(row.get("email")))
        except InvalidValue:
            continue
    return list(dict.fromkeys(found))


def _chunks(items: list, size: int = _CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert_subscribers(
    rows: Iterable[Mapping[str, Any]],
    *,
    groups: Iterable[Any] = (),
    double_opt_in: bool = False,
    source: str = Source.API,
    dry_run: bool = False,
    actor=None,
) -> UpsertResult:
    """Create or update many subscribers at once, set-based (the importer's chunk writers: a few statements per
    2,000 addresses), in one transaction.

    ``rows``: mappings with ``email`` and any of ``first_name``, ``last_name``, ``language`` and custom field keys
    (an unknown key raises InvalidInput before anything is written; so does an unknown group: NotFound). A row
    whose values are invalid (a bad address, a line break in a name, "abc" for a number) is skipped with its
    reason; several rows of one address merge (later non-empty values win).

    Statuses are respected: a known address gets its data merged and its groups, never a new status — an
    unsubscribed, bounced or complained one stays so (counted in ``kept_status``) and a forgotten (suppressed) one
    is skipped. Without ``double_opt_in`` (the default: the caller vouches for consent) new addresses are
    subscribed, and pending ones too. With it, new addresses are ``pending`` and each gets a confirmation email;
    nobody known is mailed. ``dry_run``: the same counts, everything rolled back.
    """
    rows = list(rows)
    chosen = resolve_groups(groups)
    source = clean_source(source)
    result = UpsertResult(dry_run=dry_run)
    if not rows:
        return result
    table = _RowsTable(rows)
    mapping = {header: header for header in table.headers}
    addresses = _addresses(rows)
    with transaction.atomic():
        known, kept = set(), {}
        for chunk in _chunks(addresses):
            known.update(Subscriber.all_objects.filter(email__in=chunk).values_list("email", flat=True))
            sticky = Subscriber.all_objects.filter(email__in=chunk, status__in=STICKY_STATUSES, erase_after=None)
            for status, count in sticky.values_list("status").annotate(n=Count("pk")).order_by():
                kept[status] = kept.get(status, 0) + count
        try:
            imported = import_subscribers(
                table, mapping, chosen, actor=actor, note=_("API upsert"), source=source,
                new_status=Status.PENDING if double_opt_in else Status.SUBSCRIBED,
            )  # fmt: skip
        except ImportFileError as error:  # a key that is no field
            raise InvalidInput(str(error), field="rows") from error
        rejected = {email for _line, email, _reason in imported.rejects}
        if double_opt_in:
            result.confirmations = _ask_confirmations([a for a in addresses if a not in known and a not in rejected])
        else:
            for chunk in _chunks([a for a in addresses if a in known]):
                pending = Subscriber.all_objects.filter(email__in=chunk, status=Status.PENDING, erase_after=None)
                change_status(pending, Status.SUBSCRIBED, source, actor=actor, note=_("API upsert"))
        result.created, result.updated, result.merged = imported.created, imported.updated, imported.merged
        result.skipped = imported.rejected
        result.skipped_rows = [Skipped(line, email, reason) for line, email, reason in imported.rejects]
        result.kept_status = kept
        if dry_run:
            transaction.set_rollback(True)
    return result


def _ask_confirmations(addresses: list[str]) -> int:
    """A consent and a confirmation email (queued on commit) for each new pending address."""
    asked = 0
    text = str(DEFAULT_CONSENT_TEXT)
    for chunk in _chunks(addresses):
        people = Subscriber.all_objects.filter(email__in=chunk, status=Status.PENDING).values_list("pk", "email")
        consents = Consent.objects.bulk_create(
            [Consent(subscriber_id=pk, text=text, data={"email": email}, source=Source.API) for pk, email in people]
        )
        for consent in consents:
            confirmation_requested.send(sender=Consent, consent_id=consent.pk)
        asked += len(consents)
    return asked


def unsubscribe(email: str, *, reason: str | None = None, source: str = Source.API) -> bool:
    """Unsubscribe ``email`` (recorded in its history with ``reason``); False when it was not subscribed or pending
    (already unsubscribed, or bounced or complained: those statuses are kept). NotFound for an unknown address."""
    note = clean_one_line(reason, "reason", _("Reason"), 255) if reason else ""
    source = clean_source(source)
    subscriber = get_subscriber(email)
    if subscriber.status not in (Status.SUBSCRIBED, Status.PENDING):
        return False
    return bool(unsubscribe_subscribers([subscriber.pk], source=source, note=note))


def forget(email: str) -> bool:
    """Erase ``email`` (GDPR): hidden at once, every trace erased after ``FORGET_GRACE_DAYS``, the address kept only
    as a hash that no import or sign-up can write again. False when already being forgotten; NotFound when unknown
    (a deleted subscriber may still be forgotten)."""
    subscriber = get_subscriber(email, hidden=True)
    return bool(forget_subscribers([subscriber.pk]))
