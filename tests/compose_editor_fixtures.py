"""The newsletter archive and newsletters every test composes and sends with (a plugin of conftest.py: every test
module has these fixtures), and the editor tools tests' users."""

import pytest
from django.contrib.auth.models import Group as UserGroup
from django.contrib.auth.models import Permission
from wagtail.models import GroupPagePermission, Locale, Page, Site

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
    """The newsletter archive under the default site's home page; the Wagtail root and site are made again if an
    earlier transactional test flushed them (a transactional test asks for its own database: its mark or
    ``transactional_db``)."""
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Locale.objects.get_or_create(language_code="en")
        root = Page.get_first_root_node() or Page.add_root(title="Root", slug="root")
        home = root.add_child(instance=Page(title="Home", slug="home"))
        site = Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)
    return site.root_page.add_child(instance=NewsletterIndexPage(title="Newsletters", slug="newsletters"))


def make_newsletter(archive, **fields):
    """A published newsletter under ``archive``: Spring news with a greeting, a link and a footer, unless
    ``fields`` say otherwise."""
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
