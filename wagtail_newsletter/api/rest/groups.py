"""Groups (contact lists) and custom fields."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from ninja import Router, Status

from ...audience.models import Field, Group
from . import auth
from .problems import ApiProblem, not_found
from .schemas import ID_PATH, FieldIn, FieldOut, GroupIn, GroupOut, GroupPatch

router = Router(tags=["groups and fields"])


def _groups():
    # Visible subscribers only, as the admin counts them.
    members = Count("memberships", filter=Q(memberships__subscriber__deleted_at__isnull=True))
    return Group.objects.annotate(subscriber_count=members).order_by("name")


def group_out(group):
    return {"id": group.pk, "name": group.name, "description": group.description, "public": group.public,
            "subscribers": getattr(group, "subscriber_count", 0), "created_at": group.created_at}  # fmt: skip


def _group(group_id):
    group = _groups().filter(pk=group_id).first()
    if group is None:
        raise not_found(_("No group has the id %(id)s.") % {"id": group_id})
    return group


def _name_taken(name):
    return ApiProblem(409, "exists", _("A group named “%(name)s” exists already.") % {"name": name})


@router.get("/groups", response=list[GroupOut], auth=auth.read, summary="List groups")
def list_groups(request):
    return [group_out(group) for group in _groups()]


@router.get("/groups/{int:group_id}", response=GroupOut, auth=auth.read, summary="Get a group")
def get_group(request, group_id: int = ID_PATH):
    return group_out(_group(group_id))


@router.post("/groups", response={201: GroupOut}, auth=auth.write, summary="Add a group")
def create_group(request, payload: GroupIn):
    name = payload.name.strip()
    if not name:
        raise ApiProblem(422, "invalid_value", _("A group needs a name."), errors=[(["body", "name"], _("Empty."))])
    try:
        with transaction.atomic():
            group = Group.objects.create(name=name, description=payload.description, public=payload.public)
    except IntegrityError:
        raise _name_taken(name) from None
    return Status(201, group_out(_group(group.pk)))


@router.patch("/groups/{int:group_id}", response=GroupOut, auth=auth.write, summary="Change a group")
def update_group(request, payload: GroupPatch, group_id: int = ID_PATH):
    group = _group(group_id)
    values = {key: value for key, value in payload.dict(exclude_unset=True).items() if value is not None}
    if "name" in values:
        values["name"] = values["name"].strip()
        if not values["name"]:
            raise ApiProblem(422, "invalid_value", _("A group needs a name."), errors=[(["body", "name"], _("Empty."))])
    try:
        with transaction.atomic():
            Group.objects.filter(pk=group.pk).update(**values)
    except IntegrityError:
        raise _name_taken(values["name"]) from None
    return group_out(_group(group.pk))


@router.delete("/groups/{int:group_id}", response={204: None}, auth=auth.write, summary="Delete a group")
def delete_group(request, group_id: int = ID_PATH):
    """Delete the group (its members stay subscribers; campaigns lose it from their audience)."""
    _group(group_id).delete()
    return Status(204, None)


def field_out(field):
    return {"key": field.key, "label": field.label, "type": field.type, "choices": field.choice_list,
            "default": field.default}  # fmt: skip


def _field_taken(key):
    return ApiProblem(409, "exists", _("A custom field “%(key)s” exists already.") % {"key": key})


@router.get("/fields", response=list[FieldOut], auth=auth.read, summary="List custom fields")
def list_fields(request):
    return [field_out(field) for field in Field.objects.all()]


@router.get("/fields/{key}", response=FieldOut, auth=auth.read, summary="Get a custom field")
def get_field(request, key: str):
    field = Field.objects.filter(key=key).first()
    if field is None:
        raise not_found(_("No custom field has the key “%(key)s”.") % {"key": key[:50]})
    return field_out(field)


@router.post("/fields", response={201: FieldOut}, auth=auth.write, summary="Add a custom field")
def create_field(request, payload: FieldIn):
    if Field.objects.filter(key=payload.key).exists():
        raise _field_taken(payload.key)
    field = Field(key=payload.key, label=payload.label.strip(), type=payload.type, default=payload.default,
                  choices="\n".join(choice.strip() for choice in payload.choices if choice.strip()))  # fmt: skip
    try:
        field.full_clean()
    except ValidationError as exc:
        errors = [(["body", name], message) for name, messages in exc.message_dict.items() for message in messages]
        raise ApiProblem(422, "invalid_value", errors[0][1], errors=errors) from None
    try:
        with transaction.atomic():
            field.save()
    except IntegrityError:
        raise _field_taken(field.key) from None
    return Status(201, field_out(field))
