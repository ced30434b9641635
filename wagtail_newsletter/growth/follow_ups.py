"""Follow-up campaigns: an earlier campaign sent again to part of its audience.

A follow-up is a draft campaign with ``follow_up_of`` (the earlier campaign) and ``follow_up`` (which part):

- non-openers: recipients of the earlier campaign whose message was sent and who never opened it as a person
  (``Activity.first_open_at`` is empty; opens by privacy proxies and pre-fetchers alone do not count as opened);
- non-clickers: recipients whose message was sent and who never clicked a link as a person;
- newcomers: people who would be in the earlier campaign's audience (its groups) today but got no message of it
  (nor of the campaigns it follows up).

Everyone must still be subscribed (and not deleted) when the follow-up is planned. Each audience is one queryset of
subscribers with ``EXISTS`` / ``NOT EXISTS`` subqueries, so ``plan_deliveries`` stays one ``INSERT … SELECT``.

A follow-up is a segment of an earlier audience by what people did with it, so it lives on the growth floor, above
tracking; ``send`` plans its deliveries through ``follow_up_recipients``, which ``AppConfig.ready`` hands to
``send.planner.set_follow_up_audience``.
"""

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from ..send.models import Campaign, Delivery, DeliveryStatus, FollowUp
from ..send.planner import recipients
from ..track.models import Activity

# Fields copied from the earlier campaign: what it sent and how (its audience too, for newcomers).
COPIED_FIELDS = (
    "page",
    "revision",
    "subject",
    "from_name",
    "from_email",
    "reply_to",
    "tracking_enabled",
    "track_opens",
    "all_subscribers",
)


class FollowUpError(Exception):
    """A follow-up that can't be made; the message is for the editor."""


def can_follow_up(campaign):
    """Only a campaign that has started has recipients to follow up."""
    return campaign.started_at is not None


def available_kinds(campaign):
    """The follow-ups that make sense for ``campaign``: without open (click) tracking nobody is known to have opened
    (clicked), so "non-openers" ("non-clickers") would be everybody."""
    if not can_follow_up(campaign):
        return []
    kinds = []
    if campaign.track_opens or campaign.tracking_enabled:  # a human click also counts as an open
        kinds.append(FollowUp.NON_OPENERS)
    if campaign.tracking_enabled:
        kinds.append(FollowUp.NON_CLICKERS)
    kinds.append(FollowUp.NEWCOMERS)
    return kinds


def default_name(campaign, kind):
    names = {
        FollowUp.NON_OPENERS: _("%(name)s — to non-openers"),
        FollowUp.NON_CLICKERS: _("%(name)s — to non-clickers"),
        FollowUp.NEWCOMERS: _("%(name)s — to newcomers"),
    }
    return (names[kind] % {"name": campaign.name})[:255]


def create_follow_up(campaign, kind, user=None, name=None):
    """A draft follow-up of ``campaign`` (which must have started) to the ``kind`` part of its audience.

    It sends the same revision as ``campaign`` (the same content, even if the newsletter page was edited or deleted
    since; the send wizard offers to switch to the newsletter's latest version when there is one).
    """
    if kind not in FollowUp.values:
        raise FollowUpError(_("Unknown follow-up audience."))
    if not can_follow_up(campaign):
        raise FollowUpError(_("Only a campaign that has started can be followed up."))
    if campaign.revision_id is None and campaign.page_id is None:
        raise FollowUpError(_("The newsletter of this campaign no longer exists."))
    follow_up = Campaign(
        name=name or default_name(campaign, kind), follow_up_of=campaign, follow_up=kind, created_by=user
    )
    for field in COPIED_FIELDS:
        setattr(follow_up, field, getattr(campaign, field))
    with transaction.atomic():
        if follow_up.revision_id is None:  # purged: the newsletter's latest version instead
            revision = campaign.page.get_latest_revision() or campaign.page.specific.save_revision(user=user)
            follow_up.revision = revision
        follow_up.save()
        follow_up.include_groups.set(campaign.include_groups.all())
        follow_up.exclude_groups.set(campaign.exclude_groups.all())
    return follow_up


def campaign_chain_ids(campaign):
    """``campaign`` and the campaigns it follows up, nearest first (a few small queries; loops are cut)."""
    ids = [campaign.pk]
    parent_id = campaign.follow_up_of_id
    while parent_id is not None and parent_id not in ids:
        ids.append(parent_id)
        parent_id = Campaign.objects.filter(pk=parent_id).values_list("follow_up_of_id", flat=True).first()
    return ids


def follow_up_recipients(follow_up):
    """The subscribers a follow-up draft goes to, today (a queryset of subscribed, not deleted subscribers)."""
    if follow_up.follow_up_of is None:  # the earlier campaign was deleted: nobody is known to follow up
        return recipients(True).none()
    return audience(follow_up.follow_up_of, follow_up.follow_up, groups_of=follow_up)


def preview_recipients(campaign, kind):
    """Who a follow-up of ``campaign`` would go to if it were made now (before the draft exists)."""
    return audience(campaign, kind, groups_of=campaign)


def audience(original, kind, groups_of):
    """The ``kind`` part of ``original``'s audience; newcomers are counted in the groups of ``groups_of`` (the
    follow-up, which has a copy of them)."""
    if kind == FollowUp.NEWCOMERS:
        in_groups = recipients(
            groups_of.all_subscribers,
            list(groups_of.include_groups.values_list("pk", flat=True)),
            list(groups_of.exclude_groups.values_list("pk", flat=True)),
        )
        received = Delivery.objects.filter(campaign_id__in=campaign_chain_ids(original), subscriber=OuterRef("pk"))
        return in_groups.exclude(Exists(received))
    if kind == FollowUp.NON_OPENERS:
        acted = {"first_open_at__isnull": False}
    elif kind == FollowUp.NON_CLICKERS:
        acted = {"first_click_at__isnull": False}
    else:
        return recipients(True).none()
    human = Activity.objects.filter(delivery=OuterRef("pk"), **acted)
    missed = Delivery.objects.filter(campaign=original, subscriber=OuterRef("pk"), status=DeliveryStatus.SENT).exclude(
        Exists(human)
    )
    return recipients(True).filter(Exists(missed))


def describe(follow_up):
    """ "Recipients of “Spring” who did not open it", for the wizard and the campaign page."""
    return describe_kind(follow_up.follow_up_of, follow_up.follow_up)


def describe_kind(original, kind):
    if original is None:
        return _("A follow-up of a campaign that was deleted: nobody")
    texts = {
        FollowUp.NON_OPENERS: _("Recipients of “%(name)s” who did not open it, and are still subscribed"),
        FollowUp.NON_CLICKERS: _("Recipients of “%(name)s” who clicked no link, and are still subscribed"),
        FollowUp.NEWCOMERS: _("Subscribers who would get “%(name)s” today but did not receive it"),
    }
    return texts.get(kind, _("Follow-up of “%(name)s”")) % {"name": original.name}
