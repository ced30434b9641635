"""Gapless DKIM key rotation (api.rotate_dkim_key / complete_dkim_rotation, ``newsletter_dkim``): the current key
signs until the next key's record is found in a real DNS server (dnsmasq); mail sent through a real SMTP server
meanwhile verifies (dkimpy) against the old record, and after completion against the new one. Completion is refused
while DNS lacks the record, publishes another key or does not answer; bad input raises and changes nothing."""

import datetime
import email
import email.policy
import io

import dkim
import pytest
from django.core.management import CommandError, call_command

from wagtail_newsletter import api
from wagtail_newsletter.audience.models import Group, Membership, Status, Subscriber
from wagtail_newsletter.send.dkim_signing import dns_name, dns_record_chunks, generate_private_key
from wagtail_newsletter.send.models import SenderDomain

from .compose_editor_fixtures import make_newsletter
from .dns_server import DnsServer, txt

pytestmark = pytest.mark.django_db
DOMAIN = "example.org"  # the newsletter's From domain (ASSUME_VERIFIED_DOMAINS in the test settings: it may send)


def use_dns(settings, *records, local=True):
    """A dnsmasq serving ``records`` (authoritative for example.org when ``local``, else it refuses the questions),
    and the checks' settings pointing at it."""
    server = DnsServer([*(["--local=/example.org/"] if local else []), *records])
    server.__enter__()
    settings.WAGTAIL_NEWSLETTER_DNS_RESOLVERS = [server.address]
    settings.WAGTAIL_NEWSLETTER_DNS_TIMEOUT = 1
    return server


@pytest.fixture(name="dns")
def dns_fixture(settings):
    """``dns(*records)``: start a dnsmasq serving them and point the checks at it (the last one started wins)."""
    servers = []
    yield lambda *records, **kwargs: servers.append(use_dns(settings, *records, **kwargs)) or servers[-1]
    for server in servers:
        server.__exit__()


def published(key):
    """The dnsmasq record publishing ``key`` (an api.DkimKey), in its 255-character strings."""
    return txt(key.dns_name, *key.txt_strings)


def verifies(raw, *keys):
    """Whether ``raw`` verifies with dkimpy when DNS publishes exactly ``keys``."""
    records = {f"{key.dns_name}.".encode(): key.dns_value.encode() for key in keys}
    return dkim.verify(raw, dnsfunc=lambda name, timeout=5: records.get(name))


def selector_of(raw):
    signature = email.message_from_bytes(raw, policy=email.policy.compat32)["DKIM-Signature"]
    return dict(tag.strip().split("=", 1) for tag in "".join(signature.split()).split(";") if tag)["s"]


def state():
    return list(SenderDomain.objects.order_by("pk").values())


def send_campaign(archive, capture, count=2):
    readers = Group.objects.create(name="Readers")
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"reader{i}@example.net", status=Status.SUBSCRIBED) for i in range(count)]
    )
    Membership.objects.bulk_create([Membership(subscriber=s, group=readers) for s in Subscriber.objects.all()])
    campaign = api.create_campaign(make_newsletter(archive))
    api.set_audience(campaign, groups=["Readers"])
    with capture(execute=True):  # django-q2 runs the send task inline once the start commits
        api.send(campaign)
    return campaign


def test_rotation_signs_with_the_old_key_until_dns_publishes_the_new_one(
    archive, smtp_server, django_capture_on_commit_callbacks, dns
):
    old = api.generate_dkim_key(DOMAIN, selector="s1")
    pending = api.rotate_dkim_key(DOMAIN, selector="s2")
    assert (pending.selector, pending.dns_name) == ("s2", "s2._domainkey.example.org")
    assert pending.fingerprint != old.fingerprint and api.dkim_key(DOMAIN) == old
    keys = api.dkim_keys(DOMAIN)
    assert (keys.current, keys.pending, keys.previous_selector) == (old, pending, "")

    # Mail sent during the rotation is signed with the current key: it verifies against the old record only.
    campaign = send_campaign(archive, django_capture_on_commit_callbacks)
    received = smtp_server.wait_for(2)
    assert len(received) == 2
    for message in received:
        assert selector_of(message["raw"]) == "s1"
        assert verifies(message["raw"], old) and not verifies(message["raw"], pending)

    # DNS has no record at s2 yet, then one with another key, then does not answer: refused, nothing changes.
    before = state()
    dns(published(old))
    with pytest.raises(api.InvalidState, match="no DKIM record at this selector"):
        api.complete_dkim_rotation(DOMAIN)
    dns(published(old), txt(pending.dns_name, *dns_record_chunks(generate_private_key())))
    with pytest.raises(api.InvalidState, match="another key"):
        api.complete_dkim_rotation(DOMAIN)
    dns(local=False)  # REFUSED: DNS cannot tell
    with pytest.raises(api.InvalidState, match="DNS did not answer"):
        api.complete_dkim_rotation(DOMAIN)
    assert state() == before
    assert selector_of(api.render_message(campaign, "reader0@example.net")) == "s1"

    # Published: the switch is made, and from now on mail is signed with the new key under s2.
    dns(published(old), published(pending))
    current = api.complete_dkim_rotation(DOMAIN)
    assert current == pending
    keys = api.dkim_keys(DOMAIN)
    assert (keys.current, keys.pending, keys.previous_selector) == (pending, None, "s1")
    assert keys.previous_removable_after == keys.rotated_at + datetime.timedelta(days=7)
    raw = api.render_message(campaign, "reader0@example.net")
    assert selector_of(raw) == "s2" and verifies(raw, old, pending) and not verifies(raw, old)
    assert verifies(received[0]["raw"], old, pending)  # mail in flight still verifies while s1 stays published

    # The next rotation may not reuse the selector whose record is still kept for mail in flight.
    with pytest.raises(api.InvalidInput, match="in use"):
        api.rotate_dkim_key(DOMAIN, selector="s1")


