"""The automations' admin: a welcome series built in one form (steps as an InlinePanel), refused with clear errors
when a step misses what it needs (nothing saved), the listing, and the steps page with each step's figures and the
links to its campaigns' reports."""

import datetime

import pytest
from django.urls import reverse
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from wagtail_newsletter.growth.automations import clock
from wagtail_newsletter.growth.automations.enrol import start_automation
from wagtail_newsletter.growth.automations.models import Automation, AutomationStep
from wagtail_newsletter.growth.automations.tick import tick

from .automation_fixtures import T0, make_series, people
from .compose_editor_fixtures import make_newsletter

pytestmark = pytest.mark.django_db

ADD_URL = "wagtailsnippets_wagtail_newsletter_automation:add"


def _step(kind, **values):
    fields = {"kind": kind, "wait_amount": "1", "wait_unit": "days", "weekday": "", "hour": "", "page": "",
              "group": "", "condition": "", "segment": "", "otherwise_go_to": ""}  # fmt: skip
    fields.update({key: str(value) for key, value in values.items()})
    return fields


def _post(client, steps, **fields):
    data = {"name": "Welcome", "active": "on", "trigger": "api", "form": "", "group": "", "link_text": "",
            "date_field": "", "local_hour": "9", "segment": "", "steps": inline_formset(steps), **fields}  # fmt: skip
    return client.post(reverse(ADD_URL), nested_form_data(data))


def test_an_editor_builds_a_welcome_series(admin_client, archive):
    one, two = make_newsletter(archive, slug="one"), make_newsletter(archive, slug="two", title="Two")
    response = _post(
        admin_client,
        [_step("send", page=one.pk), _step("wait", wait_amount=2), _step("send", page=two.pk)],
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    automation = Automation.objects.get(name="Welcome")
    steps = list(automation.steps.order_by("sort_order").values_list("kind", "page_id", "wait_amount"))
    assert [(kind, page) for kind, page, _wait in steps] == [("send", one.pk), ("wait", None), ("send", two.pk)]
    assert steps[1][2] == 2


def test_a_send_step_without_newsletter_is_refused_and_nothing_is_saved(admin_client, archive):
    response = _post(admin_client, [_step("send")])
    assert response.status_code == 200
    assert "Choose the newsletter to send." in response.content.decode()
    assert not Automation.objects.exists() and not AutomationStep.objects.exists()


def test_a_trigger_without_what_it_needs_is_refused(admin_client, archive):
    response = _post(admin_client, [_step("stop")], trigger="joined_group")
    assert response.status_code == 200
    assert "Choose the group." in response.content.decode()
    assert not Automation.objects.exists()


def test_the_steps_page_shows_each_step_s_figures_and_report_links(admin_client, archive):
    series = make_series(archive)
    ann, bob, cid = people(3)
    start_automation(series, [ann, bob, cid], now=T0)
    tick(now=T0)
    from wagtail_newsletter.audience.models import Status, Subscriber

    Subscriber.objects.filter(pk=cid.pk).update(status=Status.UNSUBSCRIBED)
    tick(now=T0)
    listing = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_automation:list"))
    assert listing.status_code == 200 and "Welcome series" in listing.content.decode()
    with clock.travel(T0 + datetime.timedelta(hours=1)):  # during the two days' wait of step 2
        page = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_automation:steps", args=[series.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    rows = html.split('data-step="')[1:]
    assert len(rows) == 5

    def figure(row, name):
        return row.split(f'data-figure="{name}">')[1].split("<")[0]

    assert [figure(rows[0], name) for name in ("waiting", "passed", "left")] == ["0", "3", "0"]
    # Ann and Bob wait at the wait step (not at the send step after it); Cid left during the wait.
    assert [figure(rows[1], name) for name in ("waiting", "passed", "left")] == ["2", "0", "1"]
    assert [figure(rows[2], name) for name in ("waiting", "passed", "left")] == ["0", "0", "0"]
    campaign_id = series.steps.get(sort_order=0).campaigns.get().campaign_id
    assert f"/newsletter/campaigns/{campaign_id}/report/" in rows[0]
    assert "No mail sent yet" in rows[2]
    assert " ".join(rows[1].split("</td>")[0].split()).endswith("2. Wait 2 days")


@pytest.mark.parametrize(
    "amount, unit, text",
    [(1, "hours", "Wait 1 hour"), (3, "hours", "Wait 3 hours"), (1, "days", "Wait 1 day"), (2, "days", "Wait 2 days")],
)
def test_a_wait_step_is_described_with_the_plural_form_of_its_amount(admin_client, archive, amount, unit, text):
    series = make_series(archive)
    AutomationStep.objects.filter(automation=series, sort_order=1).update(wait_amount=amount, wait_unit=unit)
    step = series.steps.get(sort_order=1)
    assert str(step) == f"2. {text}"
    page = admin_client.get(reverse("wagtailsnippets_wagtail_newsletter_automation:steps", args=[series.pk]))
    cell = page.content.decode().split('data-step="2">')[1].split("</td>")[0]
    assert " ".join(cell.split()) == f"<td> 2. {text}"


def test_the_steps_page_needs_permission(client, django_user_model, archive):
    series = make_series(archive)
    user = django_user_model.objects.create_user("nobody", password="pw")
    client.force_login(user)
    response = client.get(reverse("wagtailsnippets_wagtail_newsletter_automation:steps", args=[series.pk]))
    assert response.status_code in (302, 403)


def test_the_left_column_is_not_the_layout_s_left(admin_user, client, archive):
    """The word "Left" (people who left) has its own context: the layout's "Left" (a side) is "Gauche" in French."""
    from django.utils import translation
    from wagtail.users.models import UserProfile

    from wagtail_newsletter.growth.automations.models import EnrolmentStatus

    series = make_series(archive)
    profile = UserProfile.get_for_user(admin_user)
    profile.preferred_language = "fr"
    profile.save()
    client.force_login(admin_user)
    page = client.get(reverse("wagtailsnippets_wagtail_newsletter_automation:steps", args=[series.pk]))
    html = page.content.decode()
    assert 'lang="fr"' in html
    assert "Gauche" not in html
    with translation.override("fr"):
        assert translation.gettext("Left") == "Gauche"  # the layout's, still there
        assert str(EnrolmentStatus.LEFT.label) != "Gauche"


def test_otherwise_go_to_a_step_that_does_not_exist_is_refused_and_nothing_is_saved(admin_client, archive):
    one = make_newsletter(archive, slug="one")
    steps = [_step("send", page=one.pk), _step("branch", condition="opened_previous", otherwise_go_to=4), _step("stop")]
    response = _post(admin_client, steps)
    assert response.status_code == 200
    assert "There are 3 steps: give a step number from 1 to 3, or leave it empty." in response.content.decode()
    assert not Automation.objects.exists() and not AutomationStep.objects.exists()
    steps[1]["otherwise_go_to"] = "3"
    assert _post(admin_client, steps).status_code == 302
    assert AutomationStep.objects.get(kind="branch").otherwise_go_to == 3


def test_the_step_form_brings_the_script_showing_each_kind_s_fields(admin_client, archive):
    response = admin_client.get(reverse(ADD_URL))
    html = response.content.decode()
    assert "wagtail_newsletter/js/automation_steps.js" in html
    assert "data-automation-step-kind=" in html and "&quot;wait&quot;: [&quot;wait_amount&quot;" in html
