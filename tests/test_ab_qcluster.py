"""An A/B test sent by a real qcluster through a real SMTP server (aiosmtpd): the readers' opens favour B (while a
privacy proxy "opens" every A mail), the one-off django-q2 schedule picks B, and B goes to everybody else; nobody
gets two variants."""

import re
import time
from collections import Counter

import pytest
from django.db.models import Max
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule

from wagtail_newsletter.conf import newsletter_settings
from wagtail_newsletter.growth.ab_start import WINNER_SCHEDULE_PREFIX, VariantChoice, create_ab_test, start_ab_test
from wagtail_newsletter.growth.ab_tests import AbSample, AbStatus, AbTest
from wagtail_newsletter.send import campaigns
from wagtail_newsletter.send.models import Campaign, Delivery, DeliveryStatus

from .compose_editor_fixtures import make_newsletter
from .send_cluster import cluster_factory, cluster_log, make_audience, wait_finished, wait_for  # noqa: F401 (fixtures)

THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0"
AUDIENCE = 100


def open_url(message):
    html = message.get_body(("html",)).get_content()
    return re.findall(r'src="https?://testserver(/newsletter/o/[^"]+)"', html)[0]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_real_qcluster_picks_b_by_peoples_opens_and_sends_it_to_the_rest(
    archive,
    smtp_server,
    cluster_factory,  # noqa: F811
    queue_for_real,
):
    cluster = cluster_factory(
        smtp_server.port,
        {"workers": 2, "timeout": 20, "retry": 25, "poll": 0.1},
        {"TRACKING_SETTLE_SECONDS": 0},
    )
    make_audience(AUDIENCE)
    campaign = campaigns.create_campaign(make_newsletter(archive))
    campaigns.set_audience(campaign, True)
    test = create_ab_test(
        campaign, [VariantChoice(10), VariantChoice(10, subject="B: what grows in April")], wait_minutes=60
    )
    test = start_ab_test(test)
    variants = {variant.letter: variant.campaign for variant in test.variants.select_related("campaign")}
    for variant in variants.values():
        wait_finished(variant, cluster, timeout=90)
    messages = smtp_server.wait_for(20, timeout=30)
    assert len(messages) == 20, cluster_log(cluster)

    # People open 2 of A's mails and 7 of B's; Apple's privacy proxy fetches every A mail's pixel. An open sooner than
    # MACHINE_OPEN_SECONDS after the send would be a gateway's pre-fetch (track/rules.py): people read a bit later.
    last_sent = Delivery.objects.aggregate(last=Max("sent_at"))["last"]
    time.sleep(max(0.0, (last_sent - timezone.now()).total_seconds() + newsletter_settings.MACHINE_OPEN_SECONDS + 1))
    people = Client(HTTP_USER_AGENT=THUNDERBIRD, REMOTE_ADDR="198.51.100.7")
    proxy = Client(HTTP_USER_AGENT="Mozilla/5.0", REMOTE_ADDR="17.58.0.1")
    opened = Counter()
    for received in messages:
        b = received["message"]["Subject"].startswith("B:")
        letter = "B" if b else "A"
        pixel = open_url(received["message"])
        if not b:
            assert proxy.get(pixel).status_code == 200
        if opened[letter] < (7 if b else 2):
            assert people.get(pixel).status_code == 200
            opened[letter] += 1
    assert opened == {"A": 2, "B": 7}

    # The wait is over: the test's one-off schedule fires in the cluster (its scheduler looks every ~15 s).
    now = timezone.now()
    AbTest.objects.filter(pk=test.pk).update(decide_at=now)
    assert Schedule.objects.filter(name=f"{WINNER_SCHEDULE_PREFIX}{test.pk}").update(next_run=now) == 1
    decided = wait_for(lambda: AbTest.objects.get(pk=test.pk).status == AbStatus.DONE, 90, interval=0.5)
    assert decided, cluster_log(cluster)
    test = AbTest.objects.get(pk=test.pk)
    assert test.winner.letter == "B"
    rest = wait_finished(Campaign.objects.get(pk=test.campaign_id), cluster, timeout=90)
    assert rest.recipient_count == AUDIENCE - 20

    messages = smtp_server.wait_for(AUDIENCE, timeout=30)
    recipients = Counter(address for received in messages for address in received["to"])
    assert len(messages) == AUDIENCE and set(recipients.values()) == {1}  # everyone once, nobody twice
    sampled = set(AbSample.objects.filter(ab_test=test).values_list("subscriber__email", flat=True))
    rest_subjects = {received["message"]["Subject"] for received in messages if received["to"][0] not in sampled}
    assert rest_subjects == {"B: what grows in April"}
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == AUDIENCE
