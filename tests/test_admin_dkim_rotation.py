"""Gapless DKIM key rotation on the sender domain's admin page: the POST buttons start it (the next record shown,
the current key still signing), refuse to complete it while a real DNS server (dnsmasq) lacks the record, complete
it once published, and say why when nothing can be done (nothing changed then)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from wagtail_newsletter import api
from wagtail_newsletter.send.models import SenderDomain

from .test_dkim_rotation import dns_fixture, published, state  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
NAMESPACE = "newsletter_sender_domains"


def url(name, *args):
    return reverse(f"{NAMESPACE}:{name}", args=args)


def post(client, row, action):
    """POST a rotation button; the (level, text) of the message it leaves for the page it redirects to."""
    response = client.post(url("dkim_rotation", row.pk, action))
    assert response.status_code == 302 and response.url == url("edit", row.pk)
    stored = list(get_messages(response.wsgi_request))  # read: the next request starts without them
    return [(stored[-1].level_tag, str(stored[-1]))]


def test_rotate_complete_from_the_admin(admin_client, dns):
    current = api.generate_dkim_key("example.org", selector="s1")
    row = SenderDomain.objects.get()
    html = admin_client.get(url("edit", row.pk)).content.decode()
    assert url("dkim_rotation", row.pk, "rotate") in html and "data-dkim-complete" not in html

    [(level, text)] = post(admin_client, row, "rotate")
    pending = api.dkim_keys("example.org").pending
    assert level == "success" and pending.selector in text and api.dkim_key("example.org") == current
    html = admin_client.get(url("edit", row.pk)).content.decode()
    assert pending.dns_name in html and pending.dns_value in html and current.dns_value in html
    assert pending.fingerprint in html and url("dkim_rotation", row.pk, "complete") in html

    before = state()
    # The edit form may not give the current key the next key's selector (one name, one key).
    response = admin_client.post(url("edit", row.pk), {"domain": "example.org", "selector": pending.selector})
    assert response.status_code == 200 and "belongs to the next or the previous key" in response.content.decode()
    assert state() == before
    dns(published(current))  # the next record is not published yet
    [(level, text)] = post(admin_client, row, "complete")
    assert level == "error" and "not published yet" in text and pending.dns_name in text
    [(level, text)] = post(admin_client, row, "rotate")  # a second rotation while one is in progress
    assert level == "error" and "in progress already" in text
    assert state() == before

    dns(published(current), published(pending))
    [(level, text)] = post(admin_client, row, "complete")
    assert level == "success" and f"selector {pending.selector}" in text and "s1" in text
    assert api.dkim_key("example.org") == pending
    html = admin_client.get(url("edit", row.pk)).content.decode()
    assert "data-dkim-previous" in html and "s1" in html and "data-dkim-complete" not in html

    before = state()
    [(level, text)] = post(admin_client, row, "cancel")  # nothing to cancel
    assert level == "error" and "No key rotation" in text and state() == before
    assert admin_client.post(url("dkim_rotation", row.pk, "bogus")).status_code == 404
    assert admin_client.post(url("dkim_rotation", 999, "rotate")).status_code == 404
    assert admin_client.get(url("dkim_rotation", row.pk, "rotate")).status_code == 405


def test_rotation_needs_change_permission(client, django_user_model):
    api.generate_dkim_key("example.org")
    row = SenderDomain.objects.get()
    user = django_user_model.objects.create_user("editor", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(user)
    before = state()
    assert client.post(url("dkim_rotation", row.pk, "rotate")).status_code in (302, 403)
    assert state() == before
