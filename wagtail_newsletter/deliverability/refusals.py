"""Refusals at SMTP time, read like returned mail: when the relay answers 5xx for a recipient (or a 4xx never clears
before the attempts run out), the answer is classified with the same rules as a bounce's diagnostic and applied with
the same effects — "550 5.1.1 user unknown" makes the subscriber bounced at once, "552 mailbox full" counts as a soft
bounce, "550 rejected as spam" pauses the campaign and spares the subscriber.

``send`` hands each batch's refusals here (``claims.set_refusal_handler``, connected in ``AppConfig.ready``) inside
the transaction that writes the deliveries' outcomes.
"""

from ..send.models import Delivery
from .effects import apply_verdicts
from .reasons import failure_class, find_status
from .verdict import SOFT, Failure, Verdict

KIND_SMTP = "smtp"  # Verdict.kind of a refusal read from the relay's answer

# A campaign's own bounce rate is checked at most this often while its refusals come in batch after batch (each
# check counts the campaign's deliveries): a burst of dead addresses still pauses it within seconds.
GUARD_INTERVAL_SECONDS = 10


def refusal_verdict(bounce, email):
    """The Verdict of one refusal (a ``send.claims.Bounce``) to ``email``: a permanent refusal is classified from the
    answer's words and codes; a temporary one given up on is a soft bounce."""
    if bounce.hard:
        cls = failure_class(find_status(bounce.detail, "45"), bounce.detail)
    else:
        cls = SOFT
    failure = Failure(address=(email or "").lower(), cls=cls, diagnostic=bounce.detail)
    return Verdict(cls, KIND_SMTP, failures=(failure,), reason=bounce.detail)


def apply_refusals(bounces):
    """The events and effects of a batch's refusals: the deliveries in one query, then ``apply_verdicts``."""
    deliveries = Delivery.objects.select_related("campaign", "subscriber").in_bulk({b.delivery_id for b in bounces})
    pairs = []
    for bounce in bounces:
        delivery = deliveries.get(bounce.delivery_id)
        if delivery is not None:
            email = delivery.subscriber.email if delivery.subscriber is not None else ""
            pairs.append((refusal_verdict(bounce, email), delivery))
    return apply_verdicts(pairs, guard_interval=GUARD_INTERVAL_SECONDS)
