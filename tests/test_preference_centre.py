"""The preference centre: the footer's signed link, the page (GET shows, POST with CSRF changes), topics limited to
public groups, editable fields only, pauses the planner skips until they end, unsubscribing with a reason, the log
and the report's counts."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience import preferences
from wagtail_newsletter.audience.models import Field, Group, Membership, Source, Status, StatusEvent, Subscriber
from wagtail_newsletter.audience.preference_log import PreferenceChange, PreferenceChangeKind
from wagtail_newsletter.compose.compiled import compile_page
from wagtail_newsletter.compose.personalise import personalise
from wagtail_newsletter.growth import preference_centre
from wagtail_newsletter.growth.preference_report import preference_changes, summarise
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.links import CampaignLinks, preferences_preview_url
from wagtail_newsletter.send.models import Campaign, Delivery
from wagtail_newsletter.send.planner import plan_deliveries
from wagtail_newsletter.send.test_web_version import render_as_tested
from wagtail_newsletter.tokens import LinkSigner
from wagtail_newsletter.track.models import Event, EventKind

from .compose_editor_fixtures import make_newsletter

pytestmark = pytest.mark.django_db
BASE = "https://news.example.org"


@pytest.fixture
def audience(db):
    """Two public topics (one with a description), a private group, an editable and a private custom field."""
    sport = Group.objects.create(name="Sport", public=True, description="Matches and results, every Monday.")
    culture = Group.objects.create(name="Culture", public=True)
    vip = Group.objects.create(name="VIP list")
    city = Field.objects.create(key="city", label="City", editable_by_subscriber=True)
    size = Field.objects.create(key="shoe_size", label="Shoe size", type=Field.Type.NUMBER, editable_by_subscriber=True)
    Field.objects.create(key="score", label="Internal score", type=Field.Type.NUMBER)
    return {"sport": sport, "culture": culture, "vip": vip, "city": city, "size": size}


def make_reader(email="jane.doe@example.org", groups=(), **fields):
    fields.setdefault("status", Status.SUBSCRIBED)
    fields.setdefault("data", {"city": "Lyon", "score": 7})
    subscriber = Subscriber.objects.create(email=email, **fields)
    Membership.objects.bulk_create([Membership(subscriber=subscriber, group=group) for group in groups])
    return subscriber


def delivery_to(subscriber, campaign=None):
    campaign = campaign or Campaign.objects.create(name="Spring", subject="Spring", status="sent")
    return Delivery.objects.create(campaign=campaign, subscriber=subscriber, status=2)


def page_url(delivery, day=None):
    token = LinkSigner("preferences").sign(delivery.pk, preference_centre.today() if day is None else day)
    return reverse("wagtail_newsletter:preferences", args=[token])


def snapshot(subscriber_id):
    """Everything the page could change about a subscriber."""
    subscriber = Subscriber.all_objects.get(pk=subscriber_id)
    groups = sorted(Membership.objects.filter(subscriber_id=subscriber_id).values_list("group__name", flat=True))
    return (subscriber.status, subscriber.language, subscriber.data, subscriber.paused_until, groups)


def nothing_logged():
    return not PreferenceChange.objects.exists() and not Event.objects.exists()


# The link in every mail


def test_every_mail_links_to_its_own_preference_page_without_a_query(archive, django_assert_num_queries):
    compiled = compile_page(make_newsletter(archive))
    assert "preferences_url" in compiled.variables  # the footer block links to it
    campaign = Campaign.objects.create(name="Spring", subject="Spring", status="sending")
    links = CampaignLinks(BASE, tracking=True, campaign_id=campaign.pk)
    reader = {"email": "ann@example.org", "first_name": "Ann"}
    with django_assert_num_queries(0):  # invariant 1: per recipient, tokens and string joins only
        mails = [personalise(compiled, reader, links.for_delivery(pk)) for pk in (41, 42)]
    urls = [re.search(r'href="(https://news\.example\.org/newsletter/p/[^"]+)"', mail.html).group(1) for mail in mails]
    assert urls[0] != urls[1]
    assert all(url in mail.text for url, mail in zip(urls, mails, strict=True))
    for delivery_id, url in zip((41, 42), urls, strict=True):
        delivery_read, day = LinkSigner("preferences").read(url.rstrip("/").rsplit("/", 1)[1])
        assert (delivery_read, day) == (delivery_id, preference_centre.today())


def test_a_test_mail_links_to_a_preview_that_saves_nothing(archive, client, audience):
    newsletter = make_newsletter(archive)
    mail = render_as_tested(newsletter.get_latest_revision())
    preview = preferences_preview_url(compiled_base := compile_page(newsletter).base_url)
    assert preview.startswith(compiled_base) and f'href="{preview}"' in mail.html
    path = reverse("wagtail_newsletter:preferences", args=["preview"])
    response = client.get(path)
    assert response.status_code == 200
    assert "This is a preview from a test email" in response.content.decode()
    assert "Sport" in response.content.decode() and "VIP list" not in response.content.decode()
    response = client.post(path, {"action": "pause", "months": "3"})
    assert response.status_code == 200 and "nothing was saved" in response.content.decode()
    assert nothing_logged()


def test_the_web_version_links_to_the_same_preference_page(client, archive, audience):
    reader = make_reader()
    compiled = compile_page(make_newsletter(archive))
    campaign = Campaign.objects.create(name="Spring", subject="Spring", status="sent", compiled=compiled.to_dict())
    delivery = delivery_to(reader, campaign)
    web = client.get(reverse("wagtail_newsletter:web_version", args=[LinkSigner("web").sign(delivery.pk)]))
    link = re.search(r'href="[^"]*(/newsletter/p/[^"]+)"', web.content.decode()).group(1)
    assert LinkSigner("preferences").read(link.rstrip("/").rsplit("/", 1)[1])[0] == delivery.pk
    assert "j•••e@e•••.org" in client.get(link).content.decode()


def test_the_unsubscribe_page_offers_a_pause_instead(client, audience):
    reader = make_reader()
    delivery = delivery_to(reader)
    page = client.get(reverse("wagtail_newsletter:unsubscribe", args=[LinkSigner("unsubscribe").sign(delivery.pk)]))
    link = re.search(r'href="(/newsletter/p/[^"]+)"', page.content.decode()).group(1)
    assert "Pause my newsletters" in client.get(link).content.decode()
    assert nothing_logged()


# The page: GET shows, and changes nothing


def test_get_shows_public_topics_language_and_editable_fields_and_changes_nothing(client, audience):
    reader = make_reader(groups=[audience["sport"], audience["vip"]])
    before = snapshot(reader.pk)
    response = client.get(page_url(delivery_to(reader)))
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex"
    assert response["Referrer-Policy"] == "same-origin"  # not "no-referrer": the forms' Origin would be "null"
    assert "j•••e@e•••.org" in html and "jane.doe@example.org" not in html
    assert "Sport" in html and "Matches and results, every Monday." in html and "Culture" in html
    assert "VIP list" not in html  # private groups are the editors' business
    assert 'name="field_city"' in html and 'value="Lyon"' in html and 'name="field_shoe_size"' in html
    assert "Internal score" not in html and 'name="field_score"' not in html
    assert re.search(rf'<input[^>]*value="{audience["sport"].pk}"[^>]*checked', html)
    assert "Français" in html  # the site's languages
    assert 'name="csrfmiddlewaretoken"' in html and "<script" not in html  # works without JavaScript
    client.head(page_url(delivery_to(reader)))
    client.get(page_url(delivery_to(reader)) + "?done=paused&action=unsubscribe")
    assert snapshot(reader.pk) == before and nothing_logged()


@pytest.mark.parametrize("kind", ["forged", "altered", "other purpose", "other subscriber", "expired", "no date"])
def test_a_bad_link_gets_a_clear_404_page_and_changes_nothing(client, audience, kind):
    reader = make_reader(groups=[audience["sport"]])
    other = make_reader("other@example.org")
    delivery, others = delivery_to(reader), delivery_to(other)
    token = LinkSigner("preferences").sign(delivery.pk, preference_centre.today())
    tokens = {
        "forged": "1." + "0" * 24,
        "altered": token[:-1] + ("0" if token[-1] != "0" else "1"),
        "other purpose": LinkSigner("unsubscribe").sign(delivery.pk, preference_centre.today()),
        # The other subscriber's delivery id with this token's signature.
        "other subscriber": token.replace(token.split(".")[0], LinkSigner("preferences").sign(others.pk)[:-25], 1),
        "expired": LinkSigner("preferences").sign(delivery.pk, preference_centre.today() - 366),
        "no date": LinkSigner("preferences").sign(delivery.pk),
    }
    url = reverse("wagtail_newsletter:preferences", args=[tokens[kind]])
    before = snapshot(reader.pk), snapshot(other.pk)
    response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    expected = "This link has expired" if kind == "expired" else "This link does not work"
    assert expected in html and "jane" not in html and "other@" not in html
    for data in ({"action": "unsubscribe", "reason": "spam"}, {"action": "pause", "months": "1"}):
        assert client.post(url, data).status_code == 404
    assert (snapshot(reader.pk), snapshot(other.pk)) == before and nothing_logged()


def test_a_link_of_a_subscriber_erased_since_shows_nothing(client, audience):
    reader = make_reader()
    delivery = delivery_to(reader)
    Subscriber.all_objects.filter(pk=reader.pk).update(erase_after=timezone.now())
    assert client.get(page_url(delivery)).status_code == 404


def test_a_post_without_the_csrf_token_is_refused(audience):
    reader = make_reader(groups=[audience["sport"]])
    before = snapshot(reader.pk)
    strict = Client(enforce_csrf_checks=True)
    url = page_url(delivery_to(reader))
    assert strict.get(url).status_code == 200
    for data in (
        {"action": "save", "topics": [audience["culture"].pk], "language": "fr"},
        {"action": "pause", "months": "6"},
        {"action": "unsubscribe", "reason": "too_many"},
    ):
        assert strict.post(url, data).status_code == 403
    assert snapshot(reader.pk) == before and nothing_logged()


# Changes


def test_topics_language_and_fields_change_and_are_logged(client, audience):
    reader = make_reader(groups=[audience["sport"], audience["vip"]])
    delivery = delivery_to(reader)
    url = page_url(delivery)
    data = {"action": "save", "topics": [audience["culture"].pk], "language": "fr", "field_city": "Paris"}
    response = client.post(url, {**data, "field_shoe_size": "42", "field_score": "99", "score": "99"})
    assert response.status_code == 303 and response["Location"].endswith("?done=saved")
    # The page now speaks the language just chosen.
    assert "Vos préférences sont enregistrées." in client.get(response["Location"]).content.decode()
    status, language, fields, paused, groups = snapshot(reader.pk)
    assert groups == ["Culture", "VIP list"]  # the private group stays
    assert language == "fr"
    assert fields == {"city": "Paris", "shoe_size": 42, "score": 7}  # the score is not the subscriber's to edit
    log = {change.kind: change for change in PreferenceChange.objects.all()}
    assert log.keys() == {"topics", "language", "fields"}
    assert log["topics"].data == {"added": ["Culture"], "removed": ["Sport"]}
    assert log["language"].data == {"from": "", "to": "fr"}
    assert log["fields"].data == {"fields": {"city": ["Lyon", "Paris"], "shoe_size": [None, 42]}}
    assert {change.campaign_id for change in log.values()} == {delivery.campaign_id}
    assert {change.subscriber_id for change in log.values()} == {reader.pk}
    # The same choices again change and log nothing.
    response = client.post(url, {**data, "field_shoe_size": "42"})
    assert response["Location"].endswith("?done=unchanged") and PreferenceChange.objects.count() == 3


def test_a_crafted_post_naming_a_private_group_changes_nothing(client, audience):
    reader = make_reader(groups=[audience["sport"]])
    before = snapshot(reader.pk)
    response = client.post(page_url(delivery_to(reader)), {"action": "save", "topics": [audience["vip"].pk]})
    assert response.status_code == 400
    assert "is not one of the available choices" in response.content.decode()
    assert snapshot(reader.pk) == before and nothing_logged()
    # The service alone ignores it too.
    assert preferences.set_topics(reader, [audience["vip"].pk]) is True  # Sport left, VIP not joined
    assert snapshot(reader.pk)[4] == []


@pytest.mark.parametrize(
    "data",
    [{"field_shoe_size": "big"}, {"language": "xx"}, {"field_city": "a\nb"}, {"field_city": "x" * 300}],
    ids=["not a number", "unknown language", "line break", "too long"],
)
def test_invalid_values_are_refused_with_a_message_and_change_nothing(client, audience, data):
    reader = make_reader(groups=[audience["sport"]])
    before = snapshot(reader.pk)
    post = {"action": "save", "topics": [audience["sport"].pk, audience["culture"].pk], "field_city": "Nice", **data}
    response = client.post(page_url(delivery_to(reader)), post)
    assert response.status_code == 400 and 'class="wn-error"' in response.content.decode()
    assert snapshot(reader.pk) == before and nothing_logged()


def test_an_unknown_action_is_a_bad_request(client, audience):
    reader = make_reader()
    assert client.post(page_url(delivery_to(reader)), {"action": "delete"}).status_code == 400
    assert nothing_logged()


# Pauses


def test_a_pause_is_skipped_by_the_planner_then_included_after_its_date(client, archive, audience):
    paused, other = make_reader(groups=[audience["sport"]]), make_reader("other@example.org", [audience["sport"]])
    response = client.post(page_url(delivery_to(paused)), {"action": "pause", "months": "3"})
    assert response.status_code == 303
    assert "paused until" in client.get(response["Location"]).content.decode()
    until = Subscriber.objects.get(pk=paused.pk).paused_until
    assert 88 <= (until - timezone.now()).days <= 92
    assert Subscriber.objects.get(pk=paused.pk).status == Status.SUBSCRIBED  # still subscribed

    newsletter = make_newsletter(archive)
    campaign = campaigns.create_campaign(newsletter)
    campaigns.set_audience(campaign, False, [audience["sport"].pk])
    assert campaigns.count_recipients_of(campaign) == 1
    assert plan_deliveries(campaign) == 1
    assert list(Delivery.objects.filter(campaign=campaign).values_list("subscriber_id", flat=True)) == [other.pk]

    # The pause ends by itself: a date in the past is compared with the time of planning.
    Subscriber.objects.filter(pk=paused.pk).update(paused_until=timezone.now() - datetime.timedelta(minutes=1))
    later = campaigns.create_campaign(newsletter)
    campaigns.set_audience(later, True)
    assert plan_deliveries(later) == 2
    change = PreferenceChange.objects.get()
    assert change.kind == PreferenceChangeKind.PAUSE and change.data["months"] == 3


def test_only_the_offered_pauses_are_accepted(client, audience):
    reader = make_reader()
    before = snapshot(reader.pk)
    for months in ("2", "12", "-1", "x", ""):
        assert client.post(page_url(delivery_to(reader)), {"action": "pause", "months": months}).status_code == 400
    assert snapshot(reader.pk) == before and nothing_logged()


def test_a_pause_ends_early_on_request(client, audience):
    reader = make_reader()
    url = page_url(delivery_to(reader))
    client.post(url, {"action": "pause", "months": "1"})
    assert "Receive them again now" in client.get(url).content.decode()
    response = client.post(url, {"action": "resume"})
    assert response["Location"].endswith("?done=resumed")
    assert Subscriber.objects.get(pk=reader.pk).paused_until is None
    assert list(PreferenceChange.objects.order_by("id").values_list("kind", flat=True)) == ["pause", "resume"]
    client.post(url, {"action": "resume"})  # not paused any more: nothing to log
    assert PreferenceChange.objects.count() == 2


def test_months_are_calendar_months():
    jan31 = datetime.datetime(2027, 1, 31, 12, tzinfo=datetime.UTC)
    assert preferences.add_months(jan31, 1) == datetime.datetime(2027, 2, 28, 12, tzinfo=datetime.UTC)
    assert preferences.add_months(jan31, 6) == datetime.datetime(2027, 7, 31, 12, tzinfo=datetime.UTC)
    assert preferences.add_months(datetime.datetime(2027, 9, 30, tzinfo=datetime.UTC), 6).date() == datetime.date(
        2028, 3, 30
    )


# Unsubscribing with a reason, and the report


def test_unsubscribing_with_a_reason_is_recorded_once(client, audience):
    reader = make_reader()
    delivery = delivery_to(reader)
    url = page_url(delivery)
    data = {"action": "unsubscribe", "reason": "too_many", "reason_text": "Too often,\nsorry\x07!"}
    response = client.post(url, data)
    assert response.status_code == 303
    assert "You are unsubscribed" in client.get(response["Location"]).content.decode()
    assert Subscriber.objects.get(pk=reader.pk).status == Status.UNSUBSCRIBED
    history = StatusEvent.objects.get(subscriber=reader)
    assert history.source == Source.UNSUBSCRIBE_LINK and history.note.startswith("preference page, campaign #")
    event = Event.objects.get()
    assert (event.kind, event.delivery_id, event.detail) == (EventKind.UNSUBSCRIBE, delivery.pk, "preference page")
    change = PreferenceChange.objects.get()
    assert (change.kind, change.reason, change.reason_text) == ("unsubscribe", "too_many", "Too often, sorry !")
    client.post(url, data)  # again: already unsubscribed, nothing more
    assert (StatusEvent.objects.count(), Event.objects.count(), PreferenceChange.objects.count()) == (1, 1, 1)


def test_an_unknown_reason_is_refused(client, audience):
    reader = make_reader()
    response = client.post(page_url(delivery_to(reader)), {"action": "unsubscribe", "reason": "hate"})
    assert response.status_code == 400
    assert Subscriber.objects.get(pk=reader.pk).status == Status.SUBSCRIBED and nothing_logged()


def test_the_report_counts_pauses_instead_of_leaving_and_reasons(client, audience):
    campaign = Campaign.objects.create(name="Spring", subject="Spring", status="sent")
    readers = [make_reader(f"reader{n}@example.org") for n in range(9)]
    urls = [page_url(delivery_to(reader, campaign)) for reader in readers]
    for url in urls[:4]:  # four pause
        client.post(url, {"action": "pause", "months": "1"})
    client.post(urls[3], {"action": "unsubscribe", "reason": "not_relevant"})  # …one of them leaves after all
    for url, reason in zip(urls[4:], ["too_many", "too_many", "spam", "", "other"], strict=True):
        client.post(url, {"action": "unsubscribe", "reason": reason, "reason_text": "Bye" if reason == "other" else ""})
    other_campaign = Campaign.objects.create(name="Summer", subject="Summer", status="sent")
    client.post(
        page_url(delivery_to(make_reader("late@example.org"), other_campaign)), {"action": "pause", "months": "6"}
    )

    summary = summarise(preference_changes(campaign_id=campaign.pk))
    assert summary.paused_people == 3  # "3 paused instead of unsubscribing"
    assert summary.unsubscribed == 6
    assert summary.changes == {"pause": 4, "unsubscribe": 6}
    assert summary.reasons == [  # most given first, then by reason
        ("I get too many emails", 2),
        ("No reason given", 1),
        ("The content is not relevant to me", 1),
        ("Another reason", 1),
        ("The emails look like spam", 1),
    ]
    assert summary.reason_texts == ["Bye"]
    assert summarise(preference_changes()).paused_people == 4


def test_erasing_a_forgotten_subscriber_keeps_the_counts_not_their_words(client, audience):
    from wagtail_newsletter.audience import services

    reader = make_reader()
    url = page_url(delivery_to(reader))
    client.post(url, {"action": "save", "topics": [], "language": "", "field_city": "Paris"})
    client.post(url, {"action": "unsubscribe", "reason": "other", "reason_text": "I moved to Paris"})
    services.forget_subscribers([reader.pk])
    Subscriber.all_objects.filter(pk=reader.pk).update(erase_after=timezone.now())
    assert services.erase_forgotten() == 1
    rows = list(
        PreferenceChange.objects.order_by("id").values_list("subscriber_id", "kind", "reason", "reason_text", "data")
    )
    assert rows == [(None, "fields", "", "", {}), (None, "unsubscribe", "other", "", {})]
    assert summarise(preference_changes()).reasons == [("Another reason", 1)]


def test_the_page_reads_the_same_number_of_queries_whatever_the_topics_and_fields(client, audience):
    reader = make_reader(groups=[audience["sport"]])
    url = page_url(delivery_to(reader))
    client.get(url)  # warm caches (content types, site)

    def queries():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = queries()
    for n in range(15):
        Group.objects.create(name=f"Topic {n}", public=True, description=f"About {n}")
        Field.objects.create(key=f"extra_{n}", label=f"Extra {n}", editable_by_subscriber=True)
    assert queries() == before


def test_the_page_wears_the_sites_base_template(client, audience, settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "BASE_TEMPLATE": "base.html"}  # the example site's
    html = client.get(page_url(delivery_to(make_reader()))).content.decode()
    assert 'class="site-header"' in html and "Your newsletter preferences" in html
