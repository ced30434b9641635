"""A/B tests without workers: the seeded samples (reproducible, disjoint, sized), the two-proportion test against
known values, the winner chosen from people's opens only, and choices that make no test refused."""

import datetime
from collections import Counter

import pytest
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import timezone

from wagtail_newsletter.audience.models import Status, Subscriber
from wagtail_newsletter.growth import ab_winner
from wagtail_newsletter.growth.ab_sampling import ranked_audience, sample_sizes
from wagtail_newsletter.growth.ab_significance import two_proportion_test, verdict
from wagtail_newsletter.growth.ab_start import AbTestError, VariantChoice, create_ab_test, start_ab_test
from wagtail_newsletter.growth.ab_tests import AbMetric, AbSample, AbStatus, AbTest
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, EventKind
from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.events import record_hit

from .compose_editor_fixtures import make_newsletter

THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0"


def make_audience(count):
    Subscriber.objects.bulk_create(
        [Subscriber(email=f"ab{i}@example.net", first_name=f"R{i}", status=Status.SUBSCRIBED) for i in range(count)]
    )


def draft(archive, **fields):
    campaign = campaigns.create_campaign(make_newsletter(archive, **fields))
    campaigns.set_audience(campaign, True)
    return campaign


def two_variants(percent=10, **b):
    return [VariantChoice(percent), VariantChoice(percent, **(b or {"subject": "Better subject"}))]


def started(archive, count=200, variants=None, **options):
    make_audience(count)
    test = create_ab_test(draft(archive), variants or two_variants(), **options)
    return start_ab_test(test)


def samples_of(test):
    return {
        variant.letter: set(AbSample.objects.filter(variant=variant).values_list("subscriber_id", flat=True))
        for variant in test.variants.all()
    }


# Sampling -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_samples_are_disjoint_sized_and_only_their_variant_gets_planned(archive):
    test = started(archive, count=200, variants=[VariantChoice(10), VariantChoice(15), VariantChoice(5)])
    samples = samples_of(test)
    assert {letter: len(ids) for letter, ids in samples.items()} == {"A": 20, "B": 30, "C": 10}
    assert not (samples["A"] & samples["B"]) and not (samples["A"] & samples["C"]) and not (samples["B"] & samples["C"])
    for variant in test.variants.select_related("campaign"):
        planned = set(Delivery.objects.filter(campaign=variant.campaign).values_list("subscriber_id", flat=True))
        assert planned == samples[variant.letter]
        assert variant.campaign.status == CampaignStatus.SENDING and variant.sample_size == len(planned)
    assert test.status == AbStatus.TESTING
    assert test.decide_at == test.started_at + datetime.timedelta(minutes=240)
    # The rest campaign (still a draft) would go to the 140 nobody sampled.
    rest = campaigns.campaign_recipients(test.campaign).values_list("pk", flat=True)
    assert len(rest) == 140 and not set(rest) & set().union(*samples.values())


@pytest.mark.django_db
def test_the_same_seed_draws_the_same_samples_and_another_seed_others(archive):
    make_audience(300)
    audience = Subscriber.objects.all()

    def first(seed, n=30):
        rows = sorted(ranked_audience(audience, seed), key=lambda row: row["sample_rank"])
        return [row["sample_id"] for row in rows[:n]]

    assert first("seed-1") == first("seed-1")
    assert first("seed-1") != first("seed-2")
    # Not the first ids: a hash order, spread over the whole audience.
    ids = sorted(audience.values_list("pk", flat=True))
    assert first("seed-1") != ids[:30] and max(first("seed-1")) > ids[150]
    # The order is md5(seed || id), which Python can compute too: the databases agree with it.
    import hashlib

    expected = sorted(ids, key=lambda pk: (hashlib.md5(f"seed-1{pk}".encode()).hexdigest(), pk))[:30]
    assert first("seed-1") == expected


@pytest.mark.django_db
def test_drawing_again_with_the_seed_of_a_test_gives_its_samples(archive):
    test = started(archive, count=120)
    first = samples_of(test)
    # A second draw for the same test adds nobody (the unique constraint); for a copy with the same seed it repeats.
    AbSample.objects.filter(ab_test=test).delete()
    from wagtail_newsletter.growth.ab_sampling import draw_samples

    # With no sample left, the rest campaign's audience is everyone again: the same seed draws the same people.
    draw_samples(test, list(test.variants.order_by("letter")))
    assert samples_of(test) == first


@pytest.mark.django_db
def test_the_database_refuses_a_subscriber_in_two_samples(archive):
    test = started(archive, count=50)
    taken = AbSample.objects.filter(ab_test=test).first()
    other = test.variants.exclude(pk=taken.variant_id).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        AbSample.objects.create(ab_test=test, variant=other, subscriber_id=taken.subscriber_id)


def test_sample_sizes_round_down():
    assert sample_sizes(1000, [10, 10]) == [100, 100]
    assert sample_sizes(99, [10, 25, 5]) == [9, 24, 4]


# Significance ---------------------------------------------------------------------------------------------------


