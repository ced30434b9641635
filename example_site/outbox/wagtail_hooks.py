"""Registration only: the Outbox admin URLs and its menu items (mails caught, webhooks received)."""

from django.urls import include, path, reverse_lazy
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from . import urls


@hooks.register("register_admin_urls")
def register_outbox_urls():
    return [path("outbox/", include(urls, namespace="outbox"))]


@hooks.register("register_admin_menu_item")
def register_outbox_menu_item():
    return MenuItem(_("Outbox"), reverse_lazy("outbox:index"), name="outbox", icon_name="mail", order=9000)


@hooks.register("register_admin_menu_item")
def register_received_webhooks_menu_item():
    return MenuItem(
        _("Webhooks received"), reverse_lazy("outbox:webhooks"), name="webhooks-received", icon_name="link-external",
        order=9001,
    )  # fmt: skip
