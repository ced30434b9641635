"""Subscribers: list (filters, cursor), get by address, create, update, bulk upsert, unsubscribe, forget.

Writes go through the audience floor's own functions, so the API follows the same rules as the admin and imports:
an upsert never changes anybody's status (a re-import never resubscribes an unsubscribed, bounced or complained
address), suppressed (forgotten) addresses are refused, every status change is recorded with the source "API".
"""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from ... import api as python_api
from ...audience import services
from ...audience.models import Membership, Source, Subscriber
from ...audience.optin import submit_subscription
from ...audience.subscription_form import SubscriptionForm
from . import auth, cursors, validation
from .problems import ApiProblem, not_found
from .schemas import (
    ID_QUERY,
    BulkIn,
    BulkResult,
    Done,
    StatusName,
    SubscriberIn,
    SubscriberOut,
    SubscriberPage,
    SubscriberPatch,
)
from .validation import RowError, check_groups, clean_email, clean_fields, clean_texts, custom_fields, raise_problem

router = Router(tags=["subscribers"])


def _group_ids(subscriber_ids):
    """{subscriber id: [group ids]} in one query."""
    groups = {pk: [] for pk in subscriber_ids}
    rows = Membership.objects.filter(subscriber_id__in=subscriber_ids).order_by("group_id")
    for subscriber_id, group_id in rows.values_list("subscriber_id", "group_id"):
        groups[subscriber_id].append(group_id)
    return groups


def subscriber_out(subscriber, group_ids):
    return {
        "id": subscriber.pk, "email": subscriber.email, "first_name": subscriber.first_name,
        "last_name": subscriber.last_name, "language": subscriber.language, "status": subscriber.status,
        "source": subscriber.source, "fields": subscriber.data or {}, "groups": group_ids,
        "first_subscribed_at": subscriber.first_subscribed_at, "status_changed_at": subscriber.status_changed_at,
        "created_at": subscriber.created_at, "updated_at": subscriber.updated_at,
    }  # fmt: skip


def _one_out(subscriber):
    return subscriber_out(subscriber, _group_ids([subscriber.pk])[subscriber.pk])


def find(email):
    """The visible subscriber of ``email`` (any case); ApiProblem 404 otherwise."""
    subscriber = Subscriber.objects.filter(email=(email or "").strip().lower()).first()
    if subscriber is None:
        raise not_found(_("No subscriber has the address “%(email)s”.") % {"email": email[:254]})
    return subscriber


@router.get("/subscribers", response=SubscriberPage, auth=auth.read, summary="List subscribers")
def list_subscribers(
    request,
    status: StatusName | None = None,
    group: int | None = ID_QUERY,
    email_contains: str | None = Query(None, max_length=254),
    created_after: datetime.datetime | None = None,
    updated_after: datetime.datetime | None = None,
    cursor: str | None = Query(None, max_length=100),
    limit: int = Query(100, ge=1, le=cursors.MAX_LIMIT),
):
    """Subscribers in the order they were added, `limit` at a time: pass `next_cursor` back as `cursor` for the
    next page (null on the last one). Deleted and forgotten subscribers are not listed."""
    queryset = Subscriber.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    if group is not None:
        queryset = queryset.filter(memberships__group_id=group)
    if email_contains:
        queryset = queryset.filter(email__contains=email_contains.strip().lower())
    for name, value, param in (
        ("created_at__gt", created_after, "created_after"),
        ("updated_at__gt", updated_after, "updated_after"),
    ):
        if value is not None:
            queryset = queryset.filter(**{name: validation.utc_time(value, ["query", param])})
    rows, next_cursor = cursors.page(queryset, cursor, limit)
    groups = _group_ids([row.pk for row in rows])
    return {"items": [subscriber_out(row, groups[row.pk]) for row in rows], "next_cursor": next_cursor}


# Before the paths with {email}: Django tries the patterns in this order.
@router.post("/subscribers/bulk", response=BulkResult, auth=auth.write, summary="Add or update many subscribers")
def bulk_upsert(request, payload: BulkIn):
    """Up to 10,000 people in one call, written set-based by the Python API's ``upsert_subscribers`` (the importer's
    writers: a fixed handful of statements per 2,000 addresses). New addresses are subscribed (``double_opt_in``:
    pending, each mailed a confirmation); known ones get their non-empty values and keep their status; deleted ones
    come back. Rows that can't be written are listed in ``rejects`` by their index; the others are written. An
    unknown custom field key or group refuses the whole call (422), before anything is written."""
    group_ids = check_groups(payload.groups)
    rows = [{"email": row.email, "first_name": row.first_name, "last_name": row.last_name, "language": row.language,
             **row.fields} for row in payload.subscribers]  # fmt: skip
    for index, row in enumerate(payload.subscribers):
        if clash := set(row.fields) & {"email", "first_name", "last_name", "language"}:
            message = _("“%(key)s” is not a custom field: send it beside fields.") % {"key": sorted(clash)[0]}
            raise ApiProblem(
                422, "invalid_value", message, errors=[(["body", "subscribers", index, "fields"], message)]
            )
    result = python_api.upsert_subscribers(
        rows, groups=group_ids, double_opt_in=payload.double_opt_in, source=Source.API, actor=request.auth.user
    )
    rejects = [{"index": skipped.row - 1, "email": skipped.email, "reason": skipped.reason}
               for skipped in sorted(result.skipped_rows, key=lambda skipped: skipped.row)]  # fmt: skip
    return {"created": result.created, "updated": result.updated + result.merged, "rejected": result.skipped,
            "rejects": rejects}  # fmt: skip