def test_two_proportion_test_matches_known_values():
    # 200/1000 against 250/1000: z = 2.6774, two-sided p = 0.00742 (statsmodels' proportions_ztest gives the same).
    result = two_proportion_test(200, 1000, 250, 1000)
    assert result.z == pytest.approx(2.6774, abs=1e-4)
    assert result.p_value == pytest.approx(0.007418, abs=1e-5)
    assert result.difference == pytest.approx(0.05)
    # 45/100 against 55/100: z = 1.4142, p = 0.1573.
    close = two_proportion_test(45, 100, 55, 100)
    assert close.z == pytest.approx(1.41421, abs=1e-4) and close.p_value == pytest.approx(0.15730, abs=1e-4)
    # No trials, or no spread: no evidence either way.
    assert two_proportion_test(0, 0, 5, 10).p_value == 1.0
    assert two_proportion_test(0, 10, 0, 10).p_value == 1.0


def test_the_verdict_in_words():
    assert verdict(two_proportion_test(200, 1000, 250, 1000), "A", "B") == (
        "B beats A; the difference is unlikely to be chance."
    )
    assert verdict(two_proportion_test(250, 1000, 200, 1000), "A", "B") == (
        "A beats B; the difference is unlikely to be chance."
    )
    assert verdict(two_proportion_test(45, 100, 55, 100), "A", "B") == "A and B are too close to call."


# The winner -----------------------------------------------------------------------------------------------------


def hit(delivery, user_agent, ip, kind=EventKind.OPEN):
    request = RequestFactory().get("/", HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert record_hit(kind, delivery.pk, delivery.campaign_id, request=request)


def deliveries_of(test, letter):
    variant = test.variants.get(letter=letter)
    return list(Delivery.objects.filter(campaign=variant.campaign).order_by("pk"))


def simulate(test, human_opens, machine_opens):
    """Mark the variants' messages sent; ``human_opens`` / ``machine_opens``: {letter: how many recipients}."""
    Delivery.objects.filter(campaign__ab_variant__ab_test=test).update(status=DeliveryStatus.SENT)
    for letter, count in human_opens.items():
        for delivery in deliveries_of(test, letter)[:count]:
            hit(delivery, THUNDERBIRD, "198.51.100.7")
    for letter, count in machine_opens.items():
        for delivery in deliveries_of(test, letter)[-count:]:
            hit(delivery, "Mozilla/5.0", "17.58.0.1")  # Apple Mail Privacy Protection: a machine open
    aggregate(now=timezone.now() + datetime.timedelta(hours=1))


@pytest.mark.django_db
def test_the_winner_is_chosen_by_peoples_opens_never_by_machine_opens(archive):
    test = started(archive, count=200, wait_minutes=60)
    simulate(test, human_opens={"A": 3, "B": 8}, machine_opens={"A": 20})
    results = {result.letter: result for result in ab_winner.variant_results(test)}
    assert (results["A"].sent, results["A"].openers, results["B"].openers) == (20, 3, 8)

    assert ab_winner.pick_winner(test.pk) is False  # not yet: the wait is not over
    later = test.decide_at + datetime.timedelta(seconds=1)
    assert ab_winner.pick_winner(test.pk, now=later) is True
    test.refresh_from_db()
    rest = Campaign.objects.get(pk=test.campaign_id)
    assert test.status == AbStatus.DONE and test.winner.letter == "B"
    assert rest.status == CampaignStatus.SENDING and rest.subject == "Better subject"
    sampled = set(AbSample.objects.filter(ab_test=test).values_list("subscriber_id", flat=True))
    to_rest = set(Delivery.objects.filter(campaign=rest).values_list("subscriber_id", flat=True))
    assert len(to_rest) == 160 and not sampled & to_rest
    # Idempotent: a second run (the periodic backup) changes nothing.
    assert ab_winner.pick_winner(test.pk, now=later) is False
    assert ab_winner.pick_due_winners(now=later) == 0
    assert Delivery.objects.filter(campaign=rest).count() == 160


@pytest.mark.django_db
def test_by_clicks_and_waiting_for_the_editor(archive):
    test = started(archive, count=100, wait_minutes=0, metric=AbMetric.CLICKS, send_winner=False)
    Delivery.objects.filter(campaign__ab_variant__ab_test=test).update(status=DeliveryStatus.SENT)
    for delivery in deliveries_of(test, "A")[:2]:
        hit(delivery, THUNDERBIRD, "198.51.100.7", kind=EventKind.CLICK)
    for delivery in deliveries_of(test, "B")[:5]:
        hit(delivery, "Mozilla/5.0 (compatible; Barracuda link scanner)", "198.51.100.9", kind=EventKind.CLICK)
    aggregate(now=timezone.now() + datetime.timedelta(hours=1))

    assert ab_winner.pick_winner(test.pk, now=timezone.now() + datetime.timedelta(seconds=1))
    test.refresh_from_db()
    assert test.status == AbStatus.WAITING and test.winner.letter == "A"  # scanner clicks never count
    assert Campaign.objects.get(pk=test.campaign_id).status == CampaignStatus.DRAFT
    # The editor sends the other one after all.
    b = test.variants.get(letter="B")
    ab_winner.choose_winner(test, b.pk)
    test.refresh_from_db()
    assert test.status == AbStatus.DONE and test.winner == b
    with pytest.raises(AbTestError, match="already been chosen"):
        ab_winner.choose_winner(test, b.pk)


@pytest.mark.django_db
def test_a_manual_test_waits_and_a_forged_variant_is_refused(archive):
    test = started(archive, count=100, wait_minutes=0, metric=AbMetric.MANUAL)
    other = create_ab_test(draft(archive, title="Other news", slug="other-news"), two_variants())  # not this test's
    assert ab_winner.pick_winner(test.pk, now=timezone.now() + datetime.timedelta(seconds=1))
    test.refresh_from_db()
    assert test.status == AbStatus.WAITING and test.winner is None
    with pytest.raises(AbTestError, match="one of this test's variants"):
        ab_winner.choose_winner(test, other.variants.first().pk)
    test.refresh_from_db()
    assert test.status == AbStatus.WAITING and Campaign.objects.get(pk=test.campaign_id).status == "draft"


# Bad input --------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "variants, message",
    [
        ([VariantChoice(10)], "2 to 4 variants"),
        ([VariantChoice(10)] * 5, "2 to 4 variants"),
        ([VariantChoice(60), VariantChoice(50)], "more than 100 %"),
        ([VariantChoice(0), VariantChoice(10)], "between 1 % and 100 %"),
        ([VariantChoice(101), VariantChoice(10)], "between 1 % and 100 %"),
    ],
)
def test_choices_that_make_no_test_are_refused_and_change_nothing(archive, variants, message):
    campaign = draft(archive)
    with pytest.raises(AbTestError, match=message):
        create_ab_test(campaign, variants)
    assert not AbTest.objects.exists() and Campaign.objects.count() == 1


