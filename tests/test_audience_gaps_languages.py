"""Issue 12's gaps about languages: the send wizard checks every translation a campaign sends, and the wizard's
per-language preview and test send show exactly the revision the campaign sends for that language."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from wagtail.models import GroupPagePermission, Locale

from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign

from .campaign_admin_fixtures import campaigns_url, sender_client_fixture, sender_fixture  # noqa: F401 (fixtures)
from .compose_editor_fixtures import make_newsletter
from .test_admin_send_languages import readers
from .test_send_translations import FRENCH_BODY, french, i18n_fixture, translate  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

WITHOUT_FOOTER = [block for block in FRENCH_BODY if block["type"] != "footer"]
PLAIN_HTTP_LINK = [
    {"type": "rich_text", "value": {"text": '<p>Lisez <a href="http://example.org/fr/">ceci</a>.</p>'}},
    *[block for block in FRENCH_BODY if block["type"] == "footer"],
]


def start(client, page):
    response = client.post(campaigns_url("send_new", page.pk), {"name": "Spring", "audience": "all"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Campaign.objects.get()


def french_section(html):
    start_at = html.index('data-language-checklist="fr"')
    return html[start_at : html.index("</section>", start_at)]


def test_an_error_in_the_french_translation_blocks_the_send_and_is_shown_under_french(sender_client, archive, i18n):
    page = make_newsletter(archive)
    translate(page, "fr", subject="Nouvelles", body=WITHOUT_FOOTER)  # no unsubscribe link
    readers("fr", "en")
    campaign = start(sender_client, page)
    checks_url = campaigns_url("send_checks", campaign.pk)

    html = sender_client.get(checks_url).content.decode()

    french_checks = french_section(html)
    assert 'data-level="error"' in french_checks and "Français" in french_checks
    english_checks = html[: html.index('data-language-checklist="fr"')]
    assert 'data-level="error"' not in english_checks  # the English revision is fine
    response = sender_client.post(checks_url, {"accept_warnings": "on"})
    assert response.status_code == 200 and "Fix the problems above before sending." in response.content.decode()
    # Starting it is refused too, naming the language.
    problems = campaigns.check_can_send(campaign)
    assert any(problem.startswith("Français: ") for problem in problems), problems
    with pytest.raises(campaigns.CampaignError):
        campaigns.send_now(campaign)


def test_a_warning_of_the_french_translation_needs_the_tick(sender_client, archive, i18n):
    page = make_newsletter(archive)
    translate(page, "fr", subject="Nouvelles", body=PLAIN_HTTP_LINK)
    readers("fr", "en")
    campaign = start(sender_client, page)
    checks_url = campaigns_url("send_checks", campaign.pk)

    assert 'data-check="link-not-https"' in french_section(sender_client.get(checks_url).content.decode())
    response = sender_client.post(checks_url, {})
    assert response.status_code == 200 and "Tick this box" in response.content.decode()
    assert sender_client.post(checks_url, {"accept_warnings": "on"}).status_code == 302


def test_a_translation_nobody_reads_is_not_checked(sender_client, archive, i18n):
    page = make_newsletter(archive)
    translate(page, "fr", subject="Nouvelles", body=WITHOUT_FOOTER)
    readers("en")
    campaign = start(sender_client, page)
    html = sender_client.get(campaigns_url("send_checks", campaign.pk)).content.decode()
    assert "data-language-checklist" not in html
    assert sender_client.post(campaigns_url("send_checks", campaign.pk), {}).status_code == 302


def may_edit(user, page):
    """The user's groups may also edit pages under ``page`` (the French tree)."""
    for group in user.groups.all():
        GroupPagePermission.objects.create(
            group=group, page=page, permission=Permission.objects.get(codename="change_page")
        )


def newer_drafts(page, fr_page):
    """Drafts saved after the campaign was prepared: neither is what the campaign sends."""
    page.subject = "English draft"
    page.save_revision()
    fr_page = fr_page.specific
    fr_page.subject = "Brouillon français"
    fr_page.save_revision()


def wizard_links(client, campaign, code):
    html = client.get(campaigns_url("send_checks", campaign.pk)).content.decode()
    row = html[html.index(f'data-language="{code}"') :]
    row = row[: row.index("</tr>")]
    preview = row.split('href="', 1)[1].split('"', 1)[0]
    test = row.split('href="', 2)[2].split('"', 1)[0].replace("&amp;", "&")
    return preview, test


@pytest.mark.parametrize(
    ("code", "subject", "lang"), [("fr", "Nouvelles pour", 'lang="fr"'), ("en", "Spring news for", 'lang="en"')]
)
def test_language_test_send_and_preview_are_what_the_campaign_sends(
    sender_client, sender, archive, i18n, smtp_server, django_capture_on_commit_callbacks, code, subject, lang
):
    page = make_newsletter(archive)
    fr_page = french(page)
    may_edit(sender, fr_page.get_parent())
    readers("fr", "en")
    campaign = start(sender_client, page)
    newer_drafts(page, fr_page)
    preview_url, test_url = wizard_links(sender_client, campaign, code)

    preview = sender_client.get(preview_url).content.decode()
    assert subject in preview or code == "fr"  # the French subject is not in the body; its greeting is
    assert "Brouillon" not in preview and "English draft" not in preview and lang in preview
    with django_capture_on_commit_callbacks(execute=True):
        response = sender_client.post(test_url, {"addresses": "qa@example.org"})
    assert response.status_code == 302 and response.url.endswith("/edit/"), response
    message = smtp_server.wait_for(1)[0]["message"]
    assert message["Subject"].startswith(f"[TEST] {subject}"), message["Subject"]
    assert lang in message.get_body(("html",)).get_content()


def test_a_campaign_that_sends_no_version_of_the_page_refuses_its_test(
    sender_client, sender, archive, i18n, smtp_server
):
    page = make_newsletter(archive)
    fr_page = french(page, publish=False)
    may_edit(sender, fr_page.get_parent())
    readers("fr", "en")
    campaign = start(sender_client, page)
    url = reverse("newsletter_compose:test_send", args=[fr_page.pk])

    response = sender_client.post(f"{url}?campaign={campaign.pk}", {"addresses": "qa@example.org"})

    assert response.status_code == 200 and "sends no version of this page" in response.content.decode()
    assert smtp_server.messages == []
    assert sender_client.get(f"{url}?campaign=x").status_code == 404
    preview = campaigns_url("language_preview", campaign.pk, fr_page.pk)
    assert sender_client.get(preview).status_code == 404
    assert Locale.objects.filter(language_code="fr").exists()


def test_language_preview_needs_the_send_permission(client, newsletter_editor, archive, i18n):
    page = make_newsletter(archive)
    campaign = campaigns.create_campaign(page)
    client.force_login(newsletter_editor)
    response = client.get(campaigns_url("language_preview", campaign.pk, page.pk))
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")  # Wagtail's refusal
