"""Registration only: viewsets and bulk actions live in ``wagtail_newsletter.admin``."""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from .admin.bulk_actions import SUBSCRIBER_BULK_ACTIONS
from .admin.viewsets import NewsletterViewSetGroup

register_snippet(NewsletterViewSetGroup)

# Registered after wagtail.snippets' own actions (higher order) so that our soft delete replaces
# Wagtail's hard delete for subscribers.
for _action in SUBSCRIBER_BULK_ACTIONS:
    hooks.register("register_bulk_action", _action, order=100)
