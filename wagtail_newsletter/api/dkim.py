"""Sender domains' DKIM keys from code: generate one, rotate it without a gap, read the DNS records to publish.

The key lives on the SenderDomain row that signs the domain's mail (``send.dkim_signing``); the admin's sender
domain pages do the same by hand. Also the ``newsletter_dkim`` management command.

Rotation is gapless, the way ESPs do it: ``rotate_dkim_key`` makes a *next* key under a new selector, stored beside
the current one, which keeps signing; ``complete_dkim_rotation`` switches signing to the next key only once DNS
publishes its record (asked as the domain checks ask), and remembers the old selector, whose record must stay
published about a week for the mail signed with it that is still on its way (``PREVIOUS_RECORD_KEPT``).
"""

from __future__ import annotations

import datetime
import hashlib
import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from ..deliverability import findings
from ..deliverability.check_texts import text as finding_text
from ..deliverability.dns_lookup import DnsUnavailable, Lookups
from ..deliverability.domain_checks import check_dkim
from ..mail_text import ascii_domain
from ..send.dkim_signing import (
    dns_name,
    dns_record,
    dns_record_chunks,
    generate_private_key,
    load_private_key,
    public_key_der,
)
from ..send.models import SenderDomain
from .errors import InvalidInput, InvalidState, NotFound
from .results import DkimKey, DkimKeys

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_SELECTOR = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
DEFAULT_SELECTOR = "newsletter"
# How long the replaced selector's record should stay in DNS: mail signed with it may wait in queues for days
# (RFC 5321 §4.5.4.1 suggests giving up after 4-5 days) and is verified when it arrives.
PREVIOUS_RECORD_KEPT = datetime.timedelta(days=7)


def clean_domain(domain: str) -> str:
    """The domain as stored (lower case, ASCII: IDNA 2008), or InvalidInput."""
    try:
        value = ascii_domain(str(domain or "").strip().rstrip(".").lower())
    except UnicodeError:
        value = ""
    if len(value) > 253 or not _HOSTNAME.match(value) or value.rsplit(".", 1)[1].isdigit():
        raise InvalidInput(_("“%(domain)s” is not a domain name such as example.org.") % {"domain": domain},
                           field="domain")  # fmt: skip
    return value


def clean_selector(selector: str) -> str:
    value = str(selector or "").strip().lower()
    if len(value) > 63 or not _SELECTOR.match(value):
        raise InvalidInput(_("“%(selector)s” is not a DKIM selector: letters, digits and hyphens only.")
                           % {"selector": selector}, field="selector")  # fmt: skip
    return value


def _key_of(row: SenderDomain, *, pending: bool = False) -> DkimKey:
    selector, private_key = (row.next_selector, row.next_private_key) if pending else (row.selector, row.private_key)
    bits = load_private_key(private_key).key_size
    digest = hashlib.sha256(public_key_der(private_key)).hexdigest()
    return DkimKey(
        domain=row.domain,
        selector=selector,
        dns_name=dns_name(selector, row.domain),
        dns_value=dns_record(private_key),
        txt_strings=tuple(dns_record_chunks(private_key)),
        bits=bits,
        fingerprint=":".join(digest[i : i + 2] for i in range(0, 32, 2)),
    )


def _row(domain: str) -> SenderDomain:
    row = SenderDomain.objects.filter(domain=clean_domain(domain)).first()
    if row is None:
        raise NotFound(_("No sender domain %(domain)s.") % {"domain": domain}, field="domain")
    return row


def dkim_key(domain: str) -> DkimKey:
    """The DKIM key of sender domain ``domain``: the TXT record to publish. InvalidState when it has none."""
    row = _row(domain)
    if not row.private_key:
        raise InvalidState(_("The sender domain %(domain)s has no DKIM key yet.") % {"domain": row.domain})
    try:
        return _key_of(row)
    except ValueError as error:
        raise InvalidState(_("The DKIM key of %(domain)s is not usable (%(error)s): rotate it.")
                           % {"domain": row.domain, "error": error}) from error  # fmt: skip


