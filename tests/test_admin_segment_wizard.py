"""Segments in the send wizard: chosen beside groups or left out, counted live, stored on the draft, shown in the
summary, and planned at start."""

import pytest

from wagtail_newsletter.growth.segments import Segment, segment_ids
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, Delivery

from .campaign_admin_fixtures import (  # noqa: F401 (fixtures)
    audience_fixture,
    campaigns_url,
    sender_client_fixture,
    sender_fixture,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def segments(audience):
    """ "net" people whose address starts with a or c (ann, cid, and eve who is unsubscribed); "bob" alone."""
    starts = {"or": [{"field": "email", "op": "starts_with", "value": "a"},
                     {"field": "email", "op": "starts_with", "value": "c"}]}  # fmt: skip
    return {
        "ac": Segment.objects.create(name="A or C", conditions=starts),
        "bob": Segment.objects.create(
            name="Bob", conditions={"field": "email", "op": "is", "value": "bob@example.net"}
        ),
    }


def test_live_count_with_segments(sender_client, audience, segments):
    ac, bob = segments["ac"].pk, segments["bob"].pk
    friends = audience["friends"].pk
    for query, expected in [
        (f"audience=groups&include_segments={ac}", 2),  # eve is unsubscribed
        (f"audience=groups&include_segments={ac}&include_groups={friends}", 3),  # cid counted once
        (f"audience=all&exclude_segments={ac}", 2),
        (f"audience=all&exclude_segments={ac}&exclude_segments={bob}", 1),
        (f"audience=all&include_segments={bob}", 4),  # everyone already
    ]:
        response = sender_client.get(campaigns_url("count") + "?" + query)
        assert response.json() == {"count": expected}, query
    assert sender_client.get(campaigns_url("count") + "?audience=all&include_segments=999").status_code == 400


def test_step_one_stores_segments_and_the_start_plans_them(sender_client, newsletter, audience, segments):
    data = {"name": "To A or C", "audience": "groups", "include_segments": [segments["ac"].pk],
            "exclude_segments": [segments["bob"].pk]}  # fmt: skip
    response = sender_client.post(campaigns_url("send_new", newsletter.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert segment_ids(campaign) == ([segments["ac"].pk], [segments["bob"].pk])
    assert not campaign.all_subscribers and not campaign.include_groups.exists()
    assert campaigns.count_recipients_of(campaign) == 2
    page = sender_client.get(campaigns_url("send_recipients", campaign.pk)).content.decode()
    assert f'value="{segments["ac"].pk}"' in page and "checked" in page
    campaigns.start(campaign, campaigns.compile_campaign(campaign))
    assert set(Delivery.objects.filter(campaign=campaign).values_list("subscriber__email", flat=True)) == {
        "ann@example.net",
        "cid@example.net",
    }


def test_step_one_refuses_a_segment_both_chosen_and_excepted(sender_client, newsletter, audience, segments):
    ac = segments["ac"].pk
    data = {"name": "Odd", "audience": "groups", "include_segments": [ac], "exclude_segments": [ac]}
    response = sender_client.post(campaigns_url("send_new", newsletter.pk), data)
    assert "A segment can&#x27;t be both chosen and excepted." in response.content.decode()
    assert not Campaign.objects.exists()


def test_step_one_refuses_an_unknown_segment(sender_client, newsletter, audience, segments):
    data = {"name": "Odd", "audience": "groups", "include_segments": [999999]}
    response = sender_client.post(campaigns_url("send_new", newsletter.pk), data)
    assert response.status_code == 200 and not Campaign.objects.exists()
