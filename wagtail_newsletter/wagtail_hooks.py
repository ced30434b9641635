"""Registration only: the viewsets, views and menu items live in ``wagtail_newsletter.admin``."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .admin.api.api_keys import api_key_viewset
from .admin.audience.bulk_actions import SUBSCRIBER_BULK_ACTIONS
from .admin.compose import editor, newsletter_templates, test_send
from .admin.compose.urls import admin_urls as compose_admin_urls
from .admin.growth.digests import add_digests_waiting_panel
from .admin.reports import dashboard
from .admin.reports.ab_tests import ab_tests_viewset
from .admin.reports.audience import audience_reports_viewset
from .admin.reports.exports import campaign_tools_viewset
from .admin.send import entry, sender_domain_dns
from .admin.viewsets import NewsletterViewSetGroup
from .growth import conversions

register_snippet(NewsletterViewSetGroup)

# Registered after wagtail.snippets' own actions (higher order) so that our soft delete replaces
# Wagtail's hard delete for subscribers.
for _action in SUBSCRIBER_BULK_ACTIONS:
    hooks.register("register_bulk_action", _action, order=100)

# Editor tools around newsletter pages: test send, templates, checklist and variables panels, "Send…".
hooks.register("register_admin_urls", compose_admin_urls)
hooks.register("register_admin_viewset", lambda: editor.newsletter_page_viewset)
hooks.register("register_page_action_menu_item", test_send.TestSendMenuItem)
hooks.register("register_page_action_menu_item", entry.SendMenuItem)
hooks.register("register_page_action_menu_item", newsletter_templates.SaveAsTemplateMenuItem)
hooks.register("register_page_header_buttons", newsletter_templates.index_page_buttons)
hooks.register("register_page_listing_buttons", newsletter_templates.index_page_buttons)
hooks.register("register_snippet_listing_buttons", newsletter_templates.template_listing_buttons)
hooks.register("before_create_page", newsletter_templates.offer_templates_before_create)
hooks.register("register_rich_text_features", editor.register_variable_control)
hooks.register("register_log_actions", test_send.register_log_actions)

# A campaign's people listings with CSV/XLSX exports, and its follow-ups.
hooks.register("register_admin_viewset", lambda: campaign_tools_viewset)
# A/B tests: the send wizard's step that starts one, its report, the editor's pick of the winner.
hooks.register("register_admin_viewset", lambda: ab_tests_viewset)

# Conversions: a visit of a goal page (or its form) by someone who came from a newsletter click.
hooks.register("before_serve_page", conversions.page_served)
# A campaign's readers (device, client, country) download and the people who converted.
hooks.register("register_admin_viewset", lambda: audience_reports_viewset)

# The dashboard's "Recent campaigns" panel with their key rates.
hooks.register("construct_homepage_panels", dashboard.add_recent_campaigns_panel)
# Sender domains whose DNS records stopped passing (and when they stop sending).
hooks.register("construct_homepage_panels", sender_domain_dns.add_sender_domain_alerts_panel)
# Page digest issues that wait for an editor's review.
hooks.register("construct_homepage_panels", add_digests_waiting_panel)
# API keys of the REST API (Settings › API keys): made and shown once here.
hooks.register("register_admin_viewset", lambda: api_key_viewset)
