"""Campaigns sent to segments: included beside groups, or left out; planned in one INSERT … SELECT."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wagtail_newsletter.audience.models import Field, Group, Membership, Subscriber
from wagtail_newsletter.growth.segments import Segment, set_campaign_segments
from wagtail_newsletter.send.campaigns import CampaignError, count_recipients_of, set_audience
from wagtail_newsletter.send.models import Campaign, Delivery
from wagtail_newsletter.send.planner import plan_deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience():
    Field.objects.create(key="city", label="City")
    news = Group.objects.create(name="News")
    people = {
        name: Subscriber.objects.create(email=f"{name}@example.org", status="subscribed", data={"city": city})
        for name, city in [("ann", "Lyon"), ("bob", "Paris"), ("cat", "Lyon"), ("dan", "Nice")]
    }
    Subscriber.objects.create(email="gone@example.org", status="unsubscribed", data={"city": "Lyon"})
    Membership.objects.create(subscriber=people["bob"], group=news)
    Membership.objects.create(subscriber=people["cat"], group=news)
    lyon = Segment.objects.create(name="Lyon", conditions={"field": "data.city", "op": "is", "value": "Lyon"})
    return people, news, lyon


def _planned(campaign):
    return set(Delivery.objects.filter(campaign=campaign).values_list("subscriber__email", flat=True))


def test_segment_alone_is_an_audience_and_unsubscribed_people_stay_out(audience):
    people, news, lyon = audience
    campaign = Campaign.objects.create(name="To Lyon", all_subscribers=False)
    with pytest.raises(CampaignError):
        set_audience(campaign, False, [], [])
    set_campaign_segments(campaign, [lyon.pk])
    set_audience(campaign, False, [], [], other_audience=True)
    assert count_recipients_of(campaign) == 2
    with CaptureQueriesContext(connection) as queries:
        assert plan_deliveries(campaign) == 2
    inserts = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "SELECT" in inserts[0].upper()
    assert _planned(campaign) == {"ann@example.org", "cat@example.org"}


def test_segment_adds_to_groups(audience):
    people, news, lyon = audience
    campaign = Campaign.objects.create(name="News and Lyon", all_subscribers=False)
    campaign.include_groups.set([news])
    set_campaign_segments(campaign, [lyon.pk])
    plan_deliveries(campaign)
    assert _planned(campaign) == {"ann@example.org", "bob@example.org", "cat@example.org"}


def test_excluded_segment_leaves_people_out(audience):
    people, news, lyon = audience
    campaign = Campaign.objects.create(name="All but Lyon", all_subscribers=True)
    set_campaign_segments(campaign, [], [lyon.pk])
    plan_deliveries(campaign)
    assert _planned(campaign) == {"bob@example.org", "dan@example.org"}


def test_segment_in_both_lists_is_excluded_and_used_segment_cannot_be_deleted(audience):
    people, news, lyon = audience
    campaign = Campaign.objects.create(name="Odd", all_subscribers=True)
    set_campaign_segments(campaign, [lyon.pk], [lyon.pk])
    assert list(campaign.segment_links.values_list("exclude", flat=True)) == [True]
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        lyon.delete()
    assert Segment.objects.filter(pk=lyon.pk).exists()


def test_segment_is_evaluated_when_planning(audience):
    people, news, lyon = audience
    campaign = Campaign.objects.create(name="Later", all_subscribers=False)
    set_campaign_segments(campaign, [lyon.pk])
    Subscriber.objects.filter(email="dan@example.org").update(data={"city": "Lyon"})
    plan_deliveries(campaign)
    assert _planned(campaign) == {"ann@example.org", "cat@example.org", "dan@example.org"}


def test_segment_without_conditions_is_everybody_even_beside_another(audience):
    people, news, lyon = audience
    everybody = Segment.objects.create(name="Everybody", conditions={})
    campaign = Campaign.objects.create(name="All", all_subscribers=False)
    set_campaign_segments(campaign, [lyon.pk, everybody.pk])
    plan_deliveries(campaign)
    assert _planned(campaign) == {"ann@example.org", "bob@example.org", "cat@example.org", "dan@example.org"}
