"""Who may do what in the admin. Every check asks Wagtail's permission policy registry when the request comes, never a
policy built at import time, so a project that registers its own policy for one of our models
(``wagtail.permissions.register_permission_policy``) is obeyed everywhere."""

from wagtail.permissions import policy_registry

from ..send.campaigns import may_send
from ..send.models import Campaign

# Who may see campaigns (listing, pages, progress, reports): anyone who may send, or has any of the model's permissions.
CAMPAIGN_VIEW_ACTIONS = ["send", "add", "change", "delete", "view"]
ANY_ACTION = ["view", "add", "change", "delete"]


def policy(model):
    return policy_registry.get_by_type(model)


def user_can(user, model, action):
    return policy(model).user_has_permission(user, action)


def user_can_any(user, model, actions=ANY_ACTION):
    return policy(model).user_has_any_permission(user, actions)


can_send = may_send  # the send wizard, campaign pages and follow-ups all ask the lifecycle's own check


def may_view_campaigns(user):
    return user_can_any(user, Campaign, CAMPAIGN_VIEW_ACTIONS)


class PolicyFromRegistryMixin:
    """For Wagtail's generic views: their ``permission_policy`` looked up in the registry by ``model``."""

    @property
    def permission_policy(self):
        return policy(self.model)
