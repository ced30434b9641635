"""Click redirects (only to the campaign's link table) and the personalised web version of a sent message."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.audience import services
from wagtail_newsletter.audience.models import Status, StatusEvent, Subscriber
from wagtail_newsletter.send.links import campaign_compiled, forget_compiled
from wagtail_newsletter.send.models import Campaign, Delivery
from wagtail_newsletter.tokens import LinkSigner
from wagtail_newsletter.track.models import Agent, Event, EventKind

from .test_track_unsubscribe import BASE, altered, assert_no_cookie, make_campaign, make_delivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_link_tables():
    # The click redirect caches link tables by campaign id; test databases reuse ids.
    forget_compiled()
    yield
    forget_compiled()


def click_token(delivery, index):
    return LinkSigner("click").sign(delivery.pk, index, delivery.campaign_id)


def click_url(delivery, index, slash=False):
    return reverse("wagtail_newsletter:click", args=[click_token(delivery, index)]) + ("/" if slash else "")


def web_url(delivery_or_token):
    value = delivery_or_token if isinstance(delivery_or_token, str) else LinkSigner("web").sign(delivery_or_token.pk)
    return reverse("wagtail_newsletter:web_version", args=[value])


@pytest.fixture
def delivery():
    return make_delivery(first_name="Jane")


def table(delivery):
    return {link.index: link.final_url for link in campaign_compiled(delivery.campaign).links}


# --- click redirect ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("slash", [False, True])
def test_click_redirects_to_the_link_table_url(delivery, slash):
    urls = table(delivery)
    article = next(index for index, url in urls.items() if url.startswith("https://example.org/article"))
    response = Client().get(click_url(delivery, article, slash=slash))
    assert response.status_code == 302
    assert response["Location"] == urls[article]
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    assert_no_cookie(response)


def test_relative_links_were_made_absolute_and_are_followed(delivery):
    urls = table(delivery)
    events = next(index for index, url in urls.items() if "/events/" in url)
    assert Client().get(click_url(delivery, events))["Location"].startswith(BASE + "/events/")


def test_the_request_never_chooses_the_destination(delivery):
    index = next(iter(table(delivery)))
    response = Client().get(click_url(delivery, index) + "?url=https://evil.example&next=https://evil.example")
    assert response["Location"] == table(delivery)[index]


def test_index_out_of_range_forged_or_other_purpose_tokens_get_404(delivery):
    out_of_range = len(table(delivery))
    campaign = delivery.campaign_id
    good = click_token(delivery, 0)
    client = Client()
    for bad in [
        LinkSigner("click").sign(delivery.pk, out_of_range, campaign),
        LinkSigner("click").sign(delivery.pk, 10**6, campaign),
        altered(good),
        good.replace(".0.", ".1.", 1),  # another link, same signature
        LinkSigner("click").sign(delivery.pk, campaign),  # no link index
        LinkSigner("click").sign(delivery.pk, 0),  # no campaign
        LinkSigner("unsubscribe").sign(delivery.pk),
        LinkSigner("web").sign(delivery.pk),
        LinkSigner("open").sign(delivery.pk, 0, campaign),
        LinkSigner("click").sign(delivery.pk + 1000, 0, campaign),  # no such delivery
    ]:
        response = client.get(reverse("wagtail_newsletter:click", args=[bad]))
        assert response.status_code == 404, bad
        assert "Location" not in response.headers
    assert not Event.objects.exists()


def test_only_web_urls_of_the_table_are_redirect_targets():
    # compose keeps mailto: and the like out of the link table; should another scheme get in, it is still refused.
    campaign = make_campaign()
    campaign.compiled["links"][0][2] = "javascript:alert(1)"
    campaign.save()
    delivery = make_delivery(campaign=campaign)
    assert Client().get(click_url(delivery, 0)).status_code == 404
    assert Client().get(click_url(delivery, 1)).status_code == 302


def test_click_records_one_event_and_head_is_recorded_as_a_head_request(delivery):
    assert Client().get(click_url(delivery, 1)).status_code == 302
    assert Client().head(click_url(delivery, 0)).status_code == 302
    assert list(Event.objects.order_by("id").values_list("kind", "delivery_id", "campaign_id", "link", "agent")) == [
        (EventKind.CLICK, delivery.pk, delivery.campaign_id, 1, Agent.UNKNOWN),  # the test client sends no UA
        (EventKind.CLICK, delivery.pk, delivery.campaign_id, 0, Agent.HEAD),
    ]


def test_click_on_an_unsubscribed_or_erased_subscribers_link_still_redirects(delivery):
    services.unsubscribe([delivery.subscriber_id])
    assert Client().get(click_url(delivery, 0)).status_code == 302
    services.forget_subscribers([delivery.subscriber_id])
    services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=365))
    assert Client().get(click_url(delivery, 0)).status_code == 302


def test_click_allows_get_and_head_only(delivery):
    assert Client().post(click_url(delivery, 0)).status_code == 405


# --- web version ----------------------------------------------------------------------------------------------------


def test_web_version_is_personalised_with_the_deliverys_own_links_and_has_no_pixel(delivery):
    response = Client().get(web_url(delivery))
    html = response.content.decode()
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    assert "Hello Jane" in html
    unsubscribe = reverse("wagtail_newsletter:unsubscribe", args=[LinkSigner("unsubscribe").sign(delivery.pk)])
    assert f'href="{BASE}{unsubscribe}"' in html
    assert f'href="{BASE}{web_url(delivery)}"' in html
    # Tracked web links go through the click redirect of this delivery; mailto stays as it is.
    assert f'href="{BASE}{click_url(delivery, 0)}"' in html
    assert 'href="mailto:editor@example.org"' in html
    assert "/newsletter/o/" not in html and 'width="1" height="1"' not in html  # reading it online is not an open
    assert response["X-Robots-Tag"] == "noindex" and response["Referrer-Policy"] == "no-referrer"
    assert "script-src 'none'" in response["Content-Security-Policy"]
    assert_no_cookie(response)


def test_web_version_without_tracking_links_to_final_urls():
    delivery = make_delivery(campaign=make_campaign(tracking=False), first_name="Jane")
    html = Client().get(web_url(delivery)).content.decode()
    assert 'href="https://example.org/article' in html and "/newsletter/c/" not in html


def test_web_version_escapes_the_subscribers_values():
    delivery = make_delivery(first_name="<script>alert(1)</script>", last_name='"&')
    html = Client().get(web_url(delivery)).content.decode()
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html


def test_web_version_of_an_erased_subscriber_shows_the_defaults(delivery):
    services.forget_subscribers([delivery.subscriber_id])
    response = Client().get(web_url(delivery))
    assert "Hello reader" in response.content.decode() and "Jane" not in response.content.decode()
    services.erase_forgotten(now=timezone.now() + datetime.timedelta(days=365))
    assert not Subscriber.all_objects.exists()
    response = Client().get(web_url(delivery))
    assert response.status_code == 200 and "Hello reader" in response.content.decode()


def test_web_version_never_changes_anything(delivery):
    Client().get(web_url(delivery))
    Client().head(web_url(delivery))
    assert Subscriber.objects.get().status == Status.SUBSCRIBED and not StatusEvent.objects.exists()


def test_web_version_bad_tokens_get_404(delivery):
    good = LinkSigner("web").sign(delivery.pk)
    for bad in [
        altered(good),
        LinkSigner("unsubscribe").sign(delivery.pk),
        click_token(delivery, 0),
        LinkSigner("web").sign(delivery.pk, 0),
        LinkSigner("web").sign(delivery.pk + 1000),
    ]:
        response = Client().get(web_url(bad))
        assert response.status_code == 404, bad
        assert "Hello" not in response.content.decode()


def test_web_version_of_a_campaign_without_compiled_content_is_404():
    campaign = Campaign.objects.create(name="Empty")
    subscriber = Subscriber.objects.create(email="a@example.org", status=Status.SUBSCRIBED)
    delivery = Delivery.objects.create(campaign=campaign, subscriber=subscriber)
    assert Client().get(web_url(delivery)).status_code == 404
    assert Client().get(click_url(delivery, 0)).status_code == 404


def test_web_version_needs_no_database_query_per_link(delivery, django_assert_max_num_queries):
    # Reading the token and the delivery (with campaign and subscriber joined) is the whole cost.
    campaign_compiled(delivery.campaign)
    with django_assert_max_num_queries(2):
        assert re.search(r"Hello Jane", Client().get(web_url(delivery)).content.decode())