@router.get("/subscribers/{email}", response=SubscriberOut, auth=auth.read, summary="Get a subscriber")
def get_subscriber(request, email: str):
    return _one_out(find(email))


def _values(payload, fields):
    try:
        email = clean_email(payload.email)
        texts = clean_texts(payload.dict())
        data = clean_fields(payload.fields, fields)
    except RowError as error:
        raise_problem(error)
    return email, texts, data


@router.post("/subscribers", response={201: SubscriberOut}, auth=auth.write, summary="Add a subscriber")
def create_subscriber(request, payload: SubscriberIn):
    """Add one person: subscribed at once, or (``double_opt_in``) pending until they confirm the mail of
    ``form_id``. An address already on the list is a conflict (409): change it with PATCH."""
    email, texts, data = _values(payload, custom_fields())
    if Subscriber.objects.filter(email=email).exists():
        raise ApiProblem(409, "exists", _("“%(email)s” is already a subscriber: update it instead.") % {"email": email})
    if payload.double_opt_in:
        return Status(201, _create_pending(payload, email, texts, data))
    group_ids = check_groups(payload.groups)
    result = python_api.upsert_subscribers(
        [{"email": email, **texts, **data}], groups=group_ids, source=Source.API, actor=request.auth.user
    )
    if result.skipped:
        raise ApiProblem(422, "refused_address", result.skipped_rows[0].reason)
    return Status(201, _one_out(Subscriber.objects.get(email=email)))


def _create_pending(payload, email, texts, data):
    if payload.form_id is None:
        message = _("A double opt-in needs the subscription form whose consent and mail to use.")
        raise ApiProblem(422, "invalid_value", message, errors=[(["body", "form_id"], message)])
    if payload.groups:
        message = _("With a double opt-in, the person joins the groups of the form once they confirm.")
        raise ApiProblem(422, "invalid_value", message, errors=[(["body", "groups"], message)])
    form = SubscriptionForm.objects.filter(pk=payload.form_id).first()
    if form is None:
        message = _("No subscription form has the id %(id)s.") % {"id": payload.form_id}
        raise ApiProblem(422, "invalid_value", message, errors=[(["body", "form_id"], message)])
    consent = submit_subscription(form, email, {**{k: v for k, v in texts.items() if v}, **data})
    consent.subscriber.refresh_from_db()
    return _one_out(consent.subscriber)


@router.patch("/subscribers/{email}", response=SubscriberOut, auth=auth.write, summary="Change a subscriber")
def update_subscriber(request, email: str, payload: SubscriberPatch):
    """Change names, language, custom fields (merged; null removes one) or groups (replaced). The status changes
    only through unsubscribe (and the person's own confirmation)."""
    subscriber = find(email)
    values = payload.dict(exclude_unset=True)
    try:
        texts = clean_texts(values, partial=True)
        data = clean_fields(values.get("fields"), custom_fields(), allow_null=True)
    except RowError as error:
        raise_problem(error)
    group_ids = check_groups(values["groups"]) if values.get("groups") is not None else None
    with transaction.atomic():
        for key, value in texts.items():
            setattr(subscriber, key, value)
        merged = {**(subscriber.data or {}), **data}
        subscriber.data = {key: value for key, value in merged.items() if value is not None}
        subscriber.updated_at = timezone.now()
        subscriber.save(update_fields=[*texts, "data", "updated_at"])
        if group_ids is not None:
            Membership.objects.filter(subscriber=subscriber).exclude(group_id__in=group_ids).delete()
            Membership.objects.bulk_create(
                [Membership(subscriber=subscriber, group_id=pk) for pk in group_ids], ignore_conflicts=True
            )
    return _one_out(subscriber)


@router.post("/subscribers/{email}/unsubscribe", response=Done, auth=auth.write, summary="Unsubscribe")
def unsubscribe(request, email: str):
    """Unsubscribe the person (recorded with the source API); ``changed`` is false if they already were."""
    subscriber = find(email)
    changed = services.unsubscribe([subscriber.pk], source=Source.API, actor=request.auth.user, note="API")
    return {"email": subscriber.email, "changed": bool(changed)}


@router.post("/subscribers/{email}/forget", response=Done, auth=auth.write, summary="Forget (GDPR erasure)")
def forget(request, email: str):
    """Erasure request: the person disappears now and every trace is erased after ``FORGET_GRACE_DAYS``; the
    address stays only as a hash, so it is never mailed or imported again."""
    address = (email or "").strip().lower()
    subscriber = Subscriber.all_objects.filter(email=address, erase_after__isnull=True).first()
    if subscriber is None:
        raise not_found(_("No subscriber has the address “%(email)s”.") % {"email": email[:254]})
    changed = services.forget_subscribers([subscriber.pk], actor=request.auth.user)
    return {"email": subscriber.email, "changed": bool(changed)}
