"""Sender domains' DKIM keys through the Python API and ``manage.py newsletter_dkim``: generate, rotate, show; the
record published verifies what the domain's campaigns sign; bad input raises and changes nothing."""

import base64
import io

import pytest
from django.core.management import CommandError, call_command

from wagtail_newsletter import api
from wagtail_newsletter.send.dkim_signing import DkimSigner, public_key_der
from wagtail_newsletter.send.models import SenderDomain

pytestmark = pytest.mark.django_db


def verifies(key, private_key):
    """A message signed with ``private_key`` verifies against the record ``key`` tells DNS to publish."""
    import dkim

    signer = DkimSigner(key.domain, key.selector, private_key)
    headers = [b"From: news@" + key.domain.encode() + b"\r\n", b"To: ada@example.net\r\n", b"Subject: Hi\r\n"]
    body = b"Hello\r\n"
    message = signer.sign(headers, body) + b"".join(headers) + b"\r\n" + body
    published = {f"{key.dns_name}.".encode(): key.dns_value.encode()}
    return dkim.verify(message, dnsfunc=lambda name, timeout=5: published.get(name))


def test_generate_show_rotate():
    key = api.generate_dkim_key("News.Example.ORG.")
    row = SenderDomain.objects.get()
    assert (row.domain, row.selector, key.selector, key.bits) == ("news.example.org", "newsletter", "newsletter", 2048)
    assert key.dns_name == "newsletter._domainkey.news.example.org"
    assert key.dns_value.endswith(base64.b64encode(public_key_der(row.private_key)).decode())
    assert "".join(key.txt_strings) == key.dns_value and all(len(part) <= 255 for part in key.txt_strings)
    assert verifies(key, row.private_key)
    assert api.dkim_key("news.example.org") == key

    # Rotation is gapless (tests/test_dkim_rotation.py): the next key waits beside the current one, which signs.
    rotated = api.rotate_dkim_key("news.example.org")
    row.refresh_from_db()
    assert rotated.selector.startswith("nl-") and rotated.selector == row.next_selector != row.selector
    assert rotated.fingerprint != key.fingerprint and verifies(rotated, row.next_private_key)
    assert not verifies(key, row.next_private_key)  # the old record does not verify the new key's signatures
    assert api.dkim_key("news.example.org") == key and verifies(key, row.private_key)


def test_generate_gives_a_keyless_domain_its_key():
    SenderDomain.objects.create(domain="example.net", selector="old")
    key = api.generate_dkim_key("example.net", selector="s2026")
    assert key.selector == "s2026" and SenderDomain.objects.get().private_key


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: api.generate_dkim_key("example.org"), api.InvalidState),  # has a key already
        (lambda: api.generate_dkim_key("not a domain"), api.InvalidInput),
        (lambda: api.generate_dkim_key("https://example.com"), api.InvalidInput),
        (lambda: api.generate_dkim_key("example.com", selector="bad selector"), api.InvalidInput),
        (lambda: api.generate_dkim_key("example.com\r\nX: y"), api.InvalidInput),
        (lambda: api.rotate_dkim_key("unknown.example"), api.NotFound),
        (lambda: api.rotate_dkim_key("example.org", selector="-bad-"), api.InvalidInput),
        (lambda: api.dkim_key("unknown.example"), api.NotFound),
        (lambda: api.dkim_key("keyless.example"), api.InvalidState),
    ],
    ids=["twice", "spaces", "url", "selector", "injection", "rotate-unknown", "rotate-selector", "show-unknown",
         "show-keyless"],
)  # fmt: skip
def test_bad_input_changes_nothing(call, error):
    api.generate_dkim_key("example.org")
    SenderDomain.objects.create(domain="keyless.example")
    before = sorted(SenderDomain.objects.values_list("domain", "selector", "private_key"))
    with pytest.raises(error):
        call()
    assert sorted(SenderDomain.objects.values_list("domain", "selector", "private_key")) == before


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("newsletter_dkim", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command():
    out, err = run("generate", "example.org", "--selector", "mail")
    key = api.dkim_key("example.org")
    assert out.strip() == f"{key.dns_name} TXT {key.dns_value}"
    assert "generated: 2048-bit RSA key" in err and key.fingerprint in err
    out, _err = run("show", "example.org", "--zone")
    assert out.startswith('mail._domainkey.example.org. 3600 IN TXT ( "v=DKIM1; k=rsa; p=')
    assert out.strip().endswith('" )')
    out, err = run("rotate", "example.org", "--selector", "mail2")
    assert out.startswith("mail2._domainkey.example.org TXT v=DKIM1;") and "rotation started" in err
    with pytest.raises(CommandError, match="has a DKIM key already"):
        run("generate", "example.org")
    with pytest.raises(CommandError, match="No sender domain"):
        run("show", "nowhere.example")
    assert api.dkim_key("example.org").selector == "mail"  # until the rotation is completed
