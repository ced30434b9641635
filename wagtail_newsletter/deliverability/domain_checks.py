"""The DNS checks of a sender domain — SPF, DKIM, DMARC, the bounce domain's MX and the Return-Path domain's SPF —
run against real DNS and stored on the SenderDomain row, where ``send`` reads whether the domain may send.

``check_sender_domain`` (one domain, "Check now") and ``check_all_sender_domains`` (the schedule) are the tasks.
"""

import base64
import binascii
import logging

from django.utils import timezone

from ..conf import newsletter_settings
from ..send.dkim_signing import dns_name, public_key_der
from ..send.models import SenderDomain
from . import findings
from .dmarc import check_dmarc, parse_tags
from .dns_lookup import DnsUnavailable, Lookups
from .spf import check_spf

logger = logging.getLogger(__name__)

SPF, DKIM, DMARC, BOUNCE_MX, RETURN_PATH_SPF = "spf", "dkim", "dmarc", "bounce_mx", "return_path_spf"
CHECKS = (SPF, DKIM, DMARC, BOUNCE_MX, RETURN_PATH_SPF)


def return_path_domain(domain):
    """Where bounces go for mail From ``domain``: RETURN_PATH_DOMAIN, else the domain itself (as send builds it)."""
    return (newsletter_settings.RETURN_PATH_DOMAIN or domain).lower().rstrip(".")


def check_dkim(lookups, sender_domain):
    """The TXT at ``<selector>._domainkey.<domain>`` must publish the public half of our key."""
    if not sender_domain.private_key:
        return findings.problem(findings.WRONG, "dkim-no-key")
    try:
        ours = public_key_der(sender_domain.private_key)
    except ValueError:
        return findings.problem(findings.WRONG, "dkim-no-key")
    found = [text for text in lookups.txt(dns_name(sender_domain.selector, sender_domain.domain)) if "p=" in text]
    if not found:
        return findings.problem(findings.MISSING, "dkim-missing")
    if len(found) > 1:
        return findings.problem(findings.WRONG, "dkim-several", found=found, count=len(found))
    published = "".join(parse_tags(found[0]).get("p", "").split())
    if not published:
        return findings.problem(findings.WRONG, "dkim-revoked", found=found)
    try:
        matches = base64.b64decode(published, validate=True) == ours
    except (binascii.Error, ValueError):
        matches = False
    if not matches:
        return findings.problem(findings.WRONG, "dkim-other-key", found=found)
    return findings.ok(found=found)


def check_bounce_mx(lookups, domain):
    """Bounces must reach the Return-Path domain: an MX (or, without one, an address); a null MX (RFC 7505) says
    the domain takes no mail, and receivers refuse mail whose Return-Path is there (§4.2)."""
    exchanges = lookups.mx(domain)
    shown = [f"{preference} {host}" for preference, host in exchanges]
    if any(host in (".", "") for _preference, host in exchanges):
        return findings.problem(findings.WRONG, "mx-null", found=shown, domain=domain)
    if exchanges:
        return findings.ok(found=shown)
    if lookups.has_address(domain):
        return findings.ok(notes=[("mx-implicit", {"domain": domain})])
    return findings.problem(findings.MISSING, "mx-missing", domain=domain)


def run_checks(sender_domain, lookups=None):
    """{check: Finding} for ``sender_domain`` (RETURN_PATH_SPF only when the Return-Path domain is another one).
    A question DNS could not answer makes its check UNKNOWN; the others still run."""
    lookups = lookups or Lookups()
    domain = sender_domain.domain.lower()
    bounce_domain = return_path_domain(domain)
    required = list(newsletter_settings.SPF_INCLUDE)
    dkim_domain = domain if sender_domain.private_key else None
    checks = {
        SPF: lambda: check_spf(lookups, domain, required),
        DKIM: lambda: check_dkim(lookups, sender_domain),
        DMARC: lambda: check_dmarc(lookups, domain, dkim_domain, bounce_domain),
        BOUNCE_MX: lambda: check_bounce_mx(lookups, bounce_domain),
    }
    if bounce_domain != domain:
        checks[RETURN_PATH_SPF] = lambda: check_spf(lookups, bounce_domain, required)
    results = {}
    for name, run in checks.items():
        try:
            results[name] = run()
        except DnsUnavailable as error:
            results[name] = findings.unknown(error)
    return results


def store_results(sender_domain, results, now=None):
    """Write ``results`` on the row: per check its status and since when it has that status; the domain is
    verified when every check is OK, failing from the first MISSING or WRONG on; UNKNOWN changes neither."""
    now = now or timezone.now()
    previous = sender_domain.dns_checks or {}
    stored = {}
    for name, finding in results.items():
        entry = finding.to_dict()
        before = previous.get(name) or {}
        if finding.status == findings.UNKNOWN:
            entry["since"] = before.get("since")
            entry["last_known"] = before.get("status") if before.get("status") != findings.UNKNOWN else None
            entry["last_known"] = entry["last_known"] or before.get("last_known")
        else:
            entry["since"] = before.get("since") if before.get("status") == finding.status else now.isoformat()
        stored[name] = entry
    statuses = [finding.status for finding in results.values()]
    fields = {"dns_checks": stored, "dns_checked_at": now}
    if any(status in findings.FAILED for status in statuses):
        fields["dns_failing_since"] = sender_domain.dns_failing_since or now
    elif all(status == findings.OK for status in statuses):
        fields["dns_verified_at"] = now
        fields["dns_failing_since"] = None
    for name, value in fields.items():
        setattr(sender_domain, name, value)
    sender_domain.save(update_fields=list(fields))
    return sender_domain


def check_sender_domain(sender_domain_id, now=None):
    """Task: check one domain in DNS and store the results; returns the row (None when it was deleted)."""
    sender_domain = SenderDomain.objects.filter(pk=sender_domain_id).first()
    if sender_domain is None:
        return None
    results = run_checks(sender_domain)
    logger.info(
        "Sender domain %s checked: %s",
        sender_domain.domain,
        ", ".join(f"{name} {finding.status}" for name, finding in results.items()),
    )
    return store_results(sender_domain, results, now=now)


def check_all_sender_domains():
    """Scheduled task: check every sender domain (records that disappear are flagged at the next run)."""
    checked = 0
    for sender_domain_id in SenderDomain.objects.order_by("pk").values_list("pk", flat=True):
        check_sender_domain(sender_domain_id)
        checked += 1
    return checked
