"""Sender-domain checks against a real DNS server (dnsmasq): good, missing, wrong, too-many-lookups, timing-out and
refused zones; a timeout or SERVFAIL/REFUSED is "unknown", never "missing"."""

import time

import pytest

from wagtail_newsletter.deliverability import findings
from wagtail_newsletter.deliverability.dmarc import organisational_domain
from wagtail_newsletter.deliverability.dns_lookup import nameserver
from wagtail_newsletter.deliverability.domain_checks import check_sender_domain, run_checks
from wagtail_newsletter.deliverability.spf import suggested_record
from wagtail_newsletter.send.dkim_signing import dns_record
from wagtail_newsletter.send.sender_domains import UNVERIFIED, VERIFIED, sender_domain_state

from .dns_server import DnsServer
from .sender_domain_fixtures import (  # noqa: F401 (fixtures)
    RELAY,
    dns_settings_fixture,
    dns_zones_fixture,
    good_key_fixture,
    other_key_fixture,
    sender_domain,
)

pytestmark = pytest.mark.django_db


def statuses(results):
    return {name: finding.status for name, finding in results.items()}


def problem_codes(finding):
    return [code for code, _params in finding.problems]


def test_good_domain_passes_every_check_and_becomes_verified(dns_settings, good_key):
    row = check_sender_domain(sender_domain("good.test", good_key).pk)
    assert {name: entry["status"] for name, entry in row.dns_checks.items()} == {
        "spf": "ok", "dkim": "ok", "dmarc": "ok", "bounce_mx": "ok"
    }  # fmt: skip
    assert row.dns_checks["dkim"]["found"] == [dns_record(good_key)]  # its two TXT strings joined
    assert row.dns_checks["dmarc"]["notes"][0] == ["dmarc-policy", {
        "policy": "quarantine", "where": "good.test", "return_path_domain": "good.test"
    }]  # fmt: skip
    assert row.dns_checked_at and row.dns_verified_at and row.dns_failing_since is None
    assert sender_domain_state("news@good.test").state == VERIFIED
    assert sender_domain_state("news@letters.good.test").state == VERIFIED  # a row covers its subdomains


def test_missing_zone_is_missing_and_never_verified(dns_settings, good_key):
    row = check_sender_domain(sender_domain("missing.test", good_key).pk)
    assert {entry["status"] for entry in row.dns_checks.values()} == {"missing"}
    assert row.dns_verified_at is None and row.dns_failing_since is not None
    assert sender_domain_state("news@missing.test").state == UNVERIFIED


def test_wrong_zone_two_spf_records_another_key_no_policy_and_null_mx(dns_settings, good_key):
    results = run_checks(sender_domain("wrong.test", good_key))
    assert set(statuses(results).values()) == {findings.WRONG}
    assert problem_codes(results["spf"]) == ["spf-several"]
    assert sorted(results["spf"].found) == ["v=spf1 +all", f"v=spf1 {RELAY} -all"]
    assert problem_codes(results["dkim"]) == ["dkim-other-key"]
    assert problem_codes(results["dmarc"]) == ["dmarc-no-policy"]
    assert problem_codes(results["bounce_mx"]) == ["mx-null"] and results["bounce_mx"].found == ["0 ."]


def test_spf_that_allows_everyone_is_wrong(dns_settings, good_key):
    results = run_checks(sender_domain("allowall.test", good_key))
    assert results["spf"].problems == [("spf-weak-all", {"term": "+all"})]


def test_spf_without_the_sending_host_is_wrong_and_the_suggestion_adds_it(dns_settings, good_key):
    results = run_checks(sender_domain("nohost.test", good_key))
    assert results["spf"].problems == [("spf-host-missing", {"mechanism": RELAY})]
    assert suggested_record(results["spf"].found, [RELAY]) == f"v=spf1 ip4:198.51.100.7 {RELAY} -all"


def test_spf_include_chain_over_ten_lookups_is_wrong(dns_settings, good_key):
    results = run_checks(sender_domain("toomany.test", good_key))
    assert ("spf-too-many-lookups", {"count": 13, "limit": 10}) in results["spf"].problems
    assert "spf-host-missing" not in problem_codes(results["spf"])  # the relay is found at the chain's end


def test_spf_include_counted_through_nested_records(dns_settings, good_key):
    results = run_checks(sender_domain("good.test", good_key))
    assert results["spf"].status == findings.OK  # include:_spf.relay.test: 1 lookup, the relay allowed


def test_timeout_is_unknown_not_missing_and_changes_nothing(dns_settings, good_key):
    row = sender_domain("timeout.test", good_key)
    started = time.monotonic()
    row = check_sender_domain(row.pk)
    assert time.monotonic() - started < 20  # each question gives up after DNS_TIMEOUT (1 s)
    assert {entry["status"] for entry in row.dns_checks.values()} == {"unknown"}
    assert row.dns_checks["spf"]["problems"][0][0] == "dns-unavailable"
    assert row.dns_verified_at is None and row.dns_failing_since is None  # neither verified nor failing


