"""The condition builder of a segment's form: a widget that edits the conditions' JSON in a plain-JavaScript tree
(``segment_builder.js``), and the catalogue it offers — fields with their operators, groups, campaigns and links,
behaviours — in the editor's language."""

import json

from django import forms
from django.urls import reverse
from django.utils.translation import gettext as _

from ...audience.models import Field, Group, Source, Status
from ...growth.behaviours import BEHAVIOURS
from ...growth.conditions import KIND_OPS, OP_LABELS, SUBSCRIBER_FIELDS
from ...growth.reader_conditions import builder_choices
from ...send.models import Campaign

CAMPAIGNS_OFFERED = 100
COUNT_URL_NAME = "wagtailsnippets_wagtail_newsletter_segment:count"


def catalogue():
    """What the builder offers, as plain data for its JSON script (a few small queries)."""
    fields = []
    for name, (label, kind) in SUBSCRIBER_FIELDS.items():
        choices = {"status": Status.choices, "source": Source.choices}.get(kind)
        fields.append(_field(name, label, kind, [[v, str(lab)] for v, lab in choices] if choices else None))
    for field in Field.objects.all():
        choices = [[c, c] for c in field.choice_list] if field.type == Field.Type.CHOICE else None
        fields.append(_field(f"data.{field.key}", field.label, field.type, choices))
    campaigns = Campaign.objects.filter(started_at__isnull=False).order_by("-started_at")[:CAMPAIGNS_OFFERED]
    return {
        "fields": fields,
        "groups": [[pk, name] for pk, name in Group.objects.values_list("pk", "name")],
        "campaigns": [
            [pk, name, [[link[0], link[2]] for link in links or ()]]
            for pk, name, links in campaigns.values_list("pk", "name", "compiled__links")
        ],
        "behaviours": [[b.name, str(b.label), list(b.params), list(b.scopes)] for b in BEHAVIOURS.values()],
        **builder_choices(),  # devices, and the clients, countries and goals there are
        "text": {
            "and": _("All of these"),
            "or": _("Any of these"),
            "not": _("Not"),
            "add": _("Add a condition"),
            "add_group": _("Add a group of conditions"),
            "remove": _("Remove"),
            "field": _("Subscriber field"),
            "groups": _("Group membership"),
            "behaviour": _("What they did"),
            "in_any": _("in any of"),
            "in_all": _("in all of"),
            "in_none": _("in none of"),
            "any_campaign": _("any campaign"),
            "campaign": _("the campaign"),
            "last_campaigns": _("one of the last N campaigns"),
            "last_days": _("campaigns sent in the last N days"),
            "hard": _("hard bounces only"),
            "link": _("link"),
            "text": _("text in the address"),
            "devices": _("Device types"),
            "clients": _("Mail clients"),
            "countries": _("Countries"),
            "goal": _("Goal"),
            "any_goal": _("any goal"),
            "none_seen": _("None seen yet"),
            "values_hint": _("comma-separated"),
            "kind": _("Kind of condition"),
            "field_name": _("Field"),
            "operator": _("Operator"),
            "value": _("Value"),
            "second_value": _("Second value"),
            "which": _("Which campaigns"),
            "number": _("Number"),
            "group_mode": _("Membership"),
            "group_list": _("Groups"),
            "combine": _("Combine conditions"),
            "everyone": _("No condition: every subscriber."),
            "matching": _("%(count)s subscribers match"),
            "error": _("Fix the conditions to see the count."),
        },
    }


def _field(name, label, kind, choices):
    return {
        "name": name,
        "label": str(label),
        "kind": kind,
        "ops": [[op, str(OP_LABELS[op])] for op in KIND_OPS[kind]],
        "choices": choices,
    }


class ConditionBuilderWidget(forms.Textarea):
    """The JSON in a hidden textarea (what is submitted), edited by the builder drawn next to it."""

    template_name = "wagtail_newsletter/admin/segments/builder_widget.html"

    def format_value(self, value):
        if isinstance(value, str):
            return value
        return json.dumps(value or {})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["catalogue"] = catalogue()
        context["widget"]["count_url"] = reverse(COUNT_URL_NAME)
        context["widget"]["catalogue_id"] = f"{attrs.get('id') or name}-catalogue"
        return context

    @property
    def media(self):
        return forms.Media(
            js=["wagtail_newsletter/js/segment_builder.js"],
            css={"all": ["wagtail_newsletter/css/segment_builder.css"]},
        )
