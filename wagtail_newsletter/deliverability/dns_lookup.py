"""The DNS questions of the sender-domain checks, asked through the resolvers the settings name.

An answer says either what is published (possibly nothing: NXDOMAIN and "no record of that type" alike) or that
the question could not be answered now — a timeout, SERVFAIL, REFUSED, no reachable resolver — which raises
``DnsUnavailable``: a check then says "unknown, try again", never "missing".
"""

import ipaddress

import dns.exception
import dns.nameserver
import dns.resolver

from ..conf import newsletter_settings


class DnsUnavailable(Exception):
    """A DNS question that could not be answered now (the records may well exist)."""


def nameserver(entry):
    """ "192.0.2.53", "192.0.2.53:5353", "2001:db8::53" or "[2001:db8::53]:5353" -> a dnspython Do53Nameserver."""
    entry = str(entry).strip()
    host, port = entry, 53
    if entry.startswith("["):
        host, _bracket, rest = entry[1:].partition("]")
        port = int(rest[1:]) if rest.startswith(":") else 53
    elif entry.count(":") == 1:
        host, port = entry.split(":")
        port = int(port)
    ipaddress.ip_address(host)  # ValueError for a host name: resolvers are given by address
    return dns.nameserver.Do53Nameserver(host, port)


def make_resolver():
    """A resolver on DNS_RESOLVERS (the system's when empty), answering each question within DNS_TIMEOUT seconds
    and caching nothing, so that "Check now" sees what is published now."""
    servers = newsletter_settings.DNS_RESOLVERS
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [nameserver(entry) for entry in servers]
    else:
        resolver = dns.resolver.Resolver()
    timeout = float(newsletter_settings.DNS_TIMEOUT)
    resolver.lifetime = timeout
    resolver.timeout = min(1.0, timeout)  # one lost UDP packet is retried within the lifetime
    resolver.cache = None
    return resolver


class Lookups:
    """The DNS questions of one check run, each asked once (an SPF tree names the same hosts several times)."""

    def __init__(self, resolver=None):
        self.resolver = resolver or make_resolver()
        self._answers = {}

    def _ask(self, name, rdtype):
        key = (name.lower().rstrip("."), rdtype)
        if key not in self._answers:
            self._answers[key] = self._resolve(key[0], rdtype)
        answer = self._answers[key]
        if isinstance(answer, DnsUnavailable):
            raise answer
        return answer

    def _resolve(self, name, rdtype):
        try:
            return list(self.resolver.resolve(name, rdtype, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.DNSException, OSError) as error:
            # LifetimeTimeout, NoNameservers (SERVFAIL, REFUSED), a malformed answer, a refused connection.
            return DnsUnavailable(f"{name} {rdtype}: {error}")

    def txt(self, name):
        """The TXT records at ``name``, each one's strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2)."""
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in self._ask(name, "TXT")]

    def mx(self, name):
        """[(preference, host)] of ``name``; a null MX (RFC 7505) is (0, ".")."""
        return [(rdata.preference, rdata.exchange.to_text()) for rdata in self._ask(name, "MX")]

    def has_address(self, name):
        """Whether ``name`` has an A or AAAA record (a mail domain without MX receives at its address)."""
        return bool(self._ask(name, "A")) or bool(self._ask(name, "AAAA"))
