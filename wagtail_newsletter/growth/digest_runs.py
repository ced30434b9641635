"""Making a digest's issues: the tick (a django-q2 schedule, every few minutes) finds each active digest that is due,
gathers the pages first published in its period, lays them out as article teasers in the digest's newsletter template,
and either sends the issue as a campaign through the normal engine or leaves it for an editor to review.

Idempotent: the digest's row is locked while its period is handled, its period is a unique ``DigestRun`` row and its
watermark (``published_since``) moves to the period's end in the same transaction, so two ticks, or two clusters,
never make two issues of one period. A tick that finds several periods gone by (workers were down) makes one issue
of all of them: "since the last issue", not one issue per missed week.
"""

import json
import logging
import uuid

from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import strip_tags
from django.utils.text import Truncator, slugify
from wagtail.images import get_image_model
from wagtail.models import Page, get_page_models

from ..compose.models import NewsletterIndexPage, NewsletterPage, NewsletterPageMixin
from ..send import campaigns
from ..send.credits import CreditsError
from ..send.models import CampaignStatus
from .digest_schedule import ScheduleError, latest_occurrence
from .digests import Digest, DigestRun, RunOutcome
from .segments import set_campaign_segments

logger = logging.getLogger(__name__)

# An issue lists at most this many pages (the oldest first); the rest are counted in the run, not mailed.
MAX_PAGES = 30
SUMMARY_CHARS = 300
# Page fields read as the teaser's summary when the page has no search description.
SUMMARY_FIELDS = ("intro", "introduction", "summary", "excerpt", "subtitle")


def tick():
    """django-q2 task (schedules.py): make the issues of every digest that is due now. Returns how many."""
    return len(run_due_digests())


def run_due_digests(now=None):
    """The DigestRun rows made for the active digests due at ``now`` (injectable: tests travel in time)."""
    now = now or timezone.now()
    made = []
    for digest_id in Digest.objects.filter(active=True).values_list("pk", flat=True):
        run = run_digest(digest_id, now)
        if run is not None:
            made.append(run)
    return made


def run_digest(digest_id, now, ahead_of_schedule=False):
    """Handle the period of digest ``digest_id`` that ended last before ``now``, once; None when nothing is due (or
    another tick got there first). ``ahead_of_schedule``: an editor's "Make an issue now": the period ends ``now``."""
    with transaction.atomic():
        digest = Digest.objects.select_for_update().filter(pk=digest_id, active=True).first()
        if digest is None:
            return None
        try:
            due = now if ahead_of_schedule else latest_occurrence(digest.schedule, now)
        except ScheduleError:
            logger.error("Digest %s has an invalid schedule; no issue made", digest_id)
            return None
        if due <= digest.published_since:
            return None
        try:
            with transaction.atomic():  # a savepoint: the unique period is the last guard (SQLite has no row locks)
                run = DigestRun.objects.create(
                    digest=digest, period_start=digest.published_since, period_end=due, outcome=RunOutcome.SKIPPED
                )
        except IntegrityError:
            return None
        Digest.objects.filter(pk=digest.pk).update(published_since=due)
        pages = new_pages(digest, run.period_start, run.period_end)
        run.page_count = len(pages)
        run.page_ids = [page.pk for page in pages[:MAX_PAGES]]
        if pages:
            make_issue(digest, run, pages[:MAX_PAGES])
        run.save()
    logger.info("Digest %s, period until %s: %s (%d pages)", digest_id, due, run.outcome, run.page_count)
    return run


def excluded_content_types():
    """Content types of newsletters and archives: a digest never lists newsletters, its own issues included."""
    models = [model for model in get_page_models() if issubclass(model, (NewsletterPageMixin, NewsletterIndexPage))]
    return [content_type.pk for content_type in ContentType.objects.get_for_models(*models).values()]


def new_pages(digest, start, end):
    """The live, public pages first published in [start, end) under the digest's parent pages and of its page types,
    oldest first (their specific objects)."""
    pages = Page.objects.live().public().filter(first_published_at__gte=start, first_published_at__lt=end)
    below = Q()
    for path, depth in digest.parent_pages.values_list("page__path", "page__depth"):
        below |= Q(path__startswith=path, depth__gt=depth)
    if below:
        pages = pages.filter(below)
    type_ids = list(digest.page_types.values_list("pk", flat=True))
    if type_ids:
        pages = pages.filter(content_type_id__in=type_ids)
    pages = pages.exclude(content_type_id__in=excluded_content_types())
    return list(pages.order_by("first_published_at", "pk").specific())


