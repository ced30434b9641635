"""Zones of a real DNS server (dnsmasq) for the sender-domain checks: good, missing, wrong, too many lookups,
timing out and refused; the keys they publish; settings pointing the checks at the server.

A test module imports the fixtures it uses (``from .sender_domain_fixtures import dns_settings_fixture``)."""

import pytest

from wagtail_newsletter.send.dkim_signing import dns_name, dns_record_chunks, generate_private_key
from wagtail_newsletter.send.models import SenderDomain

from .dns_server import DnsServer, address, mx, null_mx, txt

RELAY = "include:_spf.relay.test"  # what SPF_INCLUDE asks every SPF record to allow
SELECTOR = "newsletter"
CHAIN = 12  # includes in a row under toomany.test: 13 lookups with the first, over the limit of 10


@pytest.fixture(scope="session", name="good_key")
def good_key_fixture():
    return generate_private_key()


@pytest.fixture(scope="session", name="other_key")
def other_key_fixture():
    return generate_private_key()


def good_zone(domain, key):
    return [
        txt(domain, f"v=spf1 {RELAY} -all"),
        txt(dns_name(SELECTOR, domain), *dns_record_chunks(key)),  # two strings: joined by the check
        txt(f"_dmarc.{domain}", "v=DMARC1; p=quarantine; rua=mailto:dmarc@good.test"),
        mx(domain, f"mx.{domain}"),
    ]


def zones(good_key, other_key):
    chain = [txt("toomany.test", "v=spf1 include:l1.toomany.test -all")]
    chain += [txt(f"l{i}.toomany.test", f"v=spf1 include:l{i + 1}.toomany.test ~all") for i in range(1, CHAIN)]
    chain.append(txt(f"l{CHAIN}.toomany.test", f"v=spf1 {RELAY} ~all"))
    return [
        txt("_spf.relay.test", "v=spf1 ip4:192.0.2.0/24 ~all"),
        address("mx.good.test"),
        *good_zone("good.test", good_key),
        # The Return-Path domain of RETURN_PATH_DOMAIN tests, and a From subdomain using good.test's DMARC.
        txt("bounces.good.test", f"v=spf1 {RELAY} -all"),
        mx("bounces.good.test", "mx.good.test"),
        txt("news.good.test", f"v=spf1 {RELAY} -all"),
        txt(dns_name(SELECTOR, "news.good.test"), *dns_record_chunks(good_key)),
        mx("news.good.test", "mx.good.test"),
        # wrong.test: two SPF records (one +all), another key, a DMARC record without a policy, a null MX.
        txt("wrong.test", "v=spf1 +all"),
        txt("wrong.test", f"v=spf1 {RELAY} -all"),
        txt(dns_name(SELECTOR, "wrong.test"), *dns_record_chunks(other_key)),
        txt("_dmarc.wrong.test", "v=DMARC1; p=bogus"),
        null_mx("wrong.test"),
        txt("allowall.test", f"v=spf1 {RELAY} +all"),
        txt("nohost.test", "v=spf1 ip4:198.51.100.7 -all"),
        *chain,
    ]


@pytest.fixture(scope="session", name="dns_zones")
def dns_zones_fixture(good_key, other_key):
    """The DnsServer, serving every zone; timeout.test times out, refused.test is REFUSED."""
    with DnsServer(zones(good_key, other_key), timeout_zones=["timeout.test"], refused_zones=["refused.test"]) as s:
        yield s


@pytest.fixture(name="dns_settings")
def dns_settings_fixture(settings, dns_zones):
    """Checks go to the test's DNS server, wait 1 s at most, and ask SPF records to allow the relay."""
    settings.WAGTAIL_NEWSLETTER_DNS_RESOLVERS = [dns_zones.address]
    settings.WAGTAIL_NEWSLETTER_DNS_TIMEOUT = 1
    settings.WAGTAIL_NEWSLETTER_SPF_INCLUDE = [RELAY]
    return settings


def sender_domain(domain, key):
    return SenderDomain.objects.create(domain=domain, selector=SELECTOR, private_key=key)
