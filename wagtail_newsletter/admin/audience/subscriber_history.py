"""A subscriber's newsletter history: campaigns received, opens, clicks, bounces, complaints, unsubscribes, status
changes and what they changed on their preference page, merged newest first and paginated.

The merge is one ``UNION ALL`` of (time, source, id) over the four tables, ordered and sliced by the database;
the rows of the page shown are then read with one query per source (and one for the campaigns' link tables, one
for the clicks around the page's clicks), whatever the length of the history. Opens and clicks are single hits
(events), labelled "machine" by the same rules as the campaign reports (``track.rules``).
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, IntegerField, Value
from django.db.models.functions import Coalesce
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views.generic.base import BaseListingView, BaseObjectMixin
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import HeaderButton

from ...audience.models import StatusEvent, Subscriber
from ...audience.preference_log import PreferenceChange
from ...growth.preference_report import describe as describe_preference_change
from ...send.links import is_web
from ...send.models import Campaign, Delivery
from ...track.models import Agent, Event, EventKind
from ...track.rules import MACHINE_AGENTS, Thresholds, burst_clicks, burst_size, is_machine_click, is_machine_open
from ..permissions import PolicyFromRegistryMixin

DELIVERY, EVENT, STATUS, PREFERENCE = 1, 2, 3, 4


@dataclass
class Entry:
    at: datetime | None
    what: str
    detail: str = ""
    campaign: str = ""
    campaign_url: str = ""
    machine: str = ""  # why an open or click is a machine's (empty: a person's)


def history_rows(subscriber):
    """(at, source, id) of every entry of ``subscriber``'s history, newest first: a lazy queryset to slice."""

    def tagged(queryset, at, source):
        return queryset.annotate(
            entry_at=at, entry_source=Value(source, output_field=IntegerField()), entry_id=F("pk")
        ).values_list("entry_at", "entry_source", "entry_id")

    deliveries = tagged(
        Delivery.objects.filter(subscriber=subscriber).order_by(),
        Coalesce("sent_at", "campaign__started_at", "campaign__created_at"),
        DELIVERY,
    )
    events = tagged(Event.objects.filter(delivery__subscriber=subscriber).order_by(), F("at"), EVENT)
    statuses = tagged(StatusEvent.objects.filter(subscriber=subscriber).order_by(), F("created_at"), STATUS)
    choices = tagged(PreferenceChange.objects.filter(subscriber=subscriber).order_by(), F("created_at"), PREFERENCE)
    return deliveries.union(events, statuses, choices, all=True).order_by("-entry_at", "-entry_source", "-entry_id")


def _campaign_url(campaign_id):
    return reverse("newsletter_campaigns:detail", args=[campaign_id])


def _link_tables(campaign_ids):
    """{campaign id: (name, {index: url})}: names and link tables only (not the compiled HTML)."""
    rows = Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", "name", "compiled__links")
    return {pk: (name, {row[0]: row[2] for row in links or []}) for pk, name, links in rows}


def _machine_clicks(events, thresholds, web_link_counts):
    """Ids of the click ``events`` that belong to a scanner burst (all clicks of their deliveries near them: one
    query)."""
    clicks = [event for event in events if event.kind == EventKind.CLICK]
    if not clicks:
        return set()
    window = thresholds.burst_window
    nearby = Event.objects.filter(
        delivery_id__in={event.delivery_id for event in clicks},
        kind=EventKind.CLICK,
        at__gte=min(event.at for event in clicks) - window,
        at__lte=max(event.at for event in clicks) + window,
    ).values_list("delivery_id", "campaign_id", "at", "link", "pk")
    per_delivery = {}
    for delivery_id, campaign_id, at, link, pk in nearby:
        per_delivery.setdefault((delivery_id, campaign_id), []).append((at, link, pk))
    machine = set()
    for (_delivery_id, campaign_id), rows in per_delivery.items():
        size = burst_size(web_link_counts.get(campaign_id, 0), thresholds.burst_links)
        machine |= burst_clicks(rows, size, window)
    return machine


def _event_entries(ids):
    events = list(Event.objects.filter(pk__in=ids).select_related("delivery").order_by())
    tables = _link_tables({event.campaign_id for event in events})
    web_counts = {pk: sum(1 for url in links.values() if is_web(str(url))) for pk, (_name, links) in tables.items()}
    thresholds = Thresholds()
    bursts = _machine_clicks(events, thresholds, web_counts)
    entries = {}
    for event in events:
        name, links = tables.get(event.campaign_id, ("", {}))
        sent_at = event.delivery.sent_at if event.delivery else None
        machine = False
        detail = event.detail
        if event.kind == EventKind.OPEN:
            machine = is_machine_open(event.agent, event.at, sent_at, thresholds)
        elif event.kind == EventKind.CLICK:
            machine = is_machine_click(event.agent, event.at, sent_at, event.pk in bursts, thresholds)
            detail = links.get(event.link, "")
        reason = ""
        if machine:
            if event.agent in MACHINE_AGENTS:
                reason = Agent(event.agent).label
            elif event.pk in bursts:
                reason = gettext("many links at once")
            else:
                reason = gettext("right after sending")
        what = event.get_kind_display().capitalize()
        entries[event.pk] = Entry(event.at, what, detail, name, _campaign_url(event.campaign_id), machine=reason)
    return entries