@pytest.mark.django_db
def test_a_sample_that_would_be_empty_is_refused_and_nothing_is_sent(archive):
    make_audience(5)
    test = create_ab_test(draft(archive), two_variants(10))
    with pytest.raises(AbTestError, match="too small"):
        start_ab_test(test)
    test.refresh_from_db()
    assert test.status == AbStatus.DRAFT and not AbSample.objects.exists() and not Delivery.objects.exists()


@pytest.mark.django_db
def test_variant_subject_preheader_and_sender_do_not_touch_the_page(archive):
    campaign = draft(archive)
    page = campaign.page
    latest = page.latest_revision_id
    test = create_ab_test(
        campaign,
        [VariantChoice(10), VariantChoice(10, subject="B subject", preheader="B pre", sender_name="B sender")],
    )
    b = test.variants.get(letter="B").campaign
    frozen = b.revision.as_object()
    assert (b.subject, b.from_name, frozen.preheader) == ("B subject", "B sender", "B pre")
    assert test.variants.get(letter="A").campaign.revision_id == campaign.revision_id
    page.refresh_from_db()
    assert page.latest_revision_id == latest
    assert Counter(Campaign.objects.values_list("status", flat=True)) == {"draft": 3}


@pytest.mark.django_db
def test_the_rest_campaign_starts_only_through_its_test(archive):
    test = started(archive, count=100)
    with pytest.raises(campaigns.CampaignError, match="winner of an A/B test"):
        campaigns.send_now(test.campaign)
    assert Campaign.objects.get(pk=test.campaign_id).status == CampaignStatus.DRAFT
    assert not Delivery.objects.filter(campaign_id=test.campaign_id).exists()


@pytest.mark.django_db
def test_choosing_again_replaces_a_draft_test_and_its_variants(archive):
    campaign = draft(archive)
    create_ab_test(campaign, two_variants())
    again = create_ab_test(campaign, [VariantChoice(5), VariantChoice(5, subject="X"), VariantChoice(5, subject="Y")])
    assert list(AbTest.objects.values_list("pk", flat=True)) == [again.pk]
    assert Campaign.objects.count() == 4  # the rest campaign and the three variants of the new draft


@pytest.mark.django_db
def test_a_start_that_fails_half_way_leaves_no_sample_and_no_delivery(archive, monkeypatch):
    make_audience(100)
    test = create_ab_test(draft(archive), two_variants())
    real_send_now = campaigns.send_now

    def crash_on_b(campaign, user=None):
        if campaign.name.endswith("variant B"):
            raise campaigns.CampaignError("the relay is on fire")
        return real_send_now(campaign, user)

    monkeypatch.setattr(campaigns, "send_now", crash_on_b)
    with pytest.raises(AbTestError, match="Variant B: the relay is on fire"):
        start_ab_test(test)  # A's samples and deliveries were written before B failed: all rolled back
    test.refresh_from_db()
    assert test.status == AbStatus.DRAFT and not AbSample.objects.exists() and not Delivery.objects.exists()
    monkeypatch.setattr(campaigns, "send_now", real_send_now)
    test = start_ab_test(test)
    assert test.status == AbStatus.TESTING and AbSample.objects.count() == Delivery.objects.count() == 20
