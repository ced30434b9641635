"""Every permission check of the admin asks Wagtail's policy registry when the request comes: a project that registers
its own policy for one of our models is obeyed by the send wizard, the campaign pages, the reports, the import wizard,
the credits page and the template tools alike (no policy built at import time, no raw ``has_perm``)."""

import pytest
from django.urls import reverse
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import policy_registry

from wagtail_newsletter.admin import permissions
from wagtail_newsletter.audience.models import Subscriber
from wagtail_newsletter.compose.models import NewsletterTemplate
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CreditEntry

from .campaign_admin_fixtures import (  # noqa: F401
    assert_refused,
    audience_fixture,
    sender_client_fixture,
    sender_fixture,
)


class DenyAll(ModelPermissionPolicy):
    """A project's policy that refuses everything, superusers included."""

    def user_has_permission(self, user, action):
        return False

    def user_has_any_permission(self, user, actions):
        return False


@pytest.fixture
def deny(monkeypatch):
    """Register ``DenyAll`` for a model for this test only (the registry is process-wide)."""

    def register(model):
        monkeypatch.setitem(policy_registry.fallback_policies, model, DenyAll(model))
        return model

    return register


@pytest.mark.parametrize(
    "model, check",
    [
        (Campaign, lambda user: permissions.can_send(user)),
        (Campaign, lambda user: permissions.may_view_campaigns(user)),
        (Campaign, lambda user: campaigns.may_send(user)),
        (Subscriber, lambda user: permissions.user_can(user, Subscriber, "add")),
        (CreditEntry, lambda user: permissions.user_can_any(user, CreditEntry)),
        (NewsletterTemplate, lambda user: permissions.user_can(user, NewsletterTemplate, "add")),
    ],
)
def test_checks_follow_the_policy_registered_after_import(admin_user, deny, model, check):
    assert check(admin_user)
    deny(model)
    assert not check(admin_user)


def test_send_wizard_obeys_a_registered_policy(sender_client, newsletter, audience, deny):
    url = reverse("newsletter_campaigns:send_new", args=[newsletter.pk])
    assert sender_client.get(url).status_code == 200
    deny(Campaign)
    assert_refused(sender_client, "get", url)


def test_campaign_listing_and_reports_obey_a_registered_policy(admin_client, deny):
    urls = [reverse("newsletter_campaigns:index"), reverse("newsletter_reports:index")]
    assert [admin_client.get(url).status_code for url in urls] == [200, 200]
    deny(Campaign)
    for url in urls:
        assert_refused(admin_client, "get", url)


def test_import_wizard_obeys_a_registered_policy(admin_client, deny):
    url = reverse("newsletter_import:upload")
    assert admin_client.get(url).status_code == 200
    deny(Subscriber)
    assert_refused(admin_client, "get", url)


def test_check_can_send_names_the_missing_permission_from_the_policy(admin_user, audience, newsletter, deny):
    campaign = Campaign.objects.create(page=newsletter, revision=newsletter.latest_revision, all_subscribers=True)
    assert not any("permission" in problem for problem in campaigns.check_can_send(campaign, admin_user))
    deny(Campaign)
    assert any("permission" in problem for problem in campaigns.check_can_send(campaign, admin_user))
