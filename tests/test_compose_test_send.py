"""Test send: the action menu item, the form, and the mail a real SMTP server receives through the django-q2 task."""

from email.utils import getaddresses, parseaddr

import pytest
from django.urls import reverse
from wagtail.models import PageLogEntry

from tests.compose_editor_fixtures import make_newsletter
from wagtail_newsletter.audience.fields import InvalidValue
from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.send.test_send import MAX_TEST_ADDRESSES, parse_test_addresses, send_test_task

pytestmark = pytest.mark.django_db


def send_test_url(page):
    return reverse("newsletter_compose:test_send", args=[page.pk])


def post_test(client, page, capture, **data):
    with capture(execute=True) as callbacks:
        response = client.post(send_test_url(page), {"addresses": "qa@example.org", **data})
    return response, callbacks


def parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


def test_addresses_are_split_on_commas_and_lines_normalised_and_deduplicated():
    raw = "Ann@Example.org, bob@example.org\nann@example.org;\n  carl@example.org  "
    assert parse_test_addresses(raw) == ["ann@example.org", "bob@example.org", "carl@example.org"]


def test_every_invalid_address_is_named():
    with pytest.raises(InvalidValue) as error:
        parse_test_addresses("ok@example.org, not-an-address, also@bad")
    assert "not-an-address" in str(error.value) and "also@bad" in str(error.value)


def test_addresses_on_special_use_domains_are_accepted_for_tests():
    raw = "Admin@Example.TEST, root@localhost, ann@box.local"
    assert parse_test_addresses(raw) == ["admin@example.test", "root@localhost", "ann@box.local"]


@pytest.mark.parametrize(
    "raw",
    ["also@bad", "a@b@example.test", "ann@-box.test", "ann@.test", "qa@example.test\r\nBcc: eve@example.org",
     "<qa@example.test>", "qa@example.test\x00"],
)  # fmt: skip
def test_invalid_or_injected_addresses_stay_refused_on_special_use_domains(raw):
    with pytest.raises(InvalidValue):
        parse_test_addresses(raw)