def generate_dkim_key(domain: str, *, selector: str = DEFAULT_SELECTOR, user=None) -> DkimKey:
    """A new RSA 2048 key for sender domain ``domain`` — added as a sender domain when it is not one yet — and the
    TXT record to publish at ``<selector>._domainkey.<domain>``. The domain sends once DNS checks verify it.

    InvalidState when the domain has a key already (``rotate_dkim_key`` starts replacing it)."""
    name, selector = clean_domain(domain), clean_selector(selector)
    with transaction.atomic():
        row = SenderDomain.objects.select_for_update().filter(domain=name).first()
        if row is not None and row.private_key:
            raise InvalidState(_("The sender domain %(domain)s has a DKIM key already: rotate it to replace it.")
                               % {"domain": name})  # fmt: skip
        if row is None:
            row = SenderDomain(domain=name)
        row.selector = selector
        row.private_key = generate_private_key()
        row.save()
        log(instance=row, action="wagtail.edit", user=user, data={"dkim_key": "generated"})
    return _key_of(row)


def dkim_keys(domain: str) -> DkimKeys:
    """The keys of sender domain ``domain``: the current one (None without a usable key), the pending one of a
    rotation in progress, and the selector the last rotation replaced, with when its record may be removed."""
    row = _row(domain)
    try:
        current = _key_of(row) if row.private_key else None
    except ValueError:
        current = None
    return DkimKeys(
        domain=row.domain,
        current=current,
        pending=_key_of(row, pending=True) if row.next_private_key else None,
        rotation_started_at=row.rotation_started_at,
        previous_selector=row.previous_selector,
        rotated_at=row.rotated_at,
        previous_removable_after=row.rotated_at + PREVIOUS_RECORD_KEPT if row.previous_selector else None,
    )


def rotate_dkim_key(domain: str, *, selector: str | None = None, user=None) -> DkimKey:
    """Start a gapless rotation of sender domain ``domain``'s DKIM key: a new RSA 2048 key under a new selector,
    stored as the *next* key, and returned with the TXT record to publish. The current key keeps signing until
    ``complete_dkim_rotation`` finds that record in DNS.

    ``selector``: the next key's; by default a new dated one (``nl-YYYYMMDDHHMM``). It must differ from the current
    and the previous selector, whose records stay published meanwhile. InvalidState when a rotation is in progress
    already (complete or cancel it) or the domain has no key yet (``generate_dkim_key``)."""
    with transaction.atomic():
        row = _row(domain)
        row = SenderDomain.objects.select_for_update().get(pk=row.pk)
        if not row.private_key:
            raise InvalidState(_("The sender domain %(domain)s has no DKIM key yet: generate one.")
                               % {"domain": row.domain})  # fmt: skip
        if row.next_private_key:
            raise InvalidState(_("A key rotation of %(domain)s is in progress already (selector %(selector)s): "
                                 "publish its record and complete it, or cancel it.")
                               % {"domain": row.domain, "selector": row.next_selector})  # fmt: skip
        if selector is None:
            selector = f"nl-{timezone.now():%Y%m%d%H%M}"
            if selector in (row.selector, row.previous_selector):
                selector += "-2"
        selector = clean_selector(selector)
        if selector in (row.selector, row.previous_selector):
            raise InvalidInput(_("The selector %(selector)s is in use by a key of %(domain)s: the next key needs "
                                 "its own, so both records can be published side by side.")
                               % {"selector": selector, "domain": row.domain}, field="selector")  # fmt: skip
        row.next_selector = selector
        row.next_private_key = generate_private_key()
        row.rotation_started_at = timezone.now()
        row.save(update_fields=["next_selector", "next_private_key", "rotation_started_at"])
        log(instance=row, action="wagtail.edit", user=user, data={"dkim_key": "rotation started",
                                                                  "selector": selector})  # fmt: skip
    return _key_of(row, pending=True)


