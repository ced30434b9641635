"""Making and starting an A/B test from a draft campaign (the send wizard calls these; so can code).

``create_ab_test`` checks the editor's choices and makes one draft campaign per variant, each with a revision of its
own when the variant changes the subject, preheader or sender name (a revision made for the campaign: the page's
latest revision and drafts are not touched). ``start_ab_test`` draws the samples and starts the variants' campaigns in
one transaction: a crash before the commit leaves nothing drawn and nothing sent; after it, the samples and the
deliveries are both there, and the workers send them as any campaign.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.models import Revision

from ..send import campaigns as lifecycle
from ..send.credits import CreditsError
from ..send.models import Campaign, CampaignStatus
from .ab_sampling import SampleError, draw_samples
from .ab_tests import LETTERS, MAX_VARIANTS, MIN_VARIANTS, AbMetric, AbStatus, AbTest, AbVariant

WINNER_TASK = "wagtail_newsletter.growth.ab_winner.pick_winner"
# One-off django-q2 schedules that pick a test's winner on time (``schedules.ensure_schedules`` leaves them alone;
# the periodic ``pick_due_winners`` backs them up).
WINNER_SCHEDULE_PREFIX = "wagtail_newsletter: A/B test winner "
MAX_WAIT_MINUTES = 30 * 24 * 60


class AbTestError(Exception):
    """A test that can't be made or started; the message is for the editor."""


@dataclass
class VariantChoice:
    """What the editor chose for one variant: blank texts and no page mean "as the campaign's newsletter"."""

    sample_percent: int
    subject: str = ""
    preheader: str = ""
    sender_name: str = ""
    page: object = None  # another newsletter page (its latest revision), or None


def check_choices(variants, metric, wait_minutes):
    """Refuse what makes no test: a number of variants outside 2–4, samples of 0 % or more than 100 % in all, an
    unknown metric, a wait outside 0–30 days."""
    problems = []
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        problems.append(_("An A/B test has 2 to 4 variants."))
    if any(not 1 <= int(variant.sample_percent) <= 100 for variant in variants):
        problems.append(_("Each sample is between 1 % and 100 % of the audience."))
    elif sum(int(variant.sample_percent) for variant in variants) > 100:
        problems.append(_("The samples add up to more than 100 % of the audience."))
    if metric not in AbMetric.values:
        problems.append(_("Choose how the winner is chosen."))
    if not 0 <= int(wait_minutes) <= MAX_WAIT_MINUTES:
        problems.append(_("The wait is between 0 minutes and 30 days."))
    if problems:
        raise AbTestError(" ".join(problems))


def variant_revision(campaign, choice, user=None):
    """(page, revision) a variant sends: the campaign's own revision, or another newsletter's latest, with the
    variant's subject, preheader and sender name written into a new revision when it changes them."""
    if choice.page is not None:
        page = choice.page.specific
        revision = page.get_latest_revision() or page.save_revision(user=user)
    else:
        page, revision = campaign.page, campaign.revision
    if revision is None:
        raise AbTestError(_("The newsletter of this campaign no longer exists."))
    changes = {"subject": choice.subject, "preheader": choice.preheader, "sender_name": choice.sender_name}
    changes = {field: value.strip() for field, value in changes.items() if value and value.strip()}
    if not changes:
        return page, revision
    frozen = revision.as_object()
    for field, value in changes.items():
        setattr(frozen, field, value)
    # Made directly (not with save_revision): the page's latest revision and "unpublished changes" stay as they are.
    return page, Revision.objects.create(
        content_object=frozen,
        base_content_type=frozen.get_base_content_type(),
        user=user,
        content=frozen.serializable_data(),
        object_str=str(frozen),
    )


def variant_campaign(campaign, letter, page, revision, user=None):
    """A draft campaign of one variant: its revision's email settings, no groups (its sample is its audience)."""
    frozen = revision.as_object()
    return Campaign.objects.create(
        name=(_("%(name)s — variant %(letter)s") % {"name": campaign.name, "letter": letter})[:255],
        page=page,
        revision=revision,
        subject=frozen.subject or "",
        from_name=frozen.sender_name or "",
        from_email=frozen.sender_email or "",
        reply_to=frozen.reply_to or "",
        tracking_enabled=getattr(frozen, "tracking_enabled", True),
        track_opens=getattr(frozen, "track_opens", True),
        all_subscribers=False,
        translation_fallback=campaign.translation_fallback,
        created_by=user,
    )


