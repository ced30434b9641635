"""The "Newsletter" admin menu: one group of every viewset the app registers, in the order editors meet them.

Projects can subclass any of these viewsets and register their own group instead of ours.
"""

from django.utils.translation import gettext_lazy as _
from wagtail.snippets.views.snippets import SnippetViewSetGroup

from .audience.import_views import import_viewset
from .audience.viewsets import FieldViewSet, GroupViewSet, SubscriberViewSet, SubscriptionFormViewSet
from .compose.newsletter_templates import NewsletterTemplateViewSet
from .growth.automations import AutomationViewSet
from .growth.digests import DigestViewSet
from .growth.goals import GoalViewSet
from .growth.segments import SegmentViewSet
from .reports.inbound_messages import inbound_messages_viewset
from .reports.preferences import preference_changes_viewset
from .reports.soft_bounces import soft_bounces_viewset
from .reports.views import reports_viewset
from .send.campaign_views import campaign_viewset
from .send.credit_views import credits_viewset
from .send.sender_domains import SenderDomainViewSet
from .webhooks.views import WebhookEndpointViewSet, delivery_log_viewset


class NewsletterViewSetGroup(SnippetViewSetGroup):
    menu_label = _("Newsletter")
    menu_icon = "mail"
    menu_order = 250
    # Campaigns come first: sending is what editors come for.
    items = (
        campaign_viewset,
        reports_viewset,
        inbound_messages_viewset,
        SubscriberViewSet,
        soft_bounces_viewset,
        preference_changes_viewset,
        GroupViewSet,
        SegmentViewSet,
        AutomationViewSet,
        DigestViewSet,
        GoalViewSet,
        FieldViewSet,
        SubscriptionFormViewSet,
        import_viewset,
        SenderDomainViewSet,
        credits_viewset,
        NewsletterTemplateViewSet,
        WebhookEndpointViewSet,
        delivery_log_viewset,
    )
