"""DKIM signatures made with OpenSSL, verified by dkimpy and by an independent verifier (Perl's Mail::DKIM) that
fetches the key from a real DNS server (dnsmasq on a loopback port)."""

import shutil
import subprocess
import time

import dkim
import pytest
from cryptography.hazmat.primitives import serialization

from tests.dns_server import DnsServer, txt
from wagtail_newsletter.send.dkim_signing import (
    DkimSigner,
    canonical_body,
    dns_name,
    dns_record,
    dns_record_chunks,
    generate_private_key,
    sender_domain_signer,
)
from wagtail_newsletter.send.mime import MessageSkeleton
from wagtail_newsletter.send.models import SenderDomain

DOMAIN, SELECTOR = "example.org", "s1"
PERL_VERIFIER = r"""
use strict; use Mail::DKIM::Verifier; use Mail::DKIM::DNS; use Net::DNS::Resolver;
Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(nameservers => ['127.0.0.1'], port => $ARGV[0], recurse => 1));
my $v = Mail::DKIM::Verifier->new();
binmode STDIN;
while (<STDIN>) { s/\r?\n$/\r\n/; $v->PRINT($_); }
$v->CLOSE;
print $v->result, "\n";
"""


@pytest.fixture(scope="module")
def key():
    return generate_private_key()


@pytest.fixture(scope="module")
def signer(key):
    return DkimSigner(DOMAIN, SELECTOR, key)


def message(signer, **kwargs):
    skeleton = MessageSkeleton(
        from_name="Café News",
        from_email=f"news@{DOMAIN}",
        reply_to=f"hello@{DOMAIN}",
        feedback_id="7:3:newsletter:wagtail-newsletter",
        signer=signer,
    )
    options = {
        "to_email": "reader@example.com",
        "subject": "Spring news: gardens, workshops and the Saturday market, all on one page for you",
        "html": "<p>Hello Zoë</p>\n<p>.</p>\n" + "<p>a = b</p>\n" * 400,
        "text": "Hello Zoë\n.\n" + "a = b\n" * 400,
        "message_id": f"<1.abc@{DOMAIN}>",
        "list_unsubscribe_url": "https://news.example.org/newsletter/unsubscribe/" + "x" * 60 + "/",
        "list_unsubscribe_mailto": f"mailto:unsubscribe+1.abc@{DOMAIN}?subject=unsubscribe",
    }
    options.update(kwargs)
    return skeleton.render(**options)


def tag(raw, name):
    header = raw.split(b"\r\n\r\n")[0].split(b"\r\nFrom:")[0].decode().replace("\r\n", "")
    return dict(part.strip().split("=", 1) for part in header.removeprefix("DKIM-Signature:").split(";"))[name]


def altered(raw):
    """Changes a verifier must notice."""
    yield "body", raw.replace(b"Hello Zo=C3=AB", b"Hello Zo=C3=AC")
    yield "one-click header", raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Click")
    yield "added From", raw.replace(b"\r\nFrom: ", b"\r\nFrom: attacker@evil.example\r\nFrom: ", 1)
    yield "subject", raw.replace(b"Spring news", b"Autumn news")


# --- keys and records ------------------------------------------------------------------------------------------


def test_generated_key_is_rsa_2048_pem(key):
    private = serialization.load_pem_private_key(key.encode(), password=None)
    assert private.key_size == 2048
    assert key.startswith("-----BEGIN PRIVATE KEY-----")
    assert generate_private_key() != key


def test_dns_record_and_its_chunks(key):
    record = dns_record(key)
    assert record.startswith("v=DKIM1; k=rsa; p=MIIB")
    public = serialization.load_der_public_key(__import__("base64").b64decode(record.split("p=")[1]))
    assert public.key_size == 2048
    chunks = dns_record_chunks(key)
    assert len(chunks) == 2 and all(len(chunk) <= 255 for chunk in chunks)
    assert "".join(chunks) == record == "".join(dns_record_chunks(record))
    assert dns_name(SELECTOR, DOMAIN) == "s1._domainkey.example.org"


def test_bad_keys_and_names_are_refused(key):
    for bad in ("", "not a key", key.replace("A", "B", 5)):
        with pytest.raises(ValueError):
            DkimSigner(DOMAIN, SELECTOR, bad)
    with pytest.raises(ValueError):
        DkimSigner("example.org\r\nBcc: x", SELECTOR, key)
    with pytest.raises(ValueError):
        DkimSigner(DOMAIN, "bad selector", key)


def test_simple_body_canonicalisation():
    assert canonical_body(b"") == b"\r\n"
    assert canonical_body(b"a\r\n\r\n\r\n") == b"a\r\n"
    assert canonical_body(b"a") == b"a\r\n"
    assert canonical_body(b"a\r\n") == b"a\r\n"
    assert canonical_body(b"\r\n") == b"\r\n"
    assert canonical_body(b"a\r\n\n\r\n") == b"a\r\n"


# --- dkimpy ----------------------------------------------------------------------------------------------------


