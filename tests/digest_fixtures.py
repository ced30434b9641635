"""A page digest of the home page's new pages, the newsletter template it uses and pages to find (shared by the digest
tests)."""

import datetime

from django.contrib.contenttypes.models import ContentType
from home.models import HomePage
from wagtail.models import Page, Site

from wagtail_newsletter.audience.models import Group, Status, Subscriber
from wagtail_newsletter.audience.services import add_to_group
from wagtail_newsletter.compose.models import NewsletterTemplate
from wagtail_newsletter.growth.digests import Digest, DigestParentPage

from .compose_editor_fixtures import GREETING_BODY

PARIS = datetime.timezone(datetime.timedelta(hours=1))  # winter time in Europe/Paris, for literal dates in tests


def make_template():
    body = [
        GREETING_BODY[0],
        {"type": "rich_text", "value": {"text": "<p>What is new on the site this week.</p>"}},
        GREETING_BODY[-1],
    ]
    return NewsletterTemplate.objects.create(
        name="Weekly digest",
        body=body,
        subject="This week on the site",
        sender_name="Garden Club",
        sender_email="news@example.org",
    )


def home_page():
    return Site.objects.get(is_default_site=True).root_page


def make_digest(archive, review=False, **fields):
    """A weekly digest (Mondays 8:00) of the HomePage pages below the home page, to the group 'Readers'."""
    readers, _ = Group.objects.get_or_create(name="Readers")
    values = {
        "name": "Weekly pages",
        "template": make_template(),
        "archive": archive,
        "frequency": "weekly",
        "weekday": 0,
        "hour": 8,
        "minute": 0,
        "review": review,
        "published_since": datetime.datetime(2027, 3, 1, 8, 0, tzinfo=PARIS),
        **fields,
    }
    digest = Digest.objects.create(**values)
    digest.include_groups.set([readers])
    digest.page_types.set([ContentType.objects.get_for_model(HomePage)])
    digest.save()  # parental many-to-many values are written on save
    DigestParentPage.objects.create(digest=digest, page=home_page())
    return digest


def add_page(title, published_at, parent=None, **fields):
    """A live HomePage below ``parent`` (the home page), first published at ``published_at``."""
    parent = parent or home_page()
    page = parent.add_child(instance=HomePage(title=title, search_description=f"About {title}.", **fields))
    page.save_revision().publish()
    Page.objects.filter(pk=page.pk).update(first_published_at=published_at, last_published_at=published_at)
    page.refresh_from_db()
    return page


def add_readers(count):
    readers, _ = Group.objects.get_or_create(name="Readers")
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{i}@example.net", status=Status.SUBSCRIBED) for i in range(count)]
    )
    people = list(Subscriber.objects.filter(email__startswith="reader"))
    add_to_group(people, readers)
    return people
