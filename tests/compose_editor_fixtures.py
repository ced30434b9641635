"""Fixtures of the editor tools tests (test send, templates, side panels): a newsletter archive and a newsletter."""

import pytest
from django.contrib.auth.models import Group as UserGroup
from django.contrib.auth.models import Permission
from wagtail.models import GroupPagePermission, Site

from wagtail_newsletter.compose.models import NewsletterIndexPage, NewsletterPage

GREETING_BODY = [
    {"type": "heading", "value": {"text": 'Hello {{ first_name|default:"there" }}', "level": "1", "alignment": "left"}},
    {"type": "rich_text", "value": {"text": '<p>Read <a href="https://example.org/spring/">our spring news</a>.</p>'}},
    {
        "type": "footer",
        "value": {"address": "1 Main Street", "text": "", "unsubscribe_label": "", "web_version_label": ""},
    },
]


@pytest.fixture
def archive(db):
    root = Site.objects.get(is_default_site=True).root_page
    return root.add_child(instance=NewsletterIndexPage(title="Newsletters", slug="newsletters"))


def make_newsletter(archive, **fields):
    values = {
        "title": "Spring news",
        "subject": 'Spring news for {{ first_name|default:"you" }}',
        "preheader": "What grows in April",
        "sender_name": "Garden Club",
        "sender_email": "news@example.org",
        "reply_to": "answers@example.org",
        "body": GREETING_BODY,
        **fields,
    }
    page = archive.add_child(instance=NewsletterPage(**values))
    page.save_revision().publish()
    page.refresh_from_db()
    return page


@pytest.fixture
def newsletter(archive):
    return make_newsletter(archive)


@pytest.fixture
def editor_without_page_rights(django_user_model):
    """A user who may use the admin but edit no page."""
    user = django_user_model.objects.create_user("viewer", "viewer@example.org", "pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    return user


@pytest.fixture
def newsletter_editor(django_user_model, archive):
    """A user who may add and edit pages under the archive (not a superuser)."""
    group = UserGroup.objects.create(name="Newsletter editors")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in ("add_page", "change_page"):
        GroupPagePermission.objects.create(
            group=group, page=archive, permission=Permission.objects.get(codename=codename)
        )
    user = django_user_model.objects.create_user("editor", "editor@example.org", "pw")
    user.groups.add(group)
    return user
