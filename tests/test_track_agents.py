"""Agent classes of tracking hits from real user agent strings, and the IP prefixes kept instead of addresses."""

import time

import pytest

from wagtail_newsletter.track.agents import classify_agent, ip_prefix
from wagtail_newsletter.track.models import Agent

MAIL_PROXIES = [
    # Gmail's image proxy
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 "
    "Safari/537.36 (via ggpht.com GoogleImageProxy)",
    # Yahoo / AOL
    "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
    "Mozilla/5.0 (compatible; YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html)",
    # Outlook.com / Microsoft image proxies, Yandex
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) OutlookImageProxy",
    "Mozilla/5.0 (compatible; YandexImageProxy/1.0; +http://yandex.com/bots)",
]
PRIVACY_PROXIES = ["Mozilla/5.0"]  # Apple Mail Privacy Protection: nothing else
SCANNERS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php) Slackbot-LinkExpanding 1.0",
    "curl/8.5.0",
    "Wget/1.21.3",
    "python-requests/2.32.3",
    "Python-urllib/3.11",
    "Go-http-client/1.1",
    "okhttp/4.12.0",
    "Java/17.0.2",
    "Apache-HttpClient/4.5.14 (Java/17.0.8)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36",
    "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
    "Mimecast-URL-Protect/1.0",
    "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    "Symantec Messaging Gateway",
    "Trend Micro Email Security",
    "Microsoft Defender for Office 365 Safe Links",
    "Forcepoint Email Security",
    "Cisco IronPort AsyncOS",
    "FireEye Email Security",
    "Sophos Email Link Scanner",
    "Mozilla/5.0 (compatible; urlscan.io)",
]
BROWSERS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
    "Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",  # Apple Mail
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; Microsoft Outlook 16.0.5422; "
    "Microsoft Outlook 16.0.5422; ms-office; MSOffice 16)",  # Outlook desktop: a person reading
    "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.12.2",
    "Mozilla/5.0 (Linux; Android 10; Cubot X19) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Mobile "
    "Safari/537.36",  # a phone whose name ends in "bot"
]


@pytest.mark.parametrize(
    "agents, expected",
    [
        (MAIL_PROXIES, Agent.MAIL_PROXY),
        (PRIVACY_PROXIES, Agent.PRIVACY_PROXY),
        (SCANNERS, Agent.SCANNER),
        (BROWSERS, Agent.BROWSER),
        (["", "   ", None], Agent.UNKNOWN),
    ],
)
def test_real_user_agents_fall_in_their_class(agents, expected):
    for agent in agents:
        assert classify_agent(agent) == expected, agent


def test_head_requests_are_their_own_class_whatever_the_user_agent():
    for agent in [BROWSERS[0], MAIL_PROXIES[0], SCANNERS[0], "", "Mozilla/5.0"]:
        assert classify_agent(agent, method="HEAD") == Agent.HEAD


def test_requests_from_apples_network_are_its_privacy_proxy():
    assert classify_agent(BROWSERS[2], ip="17.58.101.2") == Agent.PRIVACY_PROXY
    assert classify_agent("", ip="17.0.0.1") == Agent.PRIVACY_PROXY
    assert classify_agent(BROWSERS[2], ip="2620:149:a:1::5") == Agent.PRIVACY_PROXY
    assert classify_agent(BROWSERS[2], ip="::ffff:17.1.2.3") == Agent.PRIVACY_PROXY
    # Not Apple's: 170.x, 117.x, and other networks
    for ip in ["170.1.2.3", "117.1.2.3", "203.0.113.9", "2001:db8::1", "not an address"]:
        assert classify_agent(BROWSERS[2], ip=ip) == Agent.BROWSER, ip
    # A scanner says what it is, wherever it runs
    assert classify_agent(SCANNERS[5], ip="17.1.2.3") == Agent.SCANNER


@pytest.mark.parametrize(
    "ip, prefix",
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("198.51.100.0", "198.51.100.0/24"),
        (" 192.0.2.255 ", "192.0.2.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("2001:0db8:0001:ffff::1", "2001:db8:1::/48"),
        ("::ffff:203.0.113.8", "203.0.113.0/24"),  # IPv4 as an IPv6 socket shows it
        ("fe80::1%eth0", "fe80::/48"),
        ("::1", "::/48"),
        ("", ""),
        (None, ""),
        ("999.1.1.1", ""),
        ("203.0.113", ""),
        ("unknown", ""),
        ("203.0.113.7, 10.0.0.1", ""),  # a forwarded-for list is not an address
    ],
)
def test_ip_prefix(ip, prefix):
    assert ip_prefix(ip) == prefix


def test_classifying_costs_a_few_microseconds():
    agents = MAIL_PROXIES + SCANNERS + BROWSERS
    start = time.perf_counter()
    for _ in range(200):
        for number, agent in enumerate(agents):
            classify_agent(agent, "GET", f"203.0.113.{number}")
            ip_prefix(f"203.0.113.{number}")
    per_call = (time.perf_counter() - start) / (200 * len(agents))
    assert per_call < 20e-6, per_call
    # A first sight of a user agent (not memoised yet) is a few regular expression searches.
    start = time.perf_counter()
    for number in range(2000):
        classify_agent(f"Mozilla/5.0 (X11; Linux x86_64; rv:{number}.0) Gecko/20100101 Firefox/{number}.0")
    assert (time.perf_counter() - start) / 2000 < 50e-6