def create_ab_test(campaign, variants, metric=AbMetric.OPENS, wait_minutes=240, send_winner=True, user=None):
    """A draft A/B test of the draft ``campaign`` with ``variants`` (VariantChoice, A first)."""
    check_choices(variants, metric, wait_minutes)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != CampaignStatus.DRAFT:
            raise AbTestError(_("Only a draft campaign can become an A/B test."))
        if campaign.follow_up:
            raise AbTestError(_("A follow-up can't be an A/B test."))
        if AbVariant.objects.filter(campaign=campaign).exists():
            raise AbTestError(_("A variant of an A/B test can't be tested again."))
        # Chosen again: the old draft test goes, with its variants' draft campaigns.
        drafts = AbTest.objects.filter(campaign=campaign, status=AbStatus.DRAFT)
        Campaign.objects.filter(ab_variant__ab_test__in=drafts, status=CampaignStatus.DRAFT).delete()
        drafts.delete()
        if AbTest.objects.filter(campaign=campaign).exists():
            raise AbTestError(_("This campaign's A/B test has already started."))
        ab_test = AbTest.objects.create(
            campaign=campaign,
            metric=metric,
            wait_minutes=int(wait_minutes),
            send_winner=bool(send_winner),
            seed=secrets.token_hex(8),
            created_by=user,
        )
        for letter, choice in zip(LETTERS, variants, strict=False):
            page, revision = variant_revision(campaign, choice, user)
            AbVariant.objects.create(
                ab_test=ab_test,
                letter=letter,
                campaign=variant_campaign(campaign, letter, page, revision, user),
                sample_percent=int(choice.sample_percent),
                subject=choice.subject.strip(),
                preheader=choice.preheader.strip(),
                sender_name=choice.sender_name.strip(),
            )
    return ab_test


def start_ab_test(ab_test, user=None, now=None):
    """Draw the samples and start every variant's campaign, in one transaction; plan the winner's pick.

    Returns the test; one already started is returned unchanged (a repeated click starts nothing twice)."""
    now = now or timezone.now()
    with transaction.atomic():
        ab_test = AbTest.objects.select_for_update().get(pk=ab_test.pk)
        if ab_test.status != AbStatus.DRAFT:
            return ab_test
        rest = Campaign.objects.select_for_update().get(pk=ab_test.campaign_id)
        if rest.status != CampaignStatus.DRAFT:
            raise AbTestError(_("This campaign has already been started."))
        problems = lifecycle.check_can_send(rest, user)  # the whole audience: credits, guards, sender, checklist
        if problems:
            raise AbTestError(" ".join(str(problem) for problem in problems))
        variants = list(ab_test.variants.select_related("campaign"))
        try:
            sizes = draw_samples(ab_test, variants)
        except SampleError as error:
            raise AbTestError(str(error)) from error
        for variant, size in zip(variants, sizes, strict=True):
            variant.sample_size = size
            variant.save(update_fields=["sample_size"])
            try:
                lifecycle.send_now(variant.campaign, user)
            except (lifecycle.CampaignError, CreditsError) as error:
                message = _("Variant %(letter)s: %(error)s") % {"letter": variant.letter, "error": error}
                raise AbTestError(message) from error
        ab_test.status = AbStatus.TESTING
        ab_test.started_at = now
        ab_test.decide_at = now + timedelta(minutes=ab_test.wait_minutes)
        ab_test.save(update_fields=["status", "started_at", "decide_at"])
        schedule_pick(ab_test)
    return ab_test


def schedule_pick(ab_test):
    """A one-off django-q2 schedule that picks the winner at ``decide_at`` (the periodic pick backs it up)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=f"{WINNER_SCHEDULE_PREFIX}{ab_test.pk}",
        defaults={
            "func": WINNER_TASK,
            "args": repr((ab_test.pk,)),
            "schedule_type": Schedule.ONCE,
            "repeats": 1,
            "next_run": ab_test.decide_at,
        },
    )
