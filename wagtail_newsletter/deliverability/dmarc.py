"""DMARC (RFC 7489) of a sender domain: the record at ``_dmarc.<domain>`` or at its organisational domain, its
policy, and whether the From domain aligns with our DKIM ``d=`` and with the Return-Path domain.

The organisational domain comes from the Public Suffix List shipped with ``publicsuffixlist`` (no download).
``checkdmarc`` does these checks too, but a timeout there ends as "record not found" and its lookups go through a
process-wide answer cache that "Check now" could not bypass; so the records are read with ``dns_lookup``.
"""

import functools

from publicsuffixlist import PublicSuffixList

from . import findings

POLICIES = ("none", "quarantine", "reject")


@functools.cache
def _suffix_list():
    return PublicSuffixList()


def organisational_domain(domain):
    """The registered domain of ``domain`` ("news.example.co.uk" -> "example.co.uk"); the domain itself when it
    is a public suffix or unknown."""
    domain = domain.lower().rstrip(".")
    return _suffix_list().privatesuffix(domain) or domain


def aligned(domain, other, strict):
    """RFC 7489 §3.1: identical domains (strict), or the same organisational domain (relaxed)."""
    domain, other = domain.lower().rstrip("."), other.lower().rstrip(".")
    return domain == other if strict else organisational_domain(domain) == organisational_domain(other)


def dmarc_records(texts):
    return [text for text in texts if text.replace(" ", "").startswith("v=DMARC1;") or text.strip() == "v=DMARC1"]


def parse_tags(record):
    """``"v=DMARC1; p=none; adkim=s"`` -> {"v": "DMARC1", "p": "none", "adkim": "s"} (tag names lower-cased)."""
    tags = {}
    for part in record.split(";"):
        name, equals, value = part.partition("=")
        if equals and name.strip():
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


def find_record(lookups, domain):
    """(where, [records]) of the DMARC policy for ``domain``: its own, else its organisational domain's."""
    found = dmarc_records(lookups.txt(f"_dmarc.{domain}"))
    organisational = organisational_domain(domain)
    if not found and organisational != domain:
        return organisational, dmarc_records(lookups.txt(f"_dmarc.{organisational}"))
    return domain, found


def check_dmarc(lookups, domain, dkim_domain, return_path_domain):
    """A Finding for the DMARC of mail From ``domain``, signed with ``d=dkim_domain`` (None: not signed) and
    sent with a Return-Path at ``return_path_domain``. Raises DnsUnavailable when DNS could not answer."""
    where, found = find_record(lookups, domain)
    if not found:
        return findings.problem(findings.MISSING, "dmarc-missing")
    if len(found) > 1:
        return findings.problem(findings.WRONG, "dmarc-several", found=found, count=len(found))
    tags = parse_tags(found[0])
    policy = tags.get("p", "").lower()
    if policy not in POLICIES:
        return findings.problem(findings.WRONG, "dmarc-no-policy", found=found, policy=tags.get("p", ""))
    dkim_aligned = bool(dkim_domain) and aligned(domain, dkim_domain, tags.get("adkim", "r").lower() == "s")
    spf_aligned = aligned(domain, return_path_domain, tags.get("aspf", "r").lower() == "s")
    params = {"policy": policy, "where": where, "return_path_domain": return_path_domain}
    if not dkim_aligned and not spf_aligned:
        return findings.problem(findings.WRONG, "dmarc-not-aligned", found=found, **params)
    notes = [("dmarc-policy", params)]
    if policy == "none":
        notes.append(("dmarc-policy-none", params))
    if not spf_aligned:
        notes.append(("dmarc-return-path-not-aligned", params))
    if not dkim_aligned:
        notes.append(("dmarc-dkim-not-aligned", params))
    return findings.ok(found=found, notes=notes)
