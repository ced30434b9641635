"""``manage.py demo_ab_test``: a sample A/B test of the Welcome issue, two hours old, for the A/B report.

400 sample readers ("A/B sample readers" group); variant A is the Welcome issue as it is, variant B a warmer subject,
each sent to 15 % of them (the samples drawn by the real seeded SQL). People opened B more (about 34 % against 20 %),
while Apple's privacy proxy "opened" many A mails — machine opens the winner's choice ignores. The test then waits
for the editor (it does not send automatically: the sample readers are made-up addresses), with B leading: open
Newsletter → Campaigns → "Welcome issue (sample A/B test)" → Report, or the A/B test page, and press "Send B to the
rest" to see the whole campaign.

The variants are planned and compiled for real and marked sent (as ``demo_activity`` does); the events are written
as the tracking endpoints write them and folded by the real aggregation; the winner is read by the real task.
Idempotent: a second run finds the test and changes nothing. Run ``setup_demo`` first.
"""

import datetime
import random

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from wagtail_newsletter.audience.services import add_to_group
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.conf import newsletter_settings
from wagtail_newsletter.growth import ab_winner
from wagtail_newsletter.growth.ab_sampling import draw_samples
from wagtail_newsletter.growth.ab_start import VariantChoice, create_ab_test
from wagtail_newsletter.growth.ab_tests import AbMetric, AbStatus, AbTest
from wagtail_newsletter.models import Group, Source, Status, Subscriber
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import CampaignStatus, Delivery, DeliveryStatus
from wagtail_newsletter.send.planner import plan_deliveries
from wagtail_newsletter.track import aggregate
from wagtail_newsletter.track.models import Agent, Event, EventKind

CAMPAIGN_NAME = "Welcome issue (sample A/B test)"
GROUP_NAME = "A/B sample readers"
B_SUBJECT = 'A warm welcome, {{ first_name|default:"friend" }}'
# (people's open rate, privacy-proxy open rate) per variant
BEHAVIOUR = {"A": (0.20, 0.35), "B": (0.34, 0.10)}


class Command(BaseCommand):
    help = "A sample A/B test of the Welcome issue (B's subject wins on people's opens), for the A/B report."

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=400)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, readers, seed, **options):
        test = AbTest.objects.filter(campaign__name=CAMPAIGN_NAME).first()
        if test is not None:
            self.stdout.write(f"The sample A/B test exists already (id {test.pk}, {test.get_status_display()}).")
            return
        newsletter = NewsletterPage.objects.filter(title="Welcome issue").first()
        if newsletter is None:
            raise CommandError("Run setup_demo first: the sample A/B test sends its Welcome issue.")
        started = timezone.now() - datetime.timedelta(hours=2)
        with transaction.atomic():
            campaign = campaigns.create_campaign(newsletter, name=CAMPAIGN_NAME)
            campaigns.set_audience(campaign, False, [self.sample_readers(readers).pk])
            test = create_ab_test(
                campaign,
                [VariantChoice(15), VariantChoice(15, subject=B_SUBJECT)],
                metric=AbMetric.OPENS,
                wait_minutes=60,
                send_winner=False,
            )
            variants = list(test.variants.select_related("campaign"))
            for variant, size in zip(variants, draw_samples(test, variants), strict=True):
                variant.sample_size = size
                variant.save(update_fields=["sample_size"])
                self.sent(variant.campaign, started, random.Random(f"{seed}{variant.letter}"), variant.letter)
            test.status, test.started_at = AbStatus.TESTING, started
            test.decide_at = started + datetime.timedelta(minutes=test.wait_minutes)
            test.save(update_fields=["status", "started_at", "decide_at"])
        settle = datetime.timedelta(seconds=newsletter_settings.TRACKING_SETTLE_SECONDS)
        aggregate.aggregate(now=timezone.now() + settle)
        ab_winner.pick_winner(test.pk)  # the real task: B leads on people's opens, the test waits for the editor
        test.refresh_from_db()
        leader = test.winner.letter if test.winner else "-"
        self.stdout.write(f"Sample A/B test {test.pk}: {test.get_status_display()}, variant {leader} leads.")

    def sample_readers(self, count):
        group, _created = Group.objects.get_or_create(
            name=GROUP_NAME, defaults={"description": "Made up by demo_ab_test for the sample A/B test."}
        )
        fresh = [
            Subscriber(email=f"abreader{n:04d}@example.net", first_name=f"Reader {n}", status=Status.SUBSCRIBED,
                       source=Source.ADMIN)
            for n in range(count)
        ]  # fmt: skip
        Subscriber.all_objects.bulk_create(fresh, ignore_conflicts=True)
        ids = list(Subscriber.all_objects.filter(email__in=[s.email for s in fresh]).values_list("pk", flat=True))
        add_to_group(ids, group)
        return group

    def sent(self, campaign, started, random_, letter):
        """A variant's campaign compiled, planned (its sample) and marked sent ``started`` ago, with its events."""
        campaign.compiled = campaigns.compile_campaign(campaign).to_dict()
        campaign.recipient_count = plan_deliveries(campaign)
        campaign.status = CampaignStatus.SENT
        campaign.started_at, campaign.finished_at = started, started + datetime.timedelta(minutes=5)
        campaign.save()
        deliveries = list(Delivery.objects.filter(campaign=campaign).order_by("id"))
        Delivery.objects.filter(campaign=campaign).update(status=DeliveryStatus.SENT, attempts=1, sent_at=started)
        people, proxy = BEHAVIOUR[letter]
        events = []
        for delivery in deliveries:
            if random_.random() < proxy:  # Apple Mail's proxy loads the pixel on arrival, read or not
                at = started + datetime.timedelta(seconds=random_.uniform(5, 60))
                events.append(self.open(campaign, delivery, at, Agent.PRIVACY_PROXY))
            if random_.random() < people:
                at = started + datetime.timedelta(minutes=random_.uniform(2, 100))
                events.append(self.open(campaign, delivery, at, Agent.BROWSER))
        Event.objects.bulk_create(events)

    @staticmethod
    def open(campaign, delivery, at, agent):
        return Event(campaign=campaign, delivery_id=delivery.pk, kind=EventKind.OPEN, at=at, agent=agent,
                     ip_prefix="192.0.2.0/24")  # fmt: skip