def test_refused_answer_is_unknown_not_missing(dns_settings, good_key):
    results = run_checks(sender_domain("refused.test", good_key))
    assert set(statuses(results).values()) == {findings.UNKNOWN}


def test_resolver_that_never_answers_makes_every_check_unknown(dns_settings, dns_zones, good_key):
    dns_settings.WAGTAIL_NEWSLETTER_DNS_RESOLVERS = [f"127.0.0.1:{dns_zones.silent.getsockname()[1]}"]
    results = run_checks(sender_domain("good.test", good_key))
    assert set(statuses(results).values()) == {findings.UNKNOWN}


def test_verified_domain_stays_verified_while_dns_does_not_answer(dns_settings, dns_zones, good_key):
    row = check_sender_domain(sender_domain("good.test", good_key).pk)
    verified_at = row.dns_verified_at
    dns_settings.WAGTAIL_NEWSLETTER_DNS_RESOLVERS = [f"127.0.0.1:{dns_zones.silent.getsockname()[1]}"]
    row = check_sender_domain(row.pk)
    assert row.dns_checks["dkim"]["status"] == "unknown" and row.dns_checks["dkim"]["last_known"] == "ok"
    assert (row.dns_verified_at, row.dns_failing_since) == (verified_at, None)
    assert sender_domain_state("news@good.test").state == VERIFIED


def test_dmarc_of_a_subdomain_is_found_at_the_organisational_domain(dns_settings, good_key):
    results = run_checks(sender_domain("news.good.test", good_key))
    assert statuses(results) == {"spf": "ok", "dkim": "ok", "dmarc": "ok", "bounce_mx": "ok"}
    assert results["dmarc"].notes[0][1]["where"] == "good.test"


def test_return_path_domain_gets_its_own_spf_and_mx_checks(dns_settings, good_key):
    dns_settings.WAGTAIL_NEWSLETTER_RETURN_PATH_DOMAIN = "bounces.good.test"
    results = run_checks(sender_domain("good.test", good_key))
    assert statuses(results) == {"spf": "ok", "dkim": "ok", "dmarc": "ok", "bounce_mx": "ok", "return_path_spf": "ok"}
    assert [code for code, _ in results["dmarc"].notes] == ["dmarc-policy"]  # relaxed: same organisational domain


def test_return_path_on_another_domain_is_missing_there_and_not_aligned(dns_settings, good_key):
    dns_settings.WAGTAIL_NEWSLETTER_RETURN_PATH_DOMAIN = "bounces.missing.test"
    results = run_checks(sender_domain("good.test", good_key))
    assert results["return_path_spf"].status == results["bounce_mx"].status == findings.MISSING
    assert results["dmarc"].status == findings.OK  # DKIM is aligned: DMARC passes
    assert "dmarc-return-path-not-aligned" in [code for code, _ in results["dmarc"].notes]


def test_records_that_disappear_mark_the_domain_failing_from_that_check_on(dns_settings, good_key):
    row = check_sender_domain(sender_domain("good.test", good_key).pk)
    with DnsServer([]) as empty:  # the same name, now served by a server that has none of its records
        dns_settings.WAGTAIL_NEWSLETTER_DNS_RESOLVERS = [empty.address]
        row = check_sender_domain(row.pk)
        failing_since = row.dns_failing_since
        assert failing_since is not None and row.dns_checks["dkim"]["status"] == "missing"
        assert row.dns_checks["dkim"]["since"] == failing_since.isoformat()
        row = check_sender_domain(row.pk)
        assert row.dns_failing_since == failing_since  # the first failure is kept


def test_organisational_domain_uses_the_public_suffix_list():
    assert organisational_domain("news.example.co.uk") == "example.co.uk"
    assert organisational_domain("a.b.good.test") == "good.test"


@pytest.mark.parametrize(
    "found, required, expected",
    [
        ([], [RELAY], f"v=spf1 {RELAY} ~all"),
        ([], [], None),
        (["v=spf1 mx -all"], [RELAY], f"v=spf1 mx {RELAY} -all"),
        (["v=spf1 mx +all", "v=spf1 a ~all"], [RELAY], f"v=spf1 mx a {RELAY} ~all"),
        (["v=spf1 ip4:192.0.2.0/24 -all"], ["ip4:192.0.2.10"], "v=spf1 ip4:192.0.2.0/24 -all"),
        (["v=spf1 redirect=_spf.example.test"], [RELAY], f"v=spf1 {RELAY} redirect=_spf.example.test"),
    ],
)
def test_suggested_spf_record(found, required, expected):
    assert suggested_record(found, required) == expected


@pytest.mark.parametrize(
    "entry, address, port",
    [("192.0.2.53", "192.0.2.53", 53), ("127.0.0.1:5353", "127.0.0.1", 5353), ("2001:db8::53", "2001:db8::53", 53),
     ("[2001:db8::53]:5353", "2001:db8::53", 5353)],
)  # fmt: skip
def test_resolver_setting_names_address_and_port(entry, address, port):
    server = nameserver(entry)
    assert (server.address, server.port) == (address, port)


def test_resolver_setting_refuses_host_names():
    with pytest.raises(ValueError):
        nameserver("dns.example.org:53")

