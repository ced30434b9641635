"""Sender domains in the admin: a key generated on create, the DNS record shown (never the private key), invalid
domains refused with nothing written, and a confirmed POST that replaces the key."""

import dkim
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from wagtail_newsletter.send.dkim_signing import dns_record, generate_private_key, sender_domain_signer
from wagtail_newsletter.send.mime import MessageSkeleton
from wagtail_newsletter.send.models import SenderDomain

pytestmark = pytest.mark.django_db

NAMESPACE = "newsletter_sender_domains"


def url(name, *args):
    return reverse(f"{NAMESPACE}:{name}", args=args)


def private_key_lines(key):
    """The base64 lines of a PEM key: none of them may appear on a page."""
    return [line for line in key.splitlines() if line and not line.startswith("-----")]


def test_create_generates_a_key_and_shows_the_record(admin_client):
    response = admin_client.post(url("add"), {"domain": "  News.Example.ORG. ", "selector": "newsletter"})
    assert response.status_code == 302
    domain = SenderDomain.objects.get()
    assert domain.domain == "news.example.org"
    assert domain.private_key.startswith("-----BEGIN PRIVATE KEY-----")

    html = admin_client.get(url("edit", domain.pk)).content.decode()
    assert "newsletter._domainkey.news.example.org" in html
    assert dns_record(domain.private_key) in html
    assert "RSA, 2048 bits" in html
    assert not any(line in html for line in private_key_lines(domain.private_key))
    assert url("regenerate_key", domain.pk) in html

    listing = admin_client.get(url("index")).content.decode()
    assert "news.example.org" in listing and "RSA 2048 bits" in listing


def test_signer_from_the_admin_made_domain_verifies(admin_client):
    admin_client.post(url("add"), {"domain": "example.org", "selector": "s1"})
    signer = sender_domain_signer("news@example.org")
    raw = MessageSkeleton(from_name="News", from_email="news@example.org", signer=signer).render(
        "reader@example.com", "Hello", "<p>Hi</p>", "Hi", "<1.x@example.org>", list_unsubscribe_url="https://e.org/u/"
    )
    record = dns_record(SenderDomain.objects.get().private_key).encode()
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record if name == b"s1._domainkey.example.org." else None)


@pytest.mark.parametrize(
    "domain",
    ["", "localhost", "https://example.org", "news@example.org", "exa mple.org", "-bad.example.org",
     "example..org", "a" * 64 + ".example.org", "example.org\r\nBcc: x", "192.168.1.1", "example.org/path"],
)  # fmt: skip
def test_invalid_domain_is_refused_and_nothing_created(admin_client, domain):
    response = admin_client.post(url("add"), {"domain": domain, "selector": "newsletter"})
    assert response.status_code == 200
    assert response.context["form"].errors["domain"]
    assert not SenderDomain.objects.exists()


def test_invalid_selector_and_duplicate_domain_are_refused(admin_client):
    response = admin_client.post(url("add"), {"domain": "example.org", "selector": "bad selector!"})
    assert response.context["form"].errors["selector"]
    assert not SenderDomain.objects.exists()
    SenderDomain.objects.create(domain="example.org", private_key=generate_private_key())
    response = admin_client.post(url("add"), {"domain": "EXAMPLE.org", "selector": "newsletter"})
    assert response.context["form"].errors["domain"]
    assert SenderDomain.objects.count() == 1


def test_internationalised_domain_is_stored_as_idna(admin_client):
    admin_client.post(url("add"), {"domain": "bücher.example", "selector": "newsletter"})
    assert SenderDomain.objects.get().domain == "xn--bcher-kva.example"


def test_internationalised_domain_is_stored_as_idna_2008_as_addresses_are(admin_client):
    admin_client.post(url("add"), {"domain": "straße.example", "selector": "newsletter"})
    assert SenderDomain.objects.get().domain == "xn--strae-oqa.example"  # IDNA 2003 would say strasse.example


def test_edit_keeps_the_key(admin_client):
    key = generate_private_key()
    domain = SenderDomain.objects.create(domain="example.org", selector="s1", private_key=key)
    response = admin_client.post(url("edit", domain.pk), {"domain": "example.org", "selector": "s2"})
    assert response.status_code == 302
    domain.refresh_from_db()
    assert (domain.selector, domain.private_key) == ("s2", key)


def test_regenerate_asks_first_then_replaces_the_key(admin_client):
    key = generate_private_key()
    domain = SenderDomain.objects.create(domain="example.org", selector="s1", private_key=key)
    confirm = admin_client.get(url("regenerate_key", domain.pk))
    assert confirm.status_code == 200
    assert "Yes, generate a new key" in confirm.content.decode()
    domain.refresh_from_db()
    assert domain.private_key == key  # a GET changes nothing

    response = admin_client.post(url("regenerate_key", domain.pk))
    assert response.status_code == 302 and response["Location"] == url("edit", domain.pk)
    domain.refresh_from_db()
    assert domain.private_key != key and domain.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    html = admin_client.get(url("edit", domain.pk)).content.decode()
    assert dns_record(domain.private_key) in html and dns_record(key) not in html
    assert "A new key was generated" in html


def test_domain_without_key_can_get_one(admin_client):
    domain = SenderDomain.objects.create(domain="example.org", selector="s1", private_key="")
    html = admin_client.get(url("edit", domain.pk)).content.decode()
    assert "has no DKIM key" in html
    assert sender_domain_signer("news@example.org") is None
    admin_client.post(url("regenerate_key", domain.pk))
    assert sender_domain_signer("news@example.org").domain == "example.org"


def test_regenerate_needs_change_permission(client, django_user_model):
    key = generate_private_key()
    domain = SenderDomain.objects.create(domain="example.org", private_key=key)
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    assert client.post(url("regenerate_key", domain.pk)).status_code in (302, 403)
    assert client.get(url("index")).status_code in (302, 403)
    domain.refresh_from_db()
    assert domain.private_key == key
    user.user_permissions.add(Permission.objects.get(codename="change_senderdomain"))
    assert client.post(url("regenerate_key", domain.pk)).status_code == 302
    domain.refresh_from_db()
    assert domain.private_key != key


def test_unknown_domain_is_404(admin_client):
    assert admin_client.get(url("regenerate_key", 999)).status_code == 404
