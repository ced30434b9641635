"""The example site's sample A/B test (``demo_ab_test``): B leads on people's opens though a privacy proxy "opened"
more A mails; the report says so; a second run changes nothing."""

import io

import pytest
from django.core.management import call_command

from wagtail_newsletter.growth.ab_report import ab_report
from wagtail_newsletter.growth.ab_tests import AbSample, AbStatus, AbTest
from wagtail_newsletter.send.models import Delivery
from wagtail_newsletter.track.models import Activity

from .test_example_site import admin_login, demo  # noqa: F401 (fixtures)


@pytest.mark.django_db
def test_the_demo_ab_test_shows_b_leading_on_peoples_opens_once(admin_login):  # noqa: F811
    call_command("demo_ab_test", stdout=io.StringIO())
    test = AbTest.objects.get()
    assert test.status == AbStatus.WAITING and test.winner.letter == "B"
    variants = {variant.letter: variant for variant in test.variants.select_related("campaign")}
    assert variants["A"].sample_size == variants["B"].sample_size == 60
    machine = {
        letter: sum(Activity.objects.filter(campaign=v.campaign).values_list("machine_opens", flat=True))
        for letter, v in variants.items()
    }
    assert machine["A"] > machine["B"]  # robots favour A; people chose B
    rows = {row["letter"]: row for row in ab_report(test)["rows"]}
    assert rows["B"]["result"].openers > rows["A"]["result"].openers

    page = admin_login.get(f"/admin/newsletter/ab-tests/{test.pk}/").content.decode()
    assert "data-ab-headline" in page and "Send B to the rest" in page

    deliveries, samples = Delivery.objects.count(), AbSample.objects.count()
    call_command("demo_ab_test", stdout=io.StringIO())
    assert (AbTest.objects.count(), Delivery.objects.count(), AbSample.objects.count()) == (1, deliveries, samples)
