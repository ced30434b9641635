"""What a person read with and where: device type, mail client and country of opens and clicks, recorded at hit time
(track/devices.py, track/countries.py) and folded into the campaign's breakdowns."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from wagtail_newsletter.send.links import forget_compiled
from wagtail_newsletter.tokens import LinkSigner
from wagtail_newsletter.track.agents import classify_agent
from wagtail_newsletter.track.aggregate import aggregate
from wagtail_newsletter.track.countries import country_of
from wagtail_newsletter.track.devices import describe
from wagtail_newsletter.track.models import Activity, Agent, AudienceBreakdown, Breakdown, DeviceType, Event

from .track_fixtures import make_campaign, make_deliveries

COMPUTER, PHONE, TABLET, UNKNOWN = DeviceType.COMPUTER, DeviceType.PHONE, DeviceType.TABLET, DeviceType.UNKNOWN

APPLE_MAIL_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
APPLE_MAIL_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)
APPLE_MAIL_IPAD = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
OUTLOOK_DESKTOP = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)"
OUTLOOK_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Microsoft Outlook/16.80"
)
# Outlook.com in a browser: the reader's click comes from the browser itself (Edge here)…
OUTLOOK_COM_WEB = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 Edg/120.0.0.0"
)
# …and its images through Microsoft's proxy.
OUTLOOK_COM_PROXY = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) OutlookImageProxy/1.0"
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.5.0"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
    "Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 "
    "Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 "
    "Safari/537.36"
)
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"
APPLE_PRIVACY = "Mozilla/5.0"


def read(user_agent, ip="198.51.100.7"):
    agent = classify_agent(user_agent, "GET", ip)
    return (agent, *describe(agent, user_agent))


@pytest.mark.parametrize(
    "user_agent, device, client",
    [
        (APPLE_MAIL_MAC, COMPUTER, "Apple Mail"),
        (APPLE_MAIL_IPHONE, PHONE, "Apple Mail"),
        (APPLE_MAIL_IPAD, TABLET, "Apple Mail"),
        (OUTLOOK_DESKTOP, COMPUTER, "Outlook"),
        (OUTLOOK_MAC, COMPUTER, "Outlook"),
        (OUTLOOK_COM_WEB, COMPUTER, "Edge"),
        (THUNDERBIRD, COMPUTER, "Thunderbird"),
        (IPHONE_SAFARI, PHONE, "Mobile Safari"),
        (ANDROID_CHROME, PHONE, "Chrome Mobile"),
        (ANDROID_TABLET, TABLET, "Chrome"),
    ],
)
def test_people_s_mail_clients_and_browsers_get_a_device_type_and_a_family(user_agent, device, client):
    assert read(user_agent) == (Agent.BROWSER, device, client)


@pytest.mark.parametrize(
    "user_agent, client",
    [(GMAIL_PROXY, "Gmail (proxy)"), (YAHOO_PROXY, "Yahoo Mail (proxy)"), (OUTLOOK_COM_PROXY, "Outlook.com (proxy)")],
)
def test_mailbox_image_proxies_are_named_as_proxies_without_a_device(user_agent, client):
    # The proxy says "Windows NT 5.1": that is Google's server, not the reader's device.
    assert read(user_agent) == (Agent.MAIL_PROXY, UNKNOWN, client)


def test_machines_stay_machines_and_get_no_client():
    assert read(SCANNER) == (Agent.SCANNER, UNKNOWN, "")
    assert read("") == (Agent.UNKNOWN, UNKNOWN, "")
    assert read(APPLE_PRIVACY, ip="17.58.0.1") == (Agent.PRIVACY_PROXY, UNKNOWN, "Apple Mail (privacy proxy)")
    assert read(IPHONE_SAFARI, ip="17.58.0.1")[0] == Agent.PRIVACY_PROXY  # Apple's network decides, as before


def test_a_user_agent_is_parsed_once():
    from wagtail_newsletter.track.devices import _parsed

    _parsed.cache_clear()
    for _ in range(3):
        describe(Agent.BROWSER, THUNDERBIRD)
    assert (_parsed.cache_info().misses, _parsed.cache_info().hits) == (1, 2)


@pytest.mark.parametrize(
    "ip, country",
    [
        ("8.8.8.8", "US"),
        ("81.2.69.160", "GB"),
        ("193.51.24.1", "FR"),
        ("133.242.0.3", "JP"),
        ("2a01:e0a::1", "FR"),
        ("2001:4860:4860::8888", "US"),
        ("::ffff:193.51.24.1", "FR"),  # IPv4 through an IPv6 socket
        ("192.168.1.20", ""),
        ("10.1.2.3", ""),
        ("127.0.0.1", ""),
        ("::1", ""),
        ("fe80::1", ""),
        ("203.0.113.5", ""),  # documentation range
        ("not an address", ""),
        ("", ""),
    ],
)
def test_country_of_an_address_from_the_offline_table(ip, country):
    assert country_of(ip) == country


# --- through the real views, then the aggregation ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_link_tables():
    forget_compiled()
    yield
    forget_compiled()


def later():
    return timezone.now() + datetime.timedelta(hours=1)  # every hit settled


def hit(delivery, user_agent, ip, link=None):
    if link is None:
        path = reverse("wagtail_newsletter:open", args=[LinkSigner("open").sign(delivery.pk, delivery.campaign_id)])
    else:
        token = LinkSigner("click").sign(delivery.pk, link, delivery.campaign_id)
        path = reverse("wagtail_newsletter:click", args=[token])
    response = Client().get(path, HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert response.status_code in (200, 302)


@pytest.mark.django_db
def test_hits_keep_device_client_and_country_but_no_address_or_user_agent():
    campaign = make_campaign()
    one, two, three = make_deliveries(campaign, 3)
    hit(one, APPLE_MAIL_IPHONE, "193.51.24.1")
    hit(two, GMAIL_PROXY, "66.249.84.1")  # Google's proxy in the US: not the reader's country
    hit(three, SCANNER, "81.2.69.160", link=0)
    rows = {e.delivery_id: (e.device, e.client, e.country, e.ip_prefix) for e in Event.objects.all()}
    assert rows == {
        one.pk: (PHONE, "Apple Mail", "FR", "193.51.24.0/24"),
        two.pk: (UNKNOWN, "Gmail (proxy)", "", "66.249.84.0/24"),
        three.pk: (UNKNOWN, "", "", "81.2.69.0/24"),
    }
    stored = " ".join(str(value) for row in Event.objects.values_list() for value in row)
    assert "193.51.24.1" not in stored and "iPhone" not in stored and "Mozilla" not in stored


@pytest.mark.django_db
def test_country_setting_off_stores_no_country(settings):
    settings.WAGTAIL_NEWSLETTER = {**settings.WAGTAIL_NEWSLETTER, "TRACK_COUNTRY": False}
    campaign = make_campaign()
    (delivery,) = make_deliveries(campaign, 1)
    hit(delivery, THUNDERBIRD, "193.51.24.1")
    hit(delivery, THUNDERBIRD, "193.51.24.1", link=0)
    assert list(Event.objects.values_list("client", "country")) == [("Thunderbird", "")] * 2
    aggregate(now=later())
    assert Activity.objects.get().country == ""
    assert not AudienceBreakdown.objects.filter(dimension=Breakdown.COUNTRY).exclude(value="").exists()


@pytest.mark.django_db
def test_breakdowns_count_people_once_by_their_first_hit_and_hits_by_their_own():
    campaign = make_campaign()
    phone_reader, gmail_reader, scanned = make_deliveries(campaign, 3)
    hit(phone_reader, APPLE_MAIL_IPHONE, "193.51.24.1")
    hit(phone_reader, APPLE_MAIL_IPHONE, "193.51.24.1")
    hit(phone_reader, THUNDERBIRD, "81.2.69.160", link=0)  # later on the computer: still one person, a phone user
    hit(gmail_reader, GMAIL_PROXY, "66.249.84.1")
    hit(gmail_reader, ANDROID_CHROME, "133.242.0.3", link=1)  # the click says what the proxy hid
    hit(scanned, SCANNER, "81.2.69.160", link=0)  # a machine: in no breakdown
    hit(scanned, "", "81.2.69.160")
    assert aggregate(now=later()) == 7
    rows = {(row.dimension, row.value): (row.people, row.opens, row.clicks) for row in AudienceBreakdown.objects.all()}
    assert rows == {
        (Breakdown.DEVICE, str(PHONE)): (2, 2, 1),
        (Breakdown.DEVICE, str(COMPUTER)): (0, 0, 1),
        (Breakdown.DEVICE, ""): (0, 1, 0),
        (Breakdown.CLIENT, "Apple Mail"): (1, 2, 0),
        (Breakdown.CLIENT, "Thunderbird"): (0, 0, 1),
        (Breakdown.CLIENT, "Gmail (proxy)"): (1, 1, 0),
        (Breakdown.CLIENT, "Chrome Mobile"): (0, 0, 1),
        (Breakdown.COUNTRY, "FR"): (1, 2, 0),
        (Breakdown.COUNTRY, "GB"): (0, 0, 1),
        (Breakdown.COUNTRY, ""): (0, 1, 0),
        (Breakdown.COUNTRY, "JP"): (1, 0, 1),
    }
    activity = {a.delivery_id: (a.device, a.client, a.country) for a in Activity.objects.all()}
    assert activity[phone_reader.pk] == (PHONE, "Apple Mail", "FR")
    assert activity[gmail_reader.pk] == (PHONE, "Gmail (proxy)", "JP")
    assert activity[scanned.pk] == (UNKNOWN, "", "")
