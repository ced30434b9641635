"""``manage.py demo_activity``: a sample campaign sent three days ago to a group of sample readers, with what they
did since (opens, clicks, privacy-proxy opens, a link scanner's bursts, refusals by the relay, unsubscribes), and
its follow-up to the non-openers sent yesterday; then the mail that came back about both (bounces, a delay warning, a
spam complaint, a vacation notice, an unsubscribe by mail: ``home.returned_mail``), all folded into the statistics, so
that the reports, the dashboard, "Messages received", "Repeated soft bounces" and the subscribers' histories have
something to show at once.

The events are made the way the tracking endpoints write them; the returned mail goes through the real intake and
its effects; the statistics through the real aggregation. Idempotent: a second run finds both campaigns, and the
intake knows every returned message by its digest, so nothing changes. Run ``setup_demo`` first (it makes the
Welcome issue).
"""

import datetime
import random

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from home import returned_mail
from wagtail_newsletter import api
from wagtail_newsletter.audience.services import add_to_group, record_status_events, unsubscribe
from wagtail_newsletter.compose.models import NewsletterPage
from wagtail_newsletter.conf import newsletter_settings
from wagtail_newsletter.growth.follow_ups import create_follow_up
from wagtail_newsletter.models import Group, Source, Status, Subscriber
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.links import is_web
from wagtail_newsletter.send.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, FollowUp
from wagtail_newsletter.send.planner import plan_deliveries
from wagtail_newsletter.track import aggregate, delivery_counts
from wagtail_newsletter.track.models import Agent, Event, EventKind

CAMPAIGN_NAME = "Welcome issue (sample report)"
FOLLOW_UP_NAME = f"{CAMPAIGN_NAME} — to non-openers"
GROUP_NAME = "Sample readers"
MINUTE = datetime.timedelta(minutes=1)


class Command(BaseCommand):
    help = (
        "A sample campaign and its follow-up with the opens and clicks of sample readers and the mail that came "
        "back, for the reports."
    )

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=300)
        parser.add_argument("--seed", type=int, default=8058)

    def handle(self, *args, readers, seed, **options):
        campaign = Campaign.objects.filter(name=CAMPAIGN_NAME).first()
        if campaign is None:
            newsletter = NewsletterPage.objects.filter(title="Welcome issue").first()
            if newsletter is None:
                raise CommandError("Run setup_demo first: the sample campaign sends its Welcome issue.")
            started = timezone.now() - datetime.timedelta(days=3)
            with transaction.atomic():
                group = self.sample_readers(readers, started)
                campaign = api.create_campaign(newsletter, name=CAMPAIGN_NAME)  # the public Python API
                api.set_audience(campaign, groups=[group])
                self.sent_with_activity(campaign, started, random.Random(seed))
            aggregate.aggregate()  # the sample events are hours or days old: settled (the follow-up reads them)
            self.stdout.write(f"Sample campaign {campaign.pk} sent to {campaign.recipient_count} sample readers.")
        else:
            self.stdout.write(f"The sample campaign exists already (id {campaign.pk}).")
        # The mail that came back soon after it went out: the follow-up is planned without who left.
        earlier = returned_mail.first_returns(campaign)
        taken = returned_mail.take(earlier)
        follow_up = Campaign.objects.filter(follow_up_of=campaign, follow_up=FollowUp.NON_OPENERS).first()
        if follow_up is None:
            started = timezone.now() - datetime.timedelta(days=1)
            quiet = returned_mail.repeating_subscribers(earlier)  # their mail comes back again: no opens
            with transaction.atomic():
                follow_up = create_follow_up(campaign, FollowUp.NON_OPENERS, name=FOLLOW_UP_NAME)
                self.sent_with_activity(follow_up, started, random.Random(seed + 1), quiet=quiet)
            self.stdout.write(f"Follow-up {follow_up.pk} to the non-openers sent to {follow_up.recipient_count}.")
        taken += returned_mail.take(returned_mail.follow_up_returns(follow_up, earlier))
        # The returns were taken just now: a clock ahead by the settling time folds them at once.
        settle = datetime.timedelta(seconds=newsletter_settings.TRACKING_SETTLE_SECONDS)
        folded = aggregate.aggregate(now=timezone.now() + settle)
        delivery_counts.refresh([campaign.pk, follow_up.pk])
        self.stdout.write(
            f"{taken} returned messages taken in (bounces, a delay, a complaint, an auto-reply, an unsubscribe by "
            f"mail); {folded} events folded. See Newsletter → Reports, Messages received and Repeated soft bounces."
        )

    def sent_with_activity(self, campaign, started, random_, quiet=()):
        """Send ``campaign`` ``started`` ago (planned and compiled for real, marked sent) with what readers did;
        the subscribers in ``quiet`` did nothing with it."""
        compiled = self.sent_campaign(campaign, started)
        deliveries = self.sent_deliveries(campaign, started, random_)
        active = [delivery for delivery in deliveries if delivery.subscriber_id not in quiet]
        events = list(simulate(active, campaign, web_links(compiled), random_))
        Event.objects.bulk_create(events, batch_size=2000)
        self.failures_and_leavers(deliveries, events)

    def sample_readers(self, count, started):
        group, _created = Group.objects.get_or_create(
            name=GROUP_NAME, defaults={"description": "Made up by demo_activity for the sample report."}
        )
        joined = started - datetime.timedelta(days=30)
        fresh = [
            Subscriber(email=f"reader{n:04d}@example.net", first_name=f"Reader {n}", status=Status.SUBSCRIBED,
                       source=Source.ADMIN, created_at=joined, updated_at=joined, status_changed_at=joined,
                       first_subscribed_at=joined)
            for n in range(count)
        ]  # fmt: skip
        Subscriber.all_objects.bulk_create(fresh, ignore_conflicts=True)
        ids = list(Subscriber.all_objects.filter(email__in=[s.email for s in fresh]).values_list("pk", flat=True))
        record_status_events([(pk, "", Status.SUBSCRIBED) for pk in ids], Source.ADMIN, note="sample data", when=joined)
        add_to_group(ids, group)
        return group

    def sent_campaign(self, campaign, started):
        compiled = campaigns.compile_campaign(campaign)
        campaign.compiled = compiled.to_dict()
        campaign.recipient_count = plan_deliveries(campaign)
        campaign.status = CampaignStatus.SENT
        campaign.started_at, campaign.finished_at = started, started + 10 * MINUTE
        campaign.save()
        return compiled

    def sent_deliveries(self, campaign, started, random_):
        deliveries = list(Delivery.objects.filter(campaign=campaign).order_by("id"))
        for delivery in deliveries:
            delivery.status, delivery.attempts = DeliveryStatus.SENT, 1
            delivery.sent_at = started + datetime.timedelta(seconds=random_.uniform(0, 600))
        Delivery.objects.bulk_update(deliveries, ["status", "attempts", "sent_at"], batch_size=2000)
        return deliveries

    def failures_and_leavers(self, deliveries, events):
        """What the relay refused is a failed delivery; who unsubscribed is no longer subscribed."""
        refused = [e.delivery_id for e in events if e.kind == EventKind.HARD_BOUNCE]
        Delivery.objects.filter(pk__in=refused).update(status=DeliveryStatus.FAILED, smtp_code=550, sent_at=None,
                                                       error="550 5.1.1 Recipient address rejected")  # fmt: skip
        leaving = {e.delivery_id for e in events if e.kind == EventKind.UNSUBSCRIBE}
        subscribers = [d.subscriber_id for d in deliveries if d.pk in leaving]
        unsubscribe(subscribers, source=Source.UNSUBSCRIBE_LINK, note="sample data")