def test_force_switches_without_dns_and_cancel_keeps_the_current_key(dns):
    old = api.generate_dkim_key(DOMAIN, selector="s1")
    pending = api.rotate_dkim_key(DOMAIN)
    assert pending.selector.startswith("nl-")
    api.cancel_dkim_rotation(DOMAIN)
    row = SenderDomain.objects.get()
    assert (row.selector, row.next_selector, row.next_private_key, row.rotation_started_at) == ("s1", "", "", None)
    assert api.dkim_key(DOMAIN) == old

    pending = api.rotate_dkim_key(DOMAIN, selector="s3")
    dns()  # nothing published
    assert api.complete_dkim_rotation(DOMAIN, force=True) == pending
    row.refresh_from_db()
    assert (row.selector, row.previous_selector, row.next_private_key) == ("s3", "s1", "")


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: api.complete_dkim_rotation("unknown.example"), api.NotFound),
        (lambda: api.complete_dkim_rotation("keyless.example"), api.InvalidState),  # no rotation in progress
        (lambda: api.complete_dkim_rotation("idle.example", force=True), api.InvalidState),
        (lambda: api.cancel_dkim_rotation("idle.example"), api.InvalidState),
        (lambda: api.cancel_dkim_rotation("unknown.example"), api.NotFound),
        (lambda: api.rotate_dkim_key("example.org"), api.InvalidState),  # a rotation in progress already
        (lambda: api.rotate_dkim_key("idle.example", selector="s1"), api.InvalidInput),  # the current selector
        (lambda: api.rotate_dkim_key("idle.example", selector="bad selector"), api.InvalidInput),
        (lambda: api.rotate_dkim_key("keyless.example"), api.InvalidState),
        (lambda: api.dkim_keys("unknown.example"), api.NotFound),
    ],
    ids=["complete-unknown", "complete-keyless", "complete-idle", "cancel-idle", "cancel-unknown", "rotate-twice",
         "rotate-same-selector", "rotate-bad-selector", "rotate-keyless", "keys-unknown"],
)  # fmt: skip
def test_bad_input_changes_nothing(call, error):
    api.generate_dkim_key("example.org", selector="s1")
    api.rotate_dkim_key("example.org", selector="s2")
    api.generate_dkim_key("idle.example", selector="s1")
    SenderDomain.objects.create(domain="keyless.example")
    before = state()
    with pytest.raises(error):
        call()
    assert state() == before


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("newsletter_dkim", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_rotate_show_complete(dns):
    run("generate", DOMAIN, "--selector", "s1")
    old = api.dkim_key(DOMAIN)
    out, err = run("rotate", DOMAIN, "--selector", "s2")
    pending = api.dkim_keys(DOMAIN).pending
    assert out.strip() == f"s2._domainkey.example.org TXT {pending.dns_value}"
    assert "current key keeps signing" in err and "newsletter_dkim complete example.org" in err
    out, err = run("show", DOMAIN)
    assert out.splitlines() == [f"{old.dns_name} TXT {old.dns_value}", f"{pending.dns_name} TXT {pending.dns_value}"]
    assert "rotation in progress" in err

    dns(published(old))
    with pytest.raises(CommandError, match="not published yet"):
        run("complete", DOMAIN)
    with pytest.raises(CommandError, match="--force is for complete"):
        run("rotate", DOMAIN, "--force")
    assert api.dkim_key(DOMAIN) == old

    dns(published(old), published(pending))
    out, err = run("complete", DOMAIN)
    assert out.strip() == f"{dns_name('s2', DOMAIN)} TXT {pending.dns_value}"
    assert "now signs with selector s2" in err and "Keep the record of s1 published until" in err
    out, err = run("show", DOMAIN, "--zone")
    assert out.startswith('s2._domainkey.example.org. 3600 IN TXT ( "v=DKIM1; k=rsa; p=')
    assert "previous selector s1" in err
    with pytest.raises(CommandError, match="No key rotation"):
        run("cancel", DOMAIN)
