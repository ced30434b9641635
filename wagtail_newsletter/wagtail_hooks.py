"""Registration only: viewsets and bulk actions live in ``wagtail_newsletter.admin``."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .admin.bulk_actions import SUBSCRIBER_BULK_ACTIONS
from .admin.compose_templates import NewsletterTemplateViewSet
from .admin.viewsets import NewsletterViewSetGroup

NewsletterViewSetGroup.items += (NewsletterTemplateViewSet,)  # newsletter templates (admin/compose_templates.py)
register_snippet(NewsletterViewSetGroup)

# Registered after wagtail.snippets' own actions (higher order) so that our soft delete replaces
# Wagtail's hard delete for subscribers.
for _action in SUBSCRIBER_BULK_ACTIONS:
    hooks.register("register_bulk_action", _action, order=100)


# Editor tools around newsletter pages (admin/compose_*): test send, templates, checklist and variables panels.
from .admin import compose_editor, compose_templates, compose_test_send, send_entry  # noqa: E402
from .admin.compose_editor import newsletter_page_viewset  # noqa: E402
from .admin.compose_urls import admin_urls as compose_admin_urls  # noqa: E402

hooks.register("register_admin_urls", compose_admin_urls)
hooks.register("register_admin_viewset", lambda: newsletter_page_viewset)
hooks.register("register_page_action_menu_item", compose_test_send.TestSendMenuItem)
hooks.register("register_page_action_menu_item", send_entry.SendMenuItem)  # "Send…" (admin/send_entry.py)
hooks.register("register_page_action_menu_item", compose_templates.SaveAsTemplateMenuItem)
hooks.register("register_page_header_buttons", compose_templates.index_page_buttons)
hooks.register("register_page_listing_more_buttons", compose_templates.index_page_buttons)
hooks.register("register_snippet_listing_buttons", compose_templates.template_listing_buttons)
hooks.register("before_create_page", compose_templates.offer_templates_before_create)
hooks.register("register_rich_text_features", compose_editor.register_variable_control)
hooks.register("register_log_actions", compose_test_send.register_log_actions)

# A campaign's people listings with CSV/XLSX exports, and its follow-ups (admin/report_exports.py).
from .admin.report_exports import campaign_tools_viewset  # noqa: E402

hooks.register("register_admin_viewset", lambda: campaign_tools_viewset)

# The dashboard's "Recent campaigns" panel with their key rates (admin/dashboard.py).
from .admin import dashboard  # noqa: E402

hooks.register("construct_homepage_panels", dashboard.add_recent_campaigns_panel)