def web_links(compiled):
    return [link.index for link in compiled.links if is_web(link.final_url)]


def simulate(deliveries, campaign, links, random_):
    """Events as readers, mail systems and scanners make them (see docs/developers/tracking.md for the rules)."""

    def event(delivery, kind, at, agent=Agent.BROWSER, link=None, detail=""):
        return Event(campaign=campaign, delivery_id=delivery.pk, kind=kind, at=at, agent=agent, link=link,
                     ip_prefix="192.0.2.0/24", detail=detail)  # fmt: skip

    for n, delivery in enumerate(deliveries):
        sent = delivery.sent_at
        if n % 97 == 5:  # a bad address: refused by the relay
            yield event(delivery, EventKind.HARD_BOUNCE, sent, detail="550 5.1.1 Recipient address rejected")
            continue
        if random_.random() < 0.25:  # Apple Mail: its proxy loads the images on arrival, read or not
            yield event(delivery, EventKind.OPEN, sent + datetime.timedelta(seconds=random_.uniform(3, 60)),
                        agent=Agent.PRIVACY_PROXY)  # fmt: skip
        if random_.random() < 0.03:  # a security gateway follows every link at once on arrival
            at = sent + datetime.timedelta(seconds=random_.uniform(1, 30))
            for link in links:
                yield event(delivery, EventKind.CLICK, at, agent=Agent.SCANNER, link=link)
        if random_.random() < 0.38:  # a person opens it, mostly the first day
            opened = sent + MINUTE * min(random_.expovariate(1 / 300), 4000)
            yield event(delivery, EventKind.OPEN, opened, agent=random_.choice([Agent.BROWSER, Agent.MAIL_PROXY]))
            if random_.random() < 0.2:
                yield event(delivery, EventKind.OPEN, opened + MINUTE * random_.uniform(30, 900))
            if random_.random() < 0.3 and links:  # and clicks, the first links more often
                link = links[min(int(random_.expovariate(0.8)), len(links) - 1)]
                yield event(delivery, EventKind.CLICK, opened + MINUTE * random_.uniform(0.2, 3), link=link)
            if random_.random() < 0.01:
                yield event(delivery, EventKind.UNSUBSCRIBE, opened + 2 * MINUTE)
    # Complaints, and the bounces that come back after the relay took the message, are returned mail: see handle().
