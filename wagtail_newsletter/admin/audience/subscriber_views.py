"""Views of the subscribers snippet: listing (with export), create, edit and (soft) delete."""

from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn, TitleColumn
from wagtail.admin.widgets.button import Button
from wagtail.coreutils import multigetattr
from wagtail.snippets.views import snippets

from ...audience import services
from ...audience.models import Field, Source, Status
from .pause_views import clear_pause_button
from .subscriber_forms import subscriber_edit_handler
from .subscriber_history import history_url

# Spreadsheet programs run a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CUSTOM_EXPORT_PREFIX = "custom:"


def neutralise_formula(value):
    """Prefix a text that a spreadsheet would evaluate with a quote, so it stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


class SubscriberStatusColumn(StatusTagColumn):
    """The status as a tag coloured by status."""

    cell_template_name = "wagtail_newsletter/admin/status_tag_cell.html"


class AddressTitleColumn(TitleColumn):
    """The address linking to the subscriber: it may wrap before its "@", never inside its local part or domain (a
    part wider than the column ends with an ellipsis; the link's title holds the whole address)."""

    cell_template_name = "wagtail_newsletter/admin/address_title_cell.html"

    def get_link_attrs(self, instance, parent_context):
        return {**super().get_link_attrs(instance, parent_context), "title": instance.email}

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        local_part, _at, domain = instance.email.rpartition("@")
        context.update(local_part=local_part, domain=domain)
        return context


class GroupsColumn(Column):
    """Names of the subscriber's groups, read from the prefetched relation (no query per row)."""

    def get_value(self, instance):
        return ", ".join(group.name for group in instance.groups.all())


def subscriber_list_display():
    return [
        "email",
        Column("full_name", label=_("Name"), sort_key="last_name"),
        SubscriberStatusColumn("status", label=_("Status"), sort_key="status"),
        GroupsColumn("groups", label=_("Groups")),
        Column("get_source_display", label=_("Source"), sort_key="source"),
        DateColumn("first_subscribed_at", label=_("First subscribed"), sort_key="first_subscribed_at"),
        DateColumn("created_at", label=_("Created"), sort_key="created_at"),
    ]


class SubscriberIndexView(snippets.IndexView):
    """Listing and CSV/XLSX export of the filtered listing, with one column per custom field."""

    def get_base_queryset(self):
        return super().get_base_queryset().prefetch_related("groups")

    def _get_title_column(self, field_name, column_class=TitleColumn, **kwargs):
        return super()._get_title_column(field_name, AddressTitleColumn, **kwargs)

    @cached_property
    def custom_fields(self):
        return list(Field.objects.all())

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        if self.is_export:
            # Custom fields are defined by editors: their columns are known per request only.
            self.list_export = [*self.list_export, *(CUSTOM_EXPORT_PREFIX + f.key for f in self.custom_fields)]
            self.export_headings = {
                **self.export_headings,
                **{CUSTOM_EXPORT_PREFIX + f.key: f.label for f in self.custom_fields},
            }

    def to_row_dict(self, item):
        row = {}
        for name in self.list_export:
            if name.startswith(CUSTOM_EXPORT_PREFIX):
                row[name] = (item.data or {}).get(name[len(CUSTOM_EXPORT_PREFIX) :], "")
            elif name == "groups":
                row[name] = ", ".join(group.name for group in item.groups.all())
            else:
                row[name] = multigetattr(item, name)
        return row

    def preprocess_field_value(self, field, value, export_format):
        value = super().preprocess_field_value(field, value, export_format)
        # XLSX cells are written as strings by Wagtail (never formulas); CSV has no types at all.
        if export_format == self.FORMAT_CSV:
            return neutralise_formula(value)
        return value


class SubscriberPanelMixin:
    """The form depends on the custom fields that exist now, so it is built for each request."""

    def get_panel(self):
        return subscriber_edit_handler(list(Field.objects.all())).bind_to_model(self.model)

    def get_form_class(self):
        return self.panel.get_form_class()


class SubscriberCreateView(SubscriberPanelMixin, snippets.CreateView):
    def save_instance(self):
        restored = getattr(self.form, "restored", None)
        instance = self.form.instance
        if restored is None:
            # Added by a manager: subscribed at once, and the history says by whom.
            instance.status = Status.SUBSCRIBED
            instance.source = Source.ADMIN
            instance.first_subscribed_at = instance.status_changed_at = instance.created_at
        instance = super().save_instance()
        if restored is None:
            services.record_status_events(
                [(instance.pk, "", Status.SUBSCRIBED)], Source.ADMIN, note="added in admin", actor=self.request.user
            )
        else:
            services.restore_subscriber(instance)
            services.record_status_events(
                [(instance.pk, instance.status, instance.status)], Source.ADMIN, note="restored",
                actor=self.request.user,
            )  # fmt: skip
        return instance


class SubscriberEditView(SubscriberPanelMixin, snippets.EditView):
    @cached_property
    def header_more_buttons(self):
        """ "Newsletter history" (campaigns received, opens, clicks, status changes) next to Delete."""
        history = Button(_("Newsletter history"), url=history_url(self.object), icon_name="history", priority=5)
        pause = clear_pause_button(self.object, self.request.user)  # while paused (pause_views.py)
        return [history, *([pause] if pause else []), *super().header_more_buttons]


class SubscriberDeleteView(snippets.DeleteView):
    """Delete hides the subscriber (soft delete); a later sign-up or import restores it."""

    def delete_action(self):
        services.delete_subscribers([self.object.pk], actor=self.request.user)
