"""Whether a From address may send: its sender domain must be verified in DNS.

``deliverability`` checks the records and writes the outcome on the SenderDomain row; this reads those fields
only (send never imports deliverability). A domain that was verified and then fails may still send for
SENDER_DOMAIN_GRACE_DAYS (30, the Infomaniak rule), with a warning; after that, and before its first
verification, it may not. ASSUME_VERIFIED_DOMAINS lets development and demo sites without public DNS send.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ..compose.checks import ERROR, WARNING, Check
from ..conf import newsletter_settings
from .models import SenderDomain

VERIFIED = "verified"
ASSUMED = "assumed"  # ASSUME_VERIFIED_DOMAINS
FAILING = "failing"  # verified once, records failing now, still within the grace period
BLOCKED = "blocked"  # failing for longer than the grace period
UNVERIFIED = "unverified"  # never verified (new, or never checked)
UNREGISTERED = "unregistered"  # no sender domain covers the address
MAY_SEND = (VERIFIED, ASSUMED, FAILING)


@dataclass(frozen=True)
class SenderDomainState:
    state: str
    domain: str  # the sender domain (or, when unregistered, the address's domain)
    row: SenderDomain | None = None
    deadline: object = None  # FAILING/BLOCKED: when sending stops

    @property
    def may_send(self):
        return self.state in MAY_SEND


def domain_of(address):
    return (address or "").rpartition("@")[2].strip().rstrip(".").lower()


def parent_domains(domain):
    """"a.b.example.org" -> ["a.b.example.org", "b.example.org", "example.org", "org"]."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def _assumed(domain):
    assumed = {name.strip().rstrip(".").lower() for name in newsletter_settings.ASSUME_VERIFIED_DOMAINS}
    return any(candidate in assumed for candidate in parent_domains(domain))


def covering_domain(domain):
    """The SenderDomain row of ``domain``, else of its nearest parent (a row covers its subdomains), or None."""
    candidates = parent_domains(domain)
    rows = {row.domain.lower(): row for row in SenderDomain.objects.filter(domain__in=candidates)}
    return next((rows[candidate] for candidate in candidates if candidate in rows), None)


def row_state(row, now=None):
    """The SenderDomainState of a SenderDomain row, from the fields the DNS checks wrote."""
    now = now or timezone.now()
    if _assumed(row.domain):
        return SenderDomainState(ASSUMED, row.domain, row)
    if row.dns_verified_at is None:
        return SenderDomainState(UNVERIFIED, row.domain, row)
    if row.dns_failing_since is None:
        return SenderDomainState(VERIFIED, row.domain, row)
    deadline = row.dns_failing_since + timedelta(days=newsletter_settings.SENDER_DOMAIN_GRACE_DAYS)
    return SenderDomainState(FAILING if now < deadline else BLOCKED, row.domain, row, deadline)


def sender_domain_state(address, now=None):
    """The SenderDomainState of the domain of ``address``."""
    domain = domain_of(address)
    row = covering_domain(domain) if domain else None
    if row is not None:
        return row_state(row, now)
    return SenderDomainState(ASSUMED if domain and _assumed(domain) else UNREGISTERED, domain)


def _when(value):
    return date_format(timezone.localtime(value), "DATE_FORMAT")


def state_message(state):
    """What an editor reads about a state that is not plainly verified (None for VERIFIED and ASSUMED)."""
    params = {"domain": state.domain}
    if state.state == UNREGISTERED:
        return _(
            "The sender address is not on a sender domain: add %(domain)s under Newsletter → Sender domains, "
            "publish its DNS records and check them."
        ) % params
    if state.state == UNVERIFIED:
        return _(
            "The sender domain %(domain)s is not verified yet: publish its DNS records, then check them under "
            "Newsletter → Sender domains."
        ) % params
    if state.state in (FAILING, BLOCKED):
        params.update(since=_when(state.row.dns_failing_since), deadline=_when(state.deadline))
        if state.state == BLOCKED:
            return _(
                "The DNS records of the sender domain %(domain)s have been failing since %(since)s: it cannot "
                "send until they are fixed (Newsletter → Sender domains)."
            ) % params
        return _(
            "The DNS records of the sender domain %(domain)s have been failing since %(since)s: fix them before "
            "%(deadline)s, or it can no longer send."
        ) % params
    return None


def sender_domain_checks(address, now=None):
    """The pre-flight checklist's "sender domain verified" entry for mail From ``address``: [] when verified, an
    ERROR when the domain may not send, a WARNING while it is failing but within its grace period."""
    state = sender_domain_state(address, now)
    message = state_message(state)
    if message is None:
        return []
    return [
        Check(
            "sender-domain-not-verified" if not state.may_send else "sender-domain-failing",
            ERROR if not state.may_send else WARNING,
            message,
            _("A domain proves it is yours with SPF, DKIM and DMARC records: mailbox providers reject or file as "
              "spam the mail of domains without them."),
        )  # fmt: skip
    ]


def sender_domain_problem(address, now=None):
    """Why mail From ``address`` is refused (translated), or None when its domain may send."""
    return next((check.message for check in sender_domain_checks(address, now) if check.level == ERROR), None)
