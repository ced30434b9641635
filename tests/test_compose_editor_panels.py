"""The newsletter editor's side panels: the pre-flight checklist of the latest draft and the variables chooser."""

import pytest
from bs4 import BeautifulSoup
from django.urls import reverse

from tests.compose_editor_fixtures import make_newsletter
from wagtail_newsletter.admin.compose.editor import variable_tag
from wagtail_newsletter.audience.models import Field
from wagtail_newsletter.compose.merge_tags import available_variables

pytestmark = pytest.mark.django_db

NO_FOOTER = [{"type": "heading", "value": {"text": "Hello {{ frist_name }}", "level": "1", "alignment": "left"}}]


def edit_page(client, page):
    response = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    return BeautifulSoup(response.content, "html.parser")


def panel(soup, name):
    return soup.find(attrs={"data-side-panel": name})


def check_codes(soup):
    return [item["data-check"] for item in panel(soup, "newsletter-checklist").select("[data-check]")]


def test_checklist_panel_lists_the_problems_of_the_latest_draft(admin_client, archive):
    page = make_newsletter(archive, body=NO_FOOTER)
    soup = edit_page(admin_client, page)
    codes = check_codes(soup)
    assert "missing-unsubscribe" in codes and "unknown-variable" in codes
    text = panel(soup, "newsletter-checklist").get_text(" ")
    assert "frist_name" in text and "Add a footer block" in text  # the message and its hint


def test_checklist_toggle_counts_the_errors(admin_client, archive):
    page = make_newsletter(archive, body=NO_FOOTER)
    soup = edit_page(admin_client, page)
    toggle = soup.find(attrs={"data-side-panel-toggle": "newsletter-checklist"})
    counter = toggle.find(attrs={"data-side-panel-toggle-counter": True})
    assert counter.get_text(strip=True) == "2" and not counter.has_attr("hidden")


def test_checklist_follows_the_saved_draft_not_the_live_page(admin_client, newsletter):
    assert check_codes(edit_page(admin_client, newsletter)) == ["all-clear"]
    newsletter.body = NO_FOOTER
    newsletter.save_revision()
    assert "missing-unsubscribe" in check_codes(edit_page(admin_client, newsletter))


def test_variables_panel_lists_variables_with_sample_values_and_tags(admin_client, newsletter):
    Field.objects.create(label="City", key="city", default="your town")
    Field.objects.create(label="Club", key="club")
    variables = panel(edit_page(admin_client, newsletter), "newsletter-variables")
    rows = {row["data-variable"]: row for row in variables.select("[data-variable]")}
    assert {"email", "first_name", "unsubscribe_url", "web_version_url", "date", "city", "club"} <= rows.keys()
    assert "Ada" in rows["first_name"].get_text()  # the sample value
    copy = rows["first_name"].find("button", attrs={"data-action": "w-clipboard#copy"})
    assert copy["data-w-clipboard-value-param"] == '{{ first_name|default:"there" }}'
    # A custom field's own default fills empty values: its tag needs none; without one, the editor writes one.
    assert rows["city"].find("button")["data-w-clipboard-value-param"] == "{{ city }}"
    assert rows["club"].find("button")["data-w-clipboard-value-param"] == '{{ club|default:"…" }}'


def test_variable_that_is_never_empty_is_copied_without_default():
    assert variable_tag(available_variables()["email"]) == "{{ email }}"
    assert variable_tag(available_variables()["unsubscribe_url"]) == "{{ unsubscribe_url }}"


def test_copied_tags_are_known_variables_with_defaults(newsletter):
    from wagtail_newsletter.compose.merge_tags import find_variables, variable_problems

    variables = available_variables()
    tags = " ".join(variable_tag(variable) for variable in variables.values())
    assert variable_problems(find_variables(tags), variables) == []


def test_create_view_offers_variables_but_no_checklist_yet(admin_client, archive):
    url = reverse("wagtailadmin_pages:add", args=["wagtail_newsletter", "newsletterpage", archive.pk])
    soup = BeautifulSoup(admin_client.get(url).content, "html.parser")
    assert panel(soup, "newsletter-variables") is not None
    assert panel(soup, "newsletter-checklist") is None


def test_other_pages_have_no_newsletter_panels(admin_client, archive):
    soup = edit_page(admin_client, archive)
    assert panel(soup, "newsletter-variables") is None and panel(soup, "newsletter-checklist") is None


def test_rich_text_toolbar_control_for_variables_is_registered():
    from wagtail.rich_text import features

    plugin = features.get_editor_plugin("draftail", "newsletter-variable")
    assert plugin is not None
    assert "wagtail_newsletter/js/variable_control.js" in str(plugin.media)
