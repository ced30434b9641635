"""Shared by the admin tests of sending (the wizard, and the campaign listing and pages): an audience of two
groups, an editor allowed to send and one who is not, and helpers. Fixtures are named with ``name=`` so that a test
module imports them (``from .campaign_admin_fixtures import audience_fixture  # noqa: F401``) without its test
arguments shadowing the import."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from wagtail_newsletter.audience.models import Group, Membership, Status, Subscriber
from wagtail_newsletter.send import campaigns


def campaigns_url(name, *args):
    return reverse(f"newsletter_campaigns:{name}", args=args)


def subscribe(email, *groups, status=Status.SUBSCRIBED):
    subscriber = Subscriber.objects.create(email=email, status=status)
    for group in groups:
        Membership.objects.create(subscriber=subscriber, group=group)
    return subscriber


@pytest.fixture(name="audience")
def audience_fixture(db):
    """Two groups sharing a member, an unsubscribed member and someone in no group: 4 subscribed people in all."""
    readers, friends = Group.objects.create(name="Readers"), Group.objects.create(name="Friends")
    subscribe("ann@example.net", readers)
    subscribe("bob@example.net", readers, friends)
    subscribe("cid@example.net", friends)
    subscribe("dan@example.net")
    subscribe("eve@example.net", readers, status=Status.UNSUBSCRIBED)
    return {"readers": readers, "friends": friends}


@pytest.fixture(name="sender")
def sender_fixture(newsletter_editor):
    """The newsletter editor, allowed to send."""
    newsletter_editor.user_permissions.add(Permission.objects.get(codename="send_campaign"))
    return type(newsletter_editor).objects.get(pk=newsletter_editor.pk)  # fresh permission cache


@pytest.fixture(name="sender_client")
def sender_client_fixture(client, sender):
    client.force_login(sender)
    return client


@pytest.fixture(name="editor_client")
def editor_client_fixture(client, newsletter_editor):
    client.force_login(newsletter_editor)
    return client


def assert_refused(client, method, url, data=None):
    """Wagtail's refusal: a redirect to the dashboard with an error message, a 403 to scripts (XMLHttpRequest)."""
    response = getattr(client, method)(url, data or {})
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home"), url
    xhr = getattr(client, method)(url, data or {}, headers={"X-Requested-With": "XMLHttpRequest"})
    assert xhr.status_code == 403, url


def sending_campaign(newsletter, user=None):
    campaign = campaigns.create_campaign(newsletter, user)
    campaigns.send_now(campaign, user)  # the workers' kick runs on commit: the deliveries stay queued here
    campaign.refresh_from_db()
    return campaign
