"""The campaign each "send" step mails a round of people through: made (and frozen, checked like any campaign) when
the first of them reaches the step, then given deliveries batch by batch (``send.ongoing``)."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ...send.campaigns import CampaignError
from ...send.ongoing import reopenable, start_ongoing
from .models import StepCampaign


def campaign_name(step, round_number):
    automation = step.automation
    name = _("%(automation)s · step %(number)s") % {"automation": automation.name, "number": step.sort_order + 1}
    if automation.trigger == "anniversary":
        return f"{name} · {round_number}"
    return name if round_number == 1 else f"{name} · {_('round')} {round_number}"


def campaign_for(step, round_number):
    """The id of the campaign of ``step`` for ``round_number``, made now if needed (in a savepoint: two ticks making
    it at once keep one). Raises ``CampaignError`` when the newsletter can't be sent."""
    found = StepCampaign.objects.filter(step=step, round=round_number).values_list("campaign_id", flat=True).first()
    if found is not None and reopenable(found):
        return found
    if step.page is None:
        raise CampaignError(_("Step %(number)s has no newsletter to send.") % {"number": step.sort_order + 1})
    campaign = start_ongoing(step.page.specific, campaign_name(step, round_number))
    try:
        with transaction.atomic():
            if found is not None:  # the old one was cancelled: the next people get a new one
                StepCampaign.objects.filter(step=step, round=round_number).update(campaign=campaign)
            else:
                StepCampaign.objects.create(step=step, round=round_number, campaign=campaign)
    except IntegrityError:
        campaign.delete()
        return StepCampaign.objects.get(step=step, round=round_number).campaign_id
    return campaign.pk