def _delivery_entries(ids, at_of):
    rows = (
        Delivery.objects.filter(pk__in=ids)
        .select_related("campaign")
        .only("status", "error", "smtp_code", "campaign__name")
    )
    entries = {}
    for delivery in rows:
        detail = " ".join(str(part) for part in (delivery.smtp_code or "", delivery.error) if part)
        what = gettext("Campaign: %(status)s") % {"status": delivery.get_status_display()}
        entries[delivery.pk] = Entry(
            at_of[delivery.pk], what, detail, delivery.campaign.name, _campaign_url(delivery.campaign_id)
        )
    return entries


def _status_entries(ids):
    entries = {}
    for event in StatusEvent.objects.filter(pk__in=ids).select_related("actor"):
        change = event.get_new_status_display()
        if event.old_status:
            change = f"{event.get_old_status_display()} → {change}"
        by = gettext(" by %(user)s") % {"user": event.actor.get_username()} if event.actor else ""
        detail = f"{event.get_source_display()}{by}" + (f": {event.note}" if event.note else "")
        entries[event.pk] = Entry(event.created_at, gettext("Status: %(change)s") % {"change": change}, detail)
    return entries


def _preference_entries(ids):
    changes = list(PreferenceChange.objects.filter(pk__in=ids))
    names = dict(Campaign.objects.filter(pk__in={c.campaign_id for c in changes}).values_list("pk", "name"))
    entries = {}
    for change in changes:
        what = gettext("Preference page: %(change)s") % {"change": change.get_kind_display()}
        name = names.get(change.campaign_id, "")
        url = _campaign_url(change.campaign_id) if name else ""
        entries[change.pk] = Entry(change.created_at, what, describe_preference_change(change), name, url)
    return entries


def history_entries(rows):
    """``Entry`` objects for a page of ``history_rows`` (a few queries, whatever the page size)."""
    rows = list(rows)
    ids = {source: [pk for _at, kind, pk in rows if kind == source] for source in (DELIVERY, EVENT, STATUS, PREFERENCE)}
    found = {
        DELIVERY: _delivery_entries(ids[DELIVERY], {pk: at for at, kind, pk in rows if kind == DELIVERY})
        if ids[DELIVERY]
        else {},
        EVENT: _event_entries(ids[EVENT]) if ids[EVENT] else {},
        STATUS: _status_entries(ids[STATUS]) if ids[STATUS] else {},
        PREFERENCE: _preference_entries(ids[PREFERENCE]) if ids[PREFERENCE] else {},
    }
    return [found[source][pk] for _at, source, pk in rows if pk in found[source]]


class MachineAwareColumn(Column):
    cell_template_name = "wagtail_newsletter/admin/subscriber_history_what_cell.html"


class SubscriberHistoryView(PolicyFromRegistryMixin, PermissionCheckedMixin, BaseObjectMixin, BaseListingView):
    """The subscriber's newsletter history, linked from the subscriber's edit view."""

    model = Subscriber
    any_permission_required = ["add", "change", "delete", "view"]
    page_title = _("Newsletter history")
    header_icon = "history"
    paginate_by = 50
    url_namespace = None  # the subscriber viewset's, set by ``history_urls``
    verbose_name_plural = _("history entries")
    columns = [
        DateColumn("at", label=_("Date"), width="18%"),
        MachineAwareColumn("what", label=_("What")),
        TitleColumn("campaign", label=_("Campaign"), get_url=lambda entry: entry.campaign_url),
        Column("detail", label=_("Details")),
    ]

    def get_base_queryset(self):
        return history_rows(self.object)

    def order_queryset(self, queryset):
        return queryset  # ordered by history_rows (a union can't be re-ordered by field names of one side)

    def get_table(self, object_list):
        return super().get_table(history_entries(object_list))

    @cached_property
    def no_results_message(self):
        return gettext("Nothing has happened to this subscriber yet.")

    def get_page_subtitle(self):
        return str(self.object)

    def url(self, name):
        return reverse(f"{self.url_namespace}:{name}", args=[self.object.pk])

    def get_index_url(self):
        return self.url("newsletter_history")

    def get_index_results_url(self):
        return self.url("newsletter_history")

    @cached_property
    def header_buttons(self):
        return [HeaderButton(gettext("Edit"), url=self.url("edit"), icon_name="edit")]

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse(f"{self.url_namespace}:list"), "label": gettext("Subscribers")},
            {"url": self.url("edit"), "label": str(self.object)},
            {"url": "", "label": gettext("Newsletter history"), "sublabel": str(self.object)},
        ]


def history_urls(viewset):
    """For ``SubscriberViewSet.get_urlpatterns``."""
    view = SubscriberHistoryView.as_view(url_namespace=viewset.url_namespace)
    return [path(f"newsletter-history/<{viewset.pk_path_converter}:pk>/", view, name="newsletter_history")]


def history_url(subscriber):
    return reverse("wagtailsnippets_wagtail_newsletter_subscriber:newsletter_history", args=[subscriber.pk])