def test_editor_with_a_local_test_address_gets_the_prefilled_test(
    admin_client, admin_user, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    admin_user.email = "admin@example.test"
    admin_user.save()
    assert 'admin@example.test</textarea>' in admin_client.get(send_test_url(newsletter)).content.decode()
    response, _callbacks = post_test(
        admin_client, newsletter, django_capture_on_commit_callbacks, addresses=admin_user.email
    )
    assert response.status_code == 302
    assert smtp_server.wait_for(1)[0]["to"] == ["admin@example.test"]


def test_more_than_ten_addresses_are_refused():
    raw = ",".join(f"qa{n}@example.org" for n in range(MAX_TEST_ADDRESSES + 1))
    with pytest.raises(InvalidValue):
        parse_test_addresses(raw)


def test_no_address_is_refused():
    with pytest.raises(InvalidValue):
        parse_test_addresses(" ,\n ")


def test_action_menu_offers_send_test_on_a_newsletter(admin_client, newsletter):
    page = admin_client.get(reverse("wagtailadmin_pages:edit", args=[newsletter.pk])).content.decode()
    assert send_test_url(newsletter) in page and "Send test…" in page


def test_action_menu_has_no_send_test_on_other_pages(admin_client, archive):
    page = admin_client.get(reverse("wagtailadmin_pages:edit", args=[archive.pk])).content.decode()
    assert "Send test…" not in page


def test_form_shows_the_checklist_and_defaults_to_the_editors_address(admin_client, admin_user, newsletter):
    page = admin_client.get(send_test_url(newsletter)).content.decode()
    assert "Checklist" in page and admin_user.email in page


def test_test_mail_reaches_the_smtp_server_marked_as_a_test(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    response, callbacks = post_test(
        admin_client, newsletter, django_capture_on_commit_callbacks, addresses="qa@example.org, Boss@Example.org"
    )
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_pages:edit", args=[newsletter.pk])
    assert len(callbacks) == 1  # one task for every address
    received = smtp_server.wait_for(2)
    assert sorted(rcpt for item in received for rcpt in item["to"]) == ["boss@example.org", "qa@example.org"]
    message = received[0]["message"]
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "[TEST] Spring news for Ada"  # sample data
    assert parseaddr(message["From"]) == ("Garden Club", "news@example.org")
    assert getaddresses([message["Reply-To"]]) == [("", "answers@example.org")]
    assert message["X-Newsletter-Test"] == "1"
    text, html = parts(message)
    assert "Hello Ada" in text and "Hello Ada" in html
    assert "https://example.org/spring/" in text and 'href="https://example.org/spring/' in html


def test_test_mail_has_inert_unsubscribe_and_untracked_links(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    post_test(admin_client, newsletter, django_capture_on_commit_callbacks)
    text, html = parts(smtp_server.wait_for(1)[0]["message"])
    assert "?preview-unsubscribe" in html and "?preview-unsubscribe" in text
    # No click redirect, signed unsubscribe token or open pixel of ours.
    assert not any(f"/newsletter/{prefix}/" in html for prefix in ("c", "u", "o"))


def test_test_mail_renders_a_chosen_subscriber_with_values_escaped(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    subscriber = Subscriber.objects.create(
        email="zoe@example.org", first_name="<b>Zoé</b> & Co", status=Status.SUBSCRIBED
    )
    post_test(admin_client, newsletter, django_capture_on_commit_callbacks, subscriber_email="ZOE@example.org")
    message = smtp_server.wait_for(1)[0]["message"]
    text, html = parts(message)
    assert "Hello &lt;b&gt;Zoé&lt;/b&gt; &amp; Co" in html and "<b>Zoé</b>" not in html
    assert "Hello <b>Zoé</b> & Co" in text
    assert message["Subject"] == "[TEST] Spring news for <b>Zoé</b> & Co"
    assert subscriber.email not in message["To"]  # rendered as them, sent to the tester


def test_test_mail_is_the_latest_draft_not_the_live_version(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    newsletter.subject = "Draft subject"
    newsletter.save_revision()
    post_test(admin_client, newsletter, django_capture_on_commit_callbacks)
    assert smtp_server.wait_for(1)[0]["message"]["Subject"] == "[TEST] Draft subject"


def test_sender_name_with_special_characters_stays_one_safe_header(smtp_server, archive):
    page = make_newsletter(archive, sender_name='Acme, Inc. "News" – Zoé')
    assert send_test_task(page.latest_revision_id, ["qa@example.org"]) == 1
    assert parseaddr(smtp_server.wait_for(1)[0]["message"]["From"]) == ('Acme, Inc. "News" – Zoé', "news@example.org")


def test_invalid_addresses_are_rejected_and_nothing_is_sent(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    response, callbacks = post_test(
        admin_client, newsletter, django_capture_on_commit_callbacks, addresses="qa@example.org, nope"
    )
    assert response.status_code == 200
    assert "nope" in response.content.decode()
    assert callbacks == [] and smtp_server.messages == []
    assert not PageLogEntry.objects.filter(action="wagtail_newsletter.test_send").exists()


def test_unknown_subscriber_address_is_rejected(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    response, callbacks = post_test(
        admin_client, newsletter, django_capture_on_commit_callbacks, subscriber_email="ghost@example.org"
    )
    assert "No subscriber has this address." in response.content.decode()
    assert callbacks == [] and smtp_server.messages == []


def test_newsletter_without_subject_is_refused_with_a_clear_error(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    newsletter.subject = ""
    newsletter.save_revision(clean=False)
    response, callbacks = post_test(admin_client, newsletter, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "The newsletter has no subject" in response.content.decode()
    assert callbacks == [] and smtp_server.messages == []


def test_user_who_cannot_edit_the_page_is_denied(
    client, editor_without_page_rights, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    client.force_login(editor_without_page_rights)
    denied = reverse("wagtailadmin_home")  # Wagtail turns PermissionDenied into a redirect with a message
    assert client.get(send_test_url(newsletter)).url == denied
    response, callbacks = post_test(client, newsletter, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and response.url == denied
    assert callbacks == [] and smtp_server.messages == []


def test_editor_of_the_archive_may_send_a_test(
    client, newsletter_editor, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    client.force_login(newsletter_editor)
    response, callbacks = post_test(client, newsletter, django_capture_on_commit_callbacks)
    assert response.status_code == 302 and len(callbacks) == 1
    assert len(smtp_server.wait_for(1)) == 1


def test_other_page_types_have_no_test_send(admin_client, archive):
    assert admin_client.get(send_test_url(archive)).status_code == 404


def test_page_history_records_the_test_and_its_addresses(
    admin_client, newsletter, smtp_server, django_capture_on_commit_callbacks
):
    post_test(admin_client, newsletter, django_capture_on_commit_callbacks, addresses="qa@example.org, b@example.org")
    entry = PageLogEntry.objects.get(page=newsletter, action="wagtail_newsletter.test_send")
    assert entry.revision_id == newsletter.latest_revision_id
    assert entry.message == "Test sent to qa@example.org, b@example.org"
    history = admin_client.get(reverse("wagtailadmin_pages:history", args=[newsletter.pk])).content.decode()
    assert "Test sent to qa@example.org, b@example.org" in history


def test_newsletter_without_sender_address_comes_from_the_sites_default_sender(smtp_server, archive, settings):
    settings.DEFAULT_FROM_EMAIL = "Example club <club@example.org>"
    page = make_newsletter(archive, sender_name="", sender_email="")
    send_test_task(page.latest_revision_id, ["qa@example.org"])
    assert parseaddr(smtp_server.wait_for(1)[0]["message"]["From"]) == ("Example club", "club@example.org")