def pending_record_problem(row: SenderDomain) -> str | None:
    """Why DNS does not (yet) publish the next key's record of ``row`` (translated), or None when it does. Asked
    through the domain checks' own lookup (DNS_RESOLVERS, no cache)."""
    pending = SenderDomain(domain=row.domain, selector=row.next_selector, private_key=row.next_private_key)
    try:
        finding = check_dkim(Lookups(), pending)
    except DnsUnavailable as error:
        finding = findings.unknown(error)
    if finding.status == findings.OK:
        return None
    code, params = finding.problems[0]
    return _("%(name)s: %(problem)s") % {"name": dns_name(row.next_selector, row.domain),
                                         "problem": finding_text(code, params)}  # fmt: skip


def complete_dkim_rotation(domain: str, *, force: bool = False, user=None) -> DkimKey:
    """Finish the rotation ``rotate_dkim_key`` started: the next key signs the domain's mail from now on. Returns it.

    Refused (InvalidState, nothing changed) unless DNS publishes the next key's record exactly — missing, another
    key, several records, or DNS not answering — or with ``force=True`` (for operators who know it is published
    where this server's resolvers cannot see it). The replaced selector stays listed (``dkim_keys``): keep its
    record published about a week, for mail in flight, then remove it."""
    row = _row(domain)
    if not row.next_private_key:
        raise InvalidState(_("No key rotation of %(domain)s is in progress: rotate the key first.")
                           % {"domain": row.domain})  # fmt: skip
    if not force:
        problem = pending_record_problem(row)  # outside the transaction: DNS may take seconds
        if problem:
            raise InvalidState(_("The new DKIM record of %(domain)s is not published yet (%(problem)s). Publish "
                                 "it and try again; the current key keeps signing meanwhile.")
                               % {"domain": row.domain, "problem": problem})  # fmt: skip
    with transaction.atomic():
        locked = SenderDomain.objects.select_for_update().get(pk=row.pk)
        if (locked.next_selector, locked.next_private_key) != (row.next_selector, row.next_private_key):
            raise InvalidState(_("The key rotation of %(domain)s changed meanwhile: try again.")
                               % {"domain": row.domain})  # fmt: skip
        locked.previous_selector = locked.selector if locked.private_key else ""
        locked.selector, locked.private_key = locked.next_selector, locked.next_private_key
        locked.next_selector, locked.next_private_key, locked.rotation_started_at = "", "", None
        locked.rotated_at = timezone.now()
        locked.save(update_fields=["selector", "private_key", "next_selector", "next_private_key",
                                   "rotation_started_at", "previous_selector", "rotated_at"])  # fmt: skip
        log(instance=locked, action="wagtail.edit", user=user, data={
            "dkim_key": "rotated", "selector": locked.selector, "previous_selector": locked.previous_selector,
            "forced": bool(force)})  # fmt: skip
    return _key_of(locked)


def cancel_dkim_rotation(domain: str, *, user=None) -> None:
    """Drop the next key of a rotation in progress (its record, if published, may be removed); the current key
    keeps signing. InvalidState when no rotation is in progress."""
    with transaction.atomic():
        row = _row(domain)
        row = SenderDomain.objects.select_for_update().get(pk=row.pk)
        if not row.next_private_key:
            raise InvalidState(_("No key rotation of %(domain)s is in progress.") % {"domain": row.domain})
        selector = row.next_selector
        row.next_selector, row.next_private_key, row.rotation_started_at = "", "", None
        row.save(update_fields=["next_selector", "next_private_key", "rotation_started_at"])
        log(instance=row, action="wagtail.edit", user=user, data={"dkim_key": "rotation cancelled",
                                                                  "selector": selector})  # fmt: skip
