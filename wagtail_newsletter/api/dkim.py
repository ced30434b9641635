"""Sender domains' DKIM keys from code: generate one, rotate it, read the DNS record to publish.

The key lives on the SenderDomain row that signs the domain's mail (``send.dkim_signing``); the admin's sender
domain pages do the same by hand. Also the ``newsletter_dkim`` management command.
"""

from __future__ import annotations

import hashlib
import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

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
from .results import DkimKey

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_SELECTOR = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
DEFAULT_SELECTOR = "newsletter"


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


def _key_of(row: SenderDomain) -> DkimKey:
    bits = load_private_key(row.private_key).key_size
    digest = hashlib.sha256(public_key_der(row.private_key)).hexdigest()
    return DkimKey(
        domain=row.domain,
        selector=row.selector,
        dns_name=dns_name(row.selector, row.domain),
        dns_value=dns_record(row.private_key),
        txt_strings=tuple(dns_record_chunks(row.private_key)),
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

    InvalidState when the domain has a key already (``rotate_dkim_key`` replaces one)."""
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


def rotate_dkim_key(domain: str, *, selector: str | None = None, user=None) -> DkimKey:
    """Replace the DKIM key of sender domain ``domain`` and return the new TXT record, to publish at once: mail
    signed from now on carries the new key.

    ``selector``: the new key's; by default a new dated one (``nl-YYYYMMDDHHMM``), so the new record sits beside
    the old one in DNS (keep the old record a few days for mail still in transit, then remove it); give the
    current selector to replace the record in place instead. The DNS checks then look for the new record."""
    with transaction.atomic():
        row = _row(domain)
        row = SenderDomain.objects.select_for_update().get(pk=row.pk)
        if selector is None:
            selector = f"nl-{timezone.now():%Y%m%d%H%M}"
            if selector == row.selector:
                selector += "-2"
        row.selector = clean_selector(selector)
        row.private_key = generate_private_key()
        row.save(update_fields=["selector", "private_key"])
        log(instance=row, action="wagtail.edit", user=user, data={"dkim_key": "rotated", "selector": row.selector})
    return _key_of(row)
