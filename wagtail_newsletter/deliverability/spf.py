"""SPF (RFC 7208) of a domain as receivers evaluate it: exactly one ``v=spf1`` record, the sending host allowed
(the SPF_INCLUDE setting, found in the record or in anything it includes), at most 10 terms that query DNS in the
whole tree (§4.6.4: include, a, mx, ptr, exists, redirect, counted recursively), ending in ``~all`` or ``-all``.

pyspf evaluates a record for one IP address but asks DNS through dnspython's process-wide default resolver, which
cannot be pointed at the DNS_RESOLVERS setting without changing it for the whole process; this walks the tree
with ``dns_lookup.Lookups`` instead.
"""

import ipaddress
import re

from . import findings
from .dns_lookup import Lookups

LOOKUP_LIMIT = 10
_COUNTED = frozenset({"include", "a", "mx", "ptr", "exists"})
_WALK_LIMIT = 40  # past the limit the tree is only walked this far, to report how many terms it has
_TERM = re.compile(r"^([+\-~?]?)([a-z0-9_.-]+?)(?:([:=/])(.*))?$", re.I)
GOOD_ENDINGS = ("-", "~")


def spf_records(texts):
    """The TXT texts that are SPF records (version exactly ``v=spf1``, then a space or nothing)."""
    return [text for text in texts if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")]


def parse_term(term):
    """``"~include:_spf.x"`` -> ("~", "include", "_spf.x"); ``"a/24"`` -> ("+", "a", "/24"); a modifier such as
    ``"redirect=x"`` -> ("", "redirect", "x")."""
    match = _TERM.match(term)
    if not match:
        return "+", term.lower(), ""
    qualifier, name, separator, value = match.groups()
    name = name.lower()
    if separator == "=":
        return "", name, value or ""
    return qualifier or "+", name, ("/" + value if separator == "/" else value or "")


def terms(record):
    return [parse_term(term) for term in record.split()[1:]]


def _has_all(parsed):
    return any(name == "all" for _q, name, _v in parsed)


class SpfTree:
    """A domain's SPF record and every record it includes or redirects to, with the DNS-querying terms counted."""

    def __init__(self, lookups, domain, record):
        self.lookups = lookups
        self.records = [(domain, record)]
        self.count = 0
        self.broken = []  # includes/redirects whose target has no single SPF record (a permerror)
        self._walk(record, {domain.lower()})

    def _walk(self, record, seen):
        parsed = terms(record)
        for _qualifier, name, value in parsed:
            if name == "redirect" and _has_all(parsed):
                continue  # ignored when the record has an "all" (RFC 7208 §6.1)
            if name not in _COUNTED and name != "redirect":
                continue
            self.count += 1
            if self.count > _WALK_LIMIT or name not in ("include", "redirect") or "%" in value:
                continue  # macros name hosts known only at evaluation time
            target = value.lower().rstrip(".")
            if target in seen:
                self.broken.append(target)  # a loop: receivers give up (permerror)
                continue
            found = spf_records(self.lookups.txt(target))
            if len(found) != 1:
                self.broken.append(target)
                continue
            self.records.append((target, found[0]))
            self._walk(found[0], seen | {target})

    def ending(self):
        """The qualifier of the ``all`` that ends the evaluation ("-", "~", "?", "+"), following redirects; None."""
        by_domain = dict(self.records)
        domain, record = self.records[0]
        for _hop in range(LOOKUP_LIMIT + 1):
            parsed = terms(record)
            for qualifier, name, _value in parsed:
                if name == "all":
                    return qualifier
            redirect = next((value for _q, name, value in parsed if name == "redirect"), None)
            if not redirect or redirect.lower().rstrip(".") not in by_domain:
                return None
            record = by_domain[redirect.lower().rstrip(".")]
        return None

    def allows(self, mechanism):
        return allows(self.records, mechanism)


def allows(records, mechanism):
    """Whether ``mechanism`` (e.g. "include:_spf.relay.example", "ip4:192.0.2.10") passes in one of ``records``
    [(domain, record)]: named as such, or, for an address, inside a network they name."""
    _qualifier, want_name, want_value = parse_term(mechanism)
    want_value = want_value.lower().rstrip(".")
    network = _network(want_value) if want_name in ("ip4", "ip6") else None
    for _domain, record in records:
        for qualifier, name, value in terms(record):
            if qualifier != "+" or name != want_name:
                continue
            if value.lower().rstrip(".") == want_value:
                return True
            have = _network(value) if network is not None else None
            if have is not None and network.version == have.version and network.subnet_of(have):
                return True
    return False


def _network(value):
    try:
        return ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None


def check_spf(lookups: Lookups, domain, required=()):
    """A Finding for the SPF of ``domain``; ``required``: the mechanisms that must pass (SPF_INCLUDE).
    Raises DnsUnavailable when DNS could not answer."""
    found = spf_records(lookups.txt(domain))
    if not found:
        return findings.problem(findings.MISSING, "spf-missing")
    if len(found) > 1:
        return findings.problem(findings.WRONG, "spf-several", found=found, count=len(found))
    tree = SpfTree(lookups, domain, found[0])
    problems = []
    if tree.count > LOOKUP_LIMIT:
        problems.append(("spf-too-many-lookups", {"count": tree.count, "limit": LOOKUP_LIMIT}))
    problems += [("spf-include-broken", {"domain": target}) for target in dict.fromkeys(tree.broken)]
    ending = tree.ending()
    if ending is None:
        problems.append(("spf-no-all", {}))
    elif ending not in GOOD_ENDINGS:
        problems.append(("spf-weak-all", {"term": f"{ending}all"}))
    problems += [("spf-host-missing", {"mechanism": mechanism}) for mechanism in required if not tree.allows(mechanism)]
    if problems:
        return findings.Finding(findings.WRONG, problems=problems, found=found)
    return findings.ok(found=found)


def suggested_record(found, required):
    """The one SPF record to publish instead of ``found`` (the records there now): their terms once each, the
    missing ``required`` mechanisms added, ending in ``~all`` unless it ended in ``-all``; None when there is
    nothing to suggest (no record and no SPF_INCLUDE setting)."""
    if not found and not required:
        return None
    kept, ending, saw_all = [], "~all", False
    for record in found:
        for term in record.split()[1:]:
            qualifier, name, _value = parse_term(term)
            if name == "all":
                saw_all = True
                ending = "-all" if qualifier == "-" else ending
            elif term.lower() not in (existing.lower() for existing in kept):
                kept.append(term)
    redirects = [term for term in kept if parse_term(term)[1] == "redirect"]
    kept = [term for term in kept if term not in redirects]
    kept += [mechanism for mechanism in required if not allows([("", "v=spf1 " + " ".join(kept))], mechanism)]
    tail = redirects[:1] if redirects and not saw_all else [ending]
    return " ".join(["v=spf1", *kept, *tail])
