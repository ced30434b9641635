"""Countries are named for people, in the reader's language of the admin (Babel's CLDR names), not shown as codes."""

import pytest
from django.utils import translation

from wagtail_newsletter.growth.reader_conditions import builder_choices
from wagtail_newsletter.send.models import Campaign
from wagtail_newsletter.track.breakdowns import audience_breakdowns, country_label
from wagtail_newsletter.track.countries import country_name
from wagtail_newsletter.track.models import AudienceBreakdown, Breakdown, CampaignStats


@pytest.mark.parametrize(
    ("language", "code", "name"),
    [("en", "DE", "Germany"), ("fr", "DE", "Allemagne"), ("fr-ca", "CI", "Côte d’Ivoire"), ("de", "fr", "Frankreich"),
     ("xx-unknown", "DE", "Germany"), ("en", "ZZZ", "ZZZ"), ("en", "", "")],
)  # fmt: skip
def test_country_names_follow_the_language(language, code, name):
    assert country_name(code, language) == name


def test_the_label_has_the_flag_and_the_name_in_the_active_language():
    with translation.override("fr"):
        assert country_label("GB") == "🇬🇧 Royaume-Uni"
    with translation.override("en"):
        assert country_label("GB") == "🇬🇧 United Kingdom"


@pytest.mark.django_db
def test_the_report_and_the_segment_builder_name_the_countries_in_the_admins_language():
    campaign = Campaign.objects.create(name="Spring", subject="Spring", status="sent")
    CampaignStats.objects.create(campaign=campaign, unique_opens=3)
    for code, people in (("FR", 2), ("DE", 1)):
        AudienceBreakdown.objects.create(
            campaign=campaign, dimension=Breakdown.COUNTRY, value=code, people=people, opens=people, clicks=0
        )
    with translation.override("fr"):
        rows = audience_breakdowns(campaign).countries
        choices = builder_choices()["countries"]
    assert [(row.value, row.label) for row in rows] == [("FR", "🇫🇷 France"), ("DE", "🇩🇪 Allemagne")]
    assert choices == [["FR", "🇫🇷 France"], ["DE", "🇩🇪 Allemagne"]]
