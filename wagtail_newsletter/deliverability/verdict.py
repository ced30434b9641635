"""What the classifier says about one message: its class, the failed recipients and what finds the delivery."""

from dataclasses import dataclass

# The classes, from "the address is dead" to "not a bounce at all" (see docs/operators-bounces.md).
HARD = "hard"  # the address or its domain does not exist: stop mailing it now
SOFT = "soft"  # the mailbox exists but cannot take mail (full, too big, suspended): count it
TRANSIENT = "transient"  # still retrying, or gave up after temporary errors: record it only
POLICY = "policy"  # refused for the sender's content, reputation or authentication: the sender is blocked
COMPLAINT = "complaint"  # a feedback-loop report: the recipient called the message spam
NONE = "none"  # not a bounce: auto-reply, challenge, success notice, ordinary mail

CLASSES = (HARD, SOFT, TRANSIENT, POLICY, COMPLAINT, NONE)

# Which class speaks for a message whose recipients failed differently (most consequential first).
_PRECEDENCE = {COMPLAINT: 0, HARD: 1, POLICY: 2, SOFT: 3, TRANSIENT: 4, NONE: 5}

# What the message was, as read from its format.
KIND_DSN = "dsn"  # RFC 3464 delivery status notification
KIND_BOUNCE = "nonstandard-bounce"  # an MTA's own text format
KIND_ARF = "arf"  # RFC 5965 feedback report
KIND_FEEDBACK = "feedback"  # a complaint in a provider's own format (Microsoft JMRP …)
KIND_AUTOREPLY = "autoreply"  # vacation notice, auto-responder, challenge-response
KIND_OTHER = "other"  # anything else

# Why a message could not be read at all (Verdict.problem); the command says it in words.
NOT_A_MESSAGE = "not-a-message"  # no header fields: not mail
UNPARSABLE = "unparsable"  # the parser gave up


@dataclass(frozen=True)
class Failure:
    """One recipient named by the message: its address (lower case), class and RFC 3463 status ("" if none)."""

    address: str
    cls: str
    status: str = ""
    diagnostic: str = ""


@dataclass(frozen=True)
class Verdict:
    """The reading of one message.

    ``failures``: the recipients it reports on; ``cls``: the class of the message (the most consequential of its
    recipients', ``none`` when it names no failure); ``kind``: its format. What finds the delivery, in the order
    the effects step tries them: ``verp_addresses`` (addresses that may carry our VERP token: the bounce's own
    envelope and routing headers, the returned message's Return-Path, an ARF report's Original-Mail-From),
    ``original_message_id`` (of the returned message), then the recipients' addresses. ``problem``: why the
    message could not be read at all (``NOT_A_MESSAGE``, ``UNPARSABLE``), else "".
    """

    cls: str
    kind: str
    failures: tuple = ()
    original_message_id: str = ""
    verp_addresses: tuple = ()
    feedback_type: str = ""
    reason: str = ""
    problem: str = ""

    @property
    def recipients(self):
        return tuple(failure.address for failure in self.failures)

    @property
    def status(self):
        """The RFC 3463 status: one code, or one per recipient (``;``-separated) when they differ."""
        return _joined([failure.status for failure in self.failures])

    @property
    def classes(self):
        """The class, or one per recipient (``;``-separated) when they differ."""
        if not self.failures:
            return self.cls
        return _joined([failure.cls for failure in self.failures])

    @property
    def is_bounce(self):
        return self.cls in (HARD, SOFT, TRANSIENT, POLICY)


def _joined(values):
    if len(set(values)) <= 1:
        return values[0] if values else ""
    return ";".join(values)


def overall_class(classes):
    """The class that speaks for a message whose recipients have ``classes``."""
    return min(classes, key=_PRECEDENCE.__getitem__, default=NONE)
