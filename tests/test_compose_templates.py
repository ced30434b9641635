"""Newsletter templates: "Save as template", "New newsletter from template", and the independence of the copies."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse
from django.utils import formats, timezone

from wagtail_newsletter.compose.models import NewsletterPage, NewsletterTemplate

pytestmark = pytest.mark.django_db

FROM_TEMPLATE = "newsletter_compose:from_template"


def save_url(page):
    return reverse("newsletter_compose:save_template", args=[page.pk])


def raw_body(stream):
    return [(block["type"], block["value"]) for block in stream.get_prep_value()]


@pytest.fixture
def template(newsletter):
    return NewsletterTemplate.objects.create(
        name="Monthly",
        theme="bold",
        body=newsletter.body.get_prep_value(),
        subject="Our month",
        preheader="News of the month",
        sender_name="Garden Club",
        sender_email="news@example.org",
        reply_to="answers@example.org",
    )


def test_action_menu_offers_save_as_template(admin_client, newsletter):
    page = admin_client.get(reverse("wagtailadmin_pages:edit", args=[newsletter.pk])).content.decode()
    assert save_url(newsletter) in page and "Save as template…" in page


def test_save_as_template_copies_the_latest_draft(admin_client, newsletter):
    newsletter.subject = "Draft subject"
    newsletter.theme = "minimal"
    newsletter.save_revision()

    response = admin_client.post(save_url(newsletter), {"name": "Spring template", "description": "For April"})

    assert response.status_code == 302 and response.url == reverse("wagtailadmin_pages:edit", args=[newsletter.pk])
    template = NewsletterTemplate.objects.get()
    assert (template.name, template.description) == ("Spring template", "For April")
    assert (template.subject, template.theme, template.sender_email) == ("Draft subject", "minimal", "news@example.org")
    assert (template.preheader, template.sender_name, template.reply_to) == (
        "What grows in April",
        "Garden Club",
        "answers@example.org",
    )
    assert raw_body(template.body) == raw_body(newsletter.body)


def test_save_as_template_needs_a_name(admin_client, newsletter):
    response = admin_client.post(save_url(newsletter), {"name": "  "})
    assert response.status_code == 200
    assert not NewsletterTemplate.objects.exists()


def test_save_as_template_needs_the_permission_to_add_templates(client, newsletter_editor, newsletter):
    client.force_login(newsletter_editor)
    edit_page = client.get(reverse("wagtailadmin_pages:edit", args=[newsletter.pk])).content.decode()
    assert "Save as template…" not in edit_page
    response = client.post(save_url(newsletter), {"name": "Mine"})
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")
    assert not NewsletterTemplate.objects.exists()


def test_new_from_template_creates_a_draft_with_the_templates_content(admin_client, archive, template):
    response = admin_client.post(reverse(FROM_TEMPLATE), {"template": template.pk, "parent": archive.pk})

    page = NewsletterPage.objects.exclude(slug="spring-news").get()
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_pages:edit", args=[page.pk])
    today = formats.date_format(timezone.localdate(), "DATE_FORMAT")
    assert page.title == f"Monthly – {today}"
    assert not page.live and page.get_parent().pk == archive.pk
    assert page.latest_revision is not None  # a draft the editor opens like any other
    assert (page.subject, page.theme, page.preheader, page.reply_to) == (
        "Our month",
        "bold",
        "News of the month",
        "answers@example.org",
    )
    assert raw_body(page.body) == raw_body(template.body)


def test_two_newsletters_from_one_template_get_unique_slugs(admin_client, archive, template):
    for _ in range(2):
        admin_client.post(reverse(FROM_TEMPLATE), {"template": template.pk, "parent": archive.pk})
    slugs = list(NewsletterPage.objects.filter(title__startswith="Monthly").values_list("slug", flat=True))
    assert len(slugs) == 2 and len(set(slugs)) == 2


def test_new_from_template_uses_the_given_title(admin_client, archive, template):
    admin_client.post(reverse(FROM_TEMPLATE), {"template": template.pk, "parent": archive.pk, "title": "June issue"})
    assert NewsletterPage.objects.filter(title="June issue", slug="june-issue", live=False).exists()


def test_editing_the_new_newsletter_leaves_the_template_unchanged(admin_client, archive, template):
    admin_client.post(reverse(FROM_TEMPLATE), {"template": template.pk, "parent": archive.pk})
    page = NewsletterPage.objects.get(title__startswith="Monthly")
    before = raw_body(template.body)

    page.body[0].value["text"] = "Changed heading"
    page.subject = "Changed subject"
    page.save_revision().publish()

    template.refresh_from_db()
    assert raw_body(template.body) == before and template.subject == "Our month"


def test_editing_the_template_leaves_earlier_newsletters_unchanged(admin_client, archive, template):
    admin_client.post(reverse(FROM_TEMPLATE), {"template": template.pk, "parent": archive.pk})
    page = NewsletterPage.objects.get(title__startswith="Monthly")
    before = raw_body(page.body)

    template.body = [{"type": "heading", "value": {"text": "Other", "level": "2", "alignment": "left"}}]
    template.subject = "Other subject"
    template.save()

    page.refresh_from_db()
    assert raw_body(page.body) == before and page.subject == "Our month"


def test_new_from_template_refuses_a_parent_the_user_cannot_add_to(client, newsletter_editor, archive, template):
    other = archive.get_parent().add_child(instance=archive.__class__(title="Other archive", slug="other-archive"))
    client.force_login(newsletter_editor)
    response = client.post(reverse(FROM_TEMPLATE), {"template": template.pk, "parent": other.pk})
    assert response.status_code == 200  # the form lists only the archives the editor may add to
    assert not NewsletterPage.objects.filter(title__startswith="Monthly").exists()


def test_user_who_may_add_no_newsletter_is_denied(client, editor_without_page_rights, template):
    client.force_login(editor_without_page_rights)
    response = client.get(reverse(FROM_TEMPLATE))
    assert response.status_code == 302 and response.url == reverse("wagtailadmin_home")


def test_adding_a_newsletter_offers_the_templates_first(admin_client, archive, template):
    add_url = reverse("wagtailadmin_pages:add", args=["wagtail_newsletter", "newsletterpage", archive.pk])
    response = admin_client.get(add_url)
    assert response.status_code == 302 and response.url == reverse(FROM_TEMPLATE) + f"?parent={archive.pk}"
    chooser = admin_client.get(response.url).content.decode()
    assert "Monthly" in chooser and add_url + "?blank=1" in chooser
    assert admin_client.get(add_url + "?blank=1").status_code == 200


def test_adding_a_newsletter_without_templates_opens_the_editor(admin_client, archive):
    add_url = reverse("wagtailadmin_pages:add", args=["wagtail_newsletter", "newsletterpage", archive.pk])
    response = admin_client.get(add_url)
    assert response.status_code == 200 and response.context["page_class"] is NewsletterPage
    form = response.context["form"]
    assert {"title", "body", "subject", "theme"} <= set(form.fields) and not form.initial.get("body")


def test_new_from_template_opens_the_editor_with_the_templates_blocks(admin_client, archive, template):
    response = admin_client.post(reverse(FROM_TEMPLATE), {"template": template.pk, "parent": archive.pk}, follow=True)
    assert response.status_code == 200 and response.context["page"].title.startswith("Monthly")
    form = response.context["form"]
    assert raw_body(form.initial["body"]) == raw_body(template.body)
    assert (form.initial["subject"], form.initial["theme"]) == ("Our month", "bold")
    assert 'value="Our month"' in response.content.decode()  # the subject field, filled


def test_archive_page_header_offers_new_from_template(admin_client, archive, template):
    listing = admin_client.get(reverse("wagtailadmin_explore", args=[archive.pk])).content.decode()
    assert reverse(FROM_TEMPLATE) + f"?parent={archive.pk}" in listing


def test_archive_row_shows_new_from_template_as_a_button_not_in_its_more_menu(admin_client, archive, template):
    listing = admin_client.get(reverse("wagtailadmin_explore", args=[archive.get_parent().pk])).content
    row = BeautifulSoup(listing, "html.parser").find("a", href=reverse(FROM_TEMPLATE) + f"?parent={archive.pk}")
    assert "button" in row["class"] and row.find_parent(attrs={"data-controller": "w-dropdown"}) is None


def test_chooser_preselects_a_lone_template(admin_client, archive, template):
    chooser = BeautifulSoup(admin_client.get(reverse(FROM_TEMPLATE)).content, "html.parser")
    assert chooser.find("input", attrs={"name": "template", "value": str(template.pk)}).has_attr("checked")


def test_chooser_preselects_nothing_among_several_templates(admin_client, archive, template):
    NewsletterTemplate.objects.create(name="Weekly", body=[])
    chooser = BeautifulSoup(admin_client.get(reverse(FROM_TEMPLATE)).content, "html.parser")
    assert not chooser.find("input", attrs={"name": "template", "checked": True})


def test_template_listing_offers_new_newsletter_from_each_template(admin_client, archive, template):
    listing = admin_client.get(reverse(NewsletterTemplate.snippet_viewset.get_url_name("list"))).content.decode()
    assert "Monthly" in listing
    assert reverse(FROM_TEMPLATE) + f"?template={template.pk}" in listing


def test_chooser_preselects_the_template_from_the_listing(admin_client, archive, template):
    response = admin_client.get(reverse(FROM_TEMPLATE) + f"?template={template.pk}")
    chooser = BeautifulSoup(response.content, "html.parser")
    assert chooser.find("input", attrs={"name": "template", "value": str(template.pk)}).has_attr("checked")


def test_archive_header_add_button_is_visible_and_leads_to_the_templates(admin_client, archive, template):
    """The archive's own page header: Wagtail puts hook buttons in its "…" menu, but its visible "+" (add child page)
    button leads, through the archive's only child type, to the template chooser."""
    listing = BeautifulSoup(admin_client.get(reverse("wagtailadmin_explore", args=[archive.pk])).content, "html.parser")
    add_url = reverse("wagtailadmin_pages:add_subpage", args=[archive.pk])
    header = listing.find("header")
    add = header.find("a", href=add_url)
    assert add is not None and add.find_parent(attrs={"data-controller": "w-dropdown"}) is None
    response = admin_client.get(add_url, follow=True)
    assert response.redirect_chain[-1][0] == reverse(FROM_TEMPLATE) + f"?parent={archive.pk}"
    chooser = BeautifulSoup(response.content, "html.parser")
    assert chooser.find("input", attrs={"name": "template", "value": str(template.pk)}).has_attr("checked")
