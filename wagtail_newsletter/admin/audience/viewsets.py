"""The audience's snippets in the "Newsletter" menu: subscribers, groups, custom fields and subscription forms.

Projects can subclass any of these viewsets and register their own group instead of ours (admin/viewsets.py).
"""

from django import forms
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel, ObjectList, TabbedInterface
from wagtail.snippets.views.snippets import SnippetViewSet

from ...audience.models import Field, Group, Subscriber
from ...audience.subscription_form import SubscriptionForm
from .embed_panel import EmbedCodePanel
from .filters import SUBSCRIBER_SEARCH_FIELDS, SubscriberFilterSet
from .group_views import STATUS_COUNTS, GroupIndexView, SubscriptionFormIndexView, form_list_display, group_list_display
from .pause_views import pause_urls
from .subscriber_forms import subscriber_edit_handler
from .subscriber_history import history_urls
from .subscriber_views import (
    SubscriberCreateView,
    SubscriberDeleteView,
    SubscriberEditView,
    SubscriberIndexView,
    subscriber_list_display,
)


class SubscriberViewSet(SnippetViewSet):
    model = Subscriber
    icon = "user"
    menu_label = _("Subscribers")
    index_view_class = SubscriberIndexView
    add_view_class = SubscriberCreateView
    edit_view_class = SubscriberEditView
    delete_view_class = SubscriberDeleteView
    copy_view_enabled = False
    list_display = subscriber_list_display()
    list_per_page = 50
    ordering = "-created_at"
    filterset_class = SubscriberFilterSet
    search_fields = SUBSCRIBER_SEARCH_FIELDS
    search_backend_name = None
    list_export = [
        "email",
        "first_name",
        "last_name",
        "language",
        "get_status_display",
        "groups",
        "get_source_display",
        "first_subscribed_at",
        "created_at",
    ]
    export_headings = {
        "email": _("Email"),
        "first_name": _("First name"),
        "last_name": _("Last name"),
        "language": _("Language"),
        "get_status_display": _("Status"),
        "groups": _("Groups"),
        "get_source_display": _("Source"),
        "first_subscribed_at": _("First subscribed"),
        "created_at": _("Created"),
    }
    export_filename = "subscribers"
    edit_handler = subscriber_edit_handler()

    def get_urlpatterns(self):
        # The newsletter history (subscriber_history.py) and ending a pause (pause_views.py).
        return [*super().get_urlpatterns(), *history_urls(self), *pause_urls(self)]


class GroupViewSet(SnippetViewSet):
    model = Group
    icon = "group"
    menu_label = _("Groups")
    index_view_class = GroupIndexView
    list_display = group_list_display()
    ordering = "name"
    search_fields = ["name"]
    search_backend_name = None
    list_export = ["name", *(name for name, _status in STATUS_COUNTS), "total_count"]
    export_headings = {
        "name": _("Name"),
        **{name: status.label for name, status in STATUS_COUNTS},
        "total_count": _("Total"),
    }
    export_filename = "groups"
    panels = [FieldPanel("name"), FieldPanel("description"), FieldPanel("public")]


class FieldViewSet(SnippetViewSet):
    model = Field
    icon = "form"
    menu_label = _("Custom fields")
    list_display = ["label", "key", "type", "default", "sort_order", "editable_by_subscriber"]
    sort_order_field = "sort_order"
    copy_view_enabled = False
    panels = [
        FieldPanel("label"),
        FieldPanel("key"),
        FieldPanel("type"),
        FieldPanel("choices"),
        FieldPanel("default"),
        FieldPanel("sort_order"),
        FieldPanel("editable_by_subscriber"),
    ]


class SubscriptionFormViewSet(SnippetViewSet):
    model = SubscriptionForm
    icon = "form"
    menu_label = _("Subscription forms")
    index_view_class = SubscriptionFormIndexView
    list_display = form_list_display()
    search_fields = ["name", "title"]
    search_backend_name = None
    list_export = ["name", "views", "submissions", "confirmations", "conversion_rate", "confirmation_rate"]
    export_headings = {
        "name": _("Name"),
        "views": _("Views"),
        "submissions": _("Submissions"),
        "confirmations": _("Confirmations"),
        "conversion_rate": _("Conversion rate"),
        "confirmation_rate": _("Confirmation rate"),
    }
    edit_handler = TabbedInterface(
        [
            ObjectList(
                [
                    FieldPanel("name"),
                    FieldPanel("title"),
                    FieldPanel("introduction"),
                    FieldPanel("groups", widget=forms.CheckboxSelectMultiple),
                    InlinePanel("form_fields", heading=_("Fields"), label=_("Field")),
                    FieldPanel("consent_text"),
                    FieldPanel("button_label"),
                    FieldPanel("label_style"),
                    MultiFieldPanel(
                        [
                            FieldRowPanel(
                                [
                                    FieldPanel("primary_colour"),
                                    FieldPanel("background_colour"),
                                    FieldPanel("text_colour"),
                                ]
                            )
                        ],
                        heading=_("Colours"),
                    ),  # fmt: skip
                    FieldPanel("notify_email"),
                ],
                heading=_("Form"),
            ),
            ObjectList(
                [
                    MultiFieldPanel(
                        [FieldPanel("success_page"), FieldPanel("success_text")], heading=_("1. After submitting")
                    ),
                    MultiFieldPanel(
                        [
                            FieldPanel("email_subject"),
                            FieldPanel("email_from"),
                            FieldPanel("email_body"),
                            FieldPanel("email_button_label"),
                        ],
                        heading=_("2. Confirmation email"),
                    ),
                    MultiFieldPanel(
                        [FieldPanel("confirmed_page"), FieldPanel("confirmed_text")], heading=_("3. After confirming")
                    ),
                ],
                heading=_("Double opt-in"),
            ),
            ObjectList([EmbedCodePanel(heading=_("Embed on another site"))], heading=_("Embed on another site")),
        ]
    )