def teaser_summary(page):
    """The page's search description, else the text of its first intro-like field, shortened."""
    text = page.search_description or ""
    for name in SUMMARY_FIELDS:
        if text:
            break
        value = getattr(page, name, None)
        if isinstance(value, str) or hasattr(value, "source"):  # text, or a RichText value
            text = strip_tags(getattr(value, "source", value))
    return Truncator(" ".join(text.split())).chars(SUMMARY_CHARS)


def teaser_image(page):
    """The first image the page has (a foreign key to the image model), or None."""
    image_model = get_image_model()
    for field in page._meta.concrete_fields:
        if field.many_to_one and field.related_model and issubclass(field.related_model, image_model):
            image = getattr(page, field.name, None)
            if image is not None:
                return image
    return None


def teaser_block(page):
    """An ``article_teaser`` block (raw StreamField data) of ``page``."""
    image = teaser_image(page)
    value = {
        "page": page.pk,
        "title": page.title[:200],
        "summary": teaser_summary(page),
        "image": image.pk if image else None,
        "image_alt_text": "",
        "link_label": "",
    }
    return {"type": "article_teaser", "value": value, "id": str(uuid.uuid4())}


def issue_body(template_body, teasers):
    """The template's blocks with the teasers where its (first) article teaser stands — the template's own teasers
    are placeholders — else before its footer, else at the end."""
    blocks = [block for block in template_body if block["type"] != "article_teaser"]
    positions = [i for i, block in enumerate(template_body) if block["type"] == "article_teaser"]
    if positions:
        at = positions[0]
    else:
        at = next((i for i, block in enumerate(blocks) if block["type"] == "footer"), len(blocks))
    return blocks[:at] + teasers + blocks[at:]


def _unique_slug(parent, base):
    taken = set(parent.get_children().filter(slug__startswith=base).values_list("slug", flat=True))
    slug, number = base, 1
    while slug in taken:
        number += 1
        slug = f"{base}-{number}"
    return slug


def make_issue(digest, run, pages):
    """The issue of ``run``: a newsletter page from the template (published when sent at once) and its campaign,
    then sent or left for review. Sets the run's outcome, newsletter, campaign and note (not saved)."""
    template = digest.template
    values = template.page_values()
    values["body"] = issue_body(
        json.loads(json.dumps(template.body.get_prep_value(), cls=DjangoJSONEncoder)),
        [teaser_block(page) for page in pages],
    )
    day = timezone.localtime(run.period_end).date()
    title = f"{digest.name} – {date_format(day, 'DATE_FORMAT')}"
    values["subject"] = values["subject"] or digest.name
    values["preheader"] = values["preheader"] or Truncator(" · ".join(page.title for page in pages)).chars(200)
    archive = digest.archive
    page = NewsletterPage(title=title, slug=_unique_slug(archive, slugify(f"{digest.name}-{day}")), live=False,
                          **values)  # fmt: skip
    archive.add_child(instance=page)
    revision = page.save_revision(clean=False)
    if not digest.review:
        revision.publish()
        page.refresh_from_db()
    campaign = campaigns.create_campaign(page, None, name=title)
    run.newsletter, run.campaign = page, campaign
    try:
        set_digest_audience(digest, campaign)
        if digest.review:
            run.outcome = RunOutcome.REVIEW
            return
        run.campaign = campaigns.send_now(campaign)
        run.outcome = RunOutcome.SENT
    except (campaigns.CampaignError, CreditsError) as error:
        run.outcome = RunOutcome.FAILED
        run.note = str(error)
        logger.warning("Digest %s: issue %s not sent: %s", digest.pk, page.pk, error)


def set_digest_audience(digest, campaign):
    include_segments = list(digest.include_segments.values_list("pk", flat=True))
    campaigns.set_audience(
        campaign,
        digest.all_subscribers,
        list(digest.include_groups.values_list("pk", flat=True)),
        list(digest.exclude_groups.values_list("pk", flat=True)),
        other_audience=bool(include_segments),
    )
    set_campaign_segments(campaign, include_segments, digest.exclude_segments.values_list("pk", flat=True))


def waiting_for_review():
    """Issues an editor still has to check and send (their campaign is a draft), newest first."""
    return (
        DigestRun.objects.filter(outcome=RunOutcome.REVIEW, campaign__status=CampaignStatus.DRAFT)
        .select_related("digest", "campaign", "newsletter")
        .order_by("-period_end", "-pk")
    )
