"""What the campaign page and its report say when receivers or a sending guard paused a campaign."""

from ...send.models import PauseCause

# Pauses that are not the editor's nor the relay's: the sender's reputation is at stake.
GUARD_CAUSES = (PauseCause.POLICY, PauseCause.BOUNCE_GUARD, PauseCause.COMPLAINT_GUARD)


def guard_pause(campaign):
    """{"cause", "label", "note"} when a guard or a receiver's policy refusal paused ``campaign`` (while it is paused,
    and after it finished without being resumed), else None."""
    if campaign.pause_cause not in GUARD_CAUSES:
        return None
    return {"cause": campaign.pause_cause, "label": campaign.get_pause_cause_display(), "note": campaign.status_note}