def test_signature_tags_name_every_header_and_oversign_from(signer):
    raw = message(signer)
    assert raw.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.org; s=s1;")
    signed = tag(raw, "h").replace(" ", "").split(":")
    assert signed.count("from") == 2
    for name in ("to", "subject", "date", "message-id", "reply-to", "mime-version", "content-type", "list-id"):
        assert name in signed
    for name in ("list-unsubscribe", "list-unsubscribe-post", "feedback-id"):
        assert name in signed
    assert abs(int(tag(raw, "t")) - time.time()) < 60
    signature = raw.split(b"\r\nFrom: ")[0]
    assert all(len(line) <= 78 for line in signature.split(b"\r\n"))


def test_dkimpy_verifies(signer, key):
    raw = message(signer)
    record = dns_record(key).encode()
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
    # Relaxed header canonicalisation: a relay refolding a header keeps the signature valid.
    refolded = raw.replace(b"Subject: Spring news: gardens,", b"Subject: Spring news:\r\n\t  gardens,")
    assert refolded != raw and dkim.verify(refolded, dnsfunc=lambda name, timeout=5: record)


def test_one_signer_signs_each_recipients_fields(key):
    """The signer remembers the fields messages share: past its limit, and for fields that differ per recipient,
    every message still verifies."""
    signer = DkimSigner(DOMAIN, SELECTOR, key)
    record = dns_record(key).encode()
    for number in range(300):
        raw = message(signer, to_email=f"reader{number}@example.com", message_id=f"<{number}.abc@{DOMAIN}>")
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record), number


def test_dkimpy_rejects_altered_messages(signer, key):
    raw = message(signer)
    record = dns_record(key).encode()
    for what, changed in altered(raw):
        assert changed != raw, what
        assert not dkim.verify(changed, dnsfunc=lambda name, timeout=5: record), what


def test_signing_needs_a_from_header(signer):
    with pytest.raises(ValueError):
        signer.sign([b"To: a@example.org\r\n"], b"body\r\n")


# --- a real DNS server and Mail::DKIM -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dns_server(key):
    """dnsmasq on a free loopback port answering the DKIM TXT record (two strings), nothing else."""
    with DnsServer([txt(dns_name(SELECTOR, DOMAIN), *dns_record_chunks(key))]) as server:
        yield server.resolver()


def perl_verify(raw, port):
    if not shutil.which("perl"):
        pytest.skip("perl is not installed")
    probe = subprocess.run(["perl", "-MMail::DKIM::Verifier", "-MNet::DNS::Resolver", "-e", "1"], capture_output=True)
    if probe.returncode:
        pytest.skip(f"Mail::DKIM is not installed (Debian package libmail-dkim-perl): {probe.stderr.decode()[:200]}")
    result = subprocess.run(["perl", "-e", PERL_VERIFIER, str(port)], input=raw, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode().strip()


def test_record_is_served_as_two_strings(dns_server, key):
    answer = dns_server.resolve(dns_name(SELECTOR, DOMAIN), "TXT")
    assert [b"".join(rdata.strings).decode() for rdata in answer] == [dns_record(key)]


def test_dkimpy_verifies_through_real_dns(dns_server, signer):
    def dnsfunc(name, timeout=5):
        answer = dns_server.resolve(name.decode().rstrip("."), "TXT")
        return b"".join(b"".join(rdata.strings) for rdata in answer)

    raw = message(signer)
    assert dkim.verify(raw, dnsfunc=dnsfunc)
    assert not dkim.verify(raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Nope"), dnsfunc=dnsfunc)


def test_mail_dkim_verifies_through_real_dns(dns_server, signer):
    assert perl_verify(message(signer), dns_server.port) == "pass"
    # Non-ASCII subject and names, no mailto, a long personalised body: still a pass.
    raw = message(signer, subject="Nouvelles de printemps à Genève — " * 3, list_unsubscribe_mailto=None, to_name="Zoë")
    assert perl_verify(raw, dns_server.port) == "pass"


def test_mail_dkim_rejects_altered_messages(dns_server, signer):
    raw = message(signer)
    for what, changed in altered(raw):
        assert perl_verify(changed, dns_server.port) == "fail", what


def test_unknown_selector_is_not_a_pass(dns_server, key):
    raw = message(DkimSigner(DOMAIN, "other", key))
    assert perl_verify(raw, dns_server.port) != "pass"


# --- the SenderDomain lookup -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_sender_domain_signer_exact_then_parent_domain(key):
    SenderDomain.objects.create(domain="example.org", selector="s1", private_key=key)
    SenderDomain.objects.create(domain="mail.example.org", selector="s2", private_key=key)
    SenderDomain.objects.create(domain="nokey.example.net", selector="s3", private_key="")
    exact = sender_domain_signer("news@MAIL.example.org")
    assert (exact.domain, exact.selector) == ("mail.example.org", "s2")
    parent = sender_domain_signer("news@news.letters.example.org")
    assert (parent.domain, parent.selector) == ("example.org", "s1")
    assert sender_domain_signer("news@example.com") is None
    assert sender_domain_signer("news@nokey.example.net") is None
    assert sender_domain_signer("not an address") is None
    raw = message(parent)
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: dns_record(key).encode())
