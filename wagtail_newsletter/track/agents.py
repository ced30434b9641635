"""Who made a tracking hit, from what the request says: the agent class and the network prefix of its address.

Only the class (``Agent``) and the prefix are kept, never the user agent string or the full address. A user agent
seen for the first time costs a few microseconds (substring tests and one small regular expression); results are
memoised per user agent and per address (mail proxies and clients repeat the same few), so most calls cost well
under a microsecond.
"""

import ipaddress
import re
from functools import lru_cache

from .models import Agent

# Names in lower case, looked for as substrings of the lower-cased user agent (a tuple of ``in`` tests is several
# times faster than one big case-insensitive regular expression); "bot" as a word ending needs a regex.
# Mailbox providers fetch images for the reader, when the reader opens the mail: a human open.
_MAIL_PROXY_NAMES = (
    "googleimageproxy",
    "via ggpht.com",
    "yahoomailproxy",
    "outlookimageproxy",
    "outlook-imageproxy",
    "ms-office-imageproxy",
    "microsoft office imageproxy",
    "imageproxy/",
    "yandeximageproxy",
    "mail.ru_bot/img",
)
# HTTP libraries, headless browsers and the link scanners of mail security gateways.
_SCANNER_NAMES = (
    "crawl",
    "spider",
    "slurp",
    "curl/",
    "wget",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "go-http-client",
    "okhttp",
    "java/",
    "apache-httpclient",
    "libwww",
    "node-fetch",
    "axios",
    "scrapy",
    "headlesschrome",
    "phantomjs",
    "puppeteer",
    "playwright",
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "messagelabs",
    "trendmicro",
    "trend micro",
    "defender",
    "safelinks",
    "safe links",
    "forcepoint",
    "ironport",
    "cisco",
    "fireeye",
    "trellix",
    "sophos",
    "urlscan",
    "virustotal",
    "zscaler",
    "checkpoint",
    "check point",
    "fortinet",
    "fortiguard",
    "mailcontrol",
    "cloudmark",
    "spamtitan",
    "hornetsecurity",
    "scanner",
    "preview",
)
# Googlebot, bingbot, Slackbot… ("Cubot" is a phone maker).
_BOT = re.compile(r"(?<!cu)bot\b")
# Apple Mail Privacy Protection fetches every image of every mail, through Apple's network, as "Mozilla/5.0".
_APPLE_MPP_AGENT = "Mozilla/5.0"
_APPLE_NETWORKS = (ipaddress.ip_network("17.0.0.0/8"), ipaddress.ip_network("2620:149::/32"))


@lru_cache(maxsize=2048)
def _agent_of(user_agent):
    """The class a user agent string alone gives (None: look at the address)."""
    agent = user_agent.strip()
    if not agent:
        return Agent.UNKNOWN
    lower = agent.lower()
    if any(name in lower for name in _MAIL_PROXY_NAMES):
        return Agent.MAIL_PROXY
    if any(name in lower for name in _SCANNER_NAMES) or _BOT.search(lower):
        return Agent.SCANNER
    if agent == _APPLE_MPP_AGENT:
        return Agent.PRIVACY_PROXY
    return None


@lru_cache(maxsize=4096)
def _address(ip):
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address


def _is_apple(ip):
    if ip.startswith("17."):
        return True
    address = _address(ip) if ":" in ip else None
    return address is not None and any(address in network for network in _APPLE_NETWORKS)


def classify_agent(user_agent, method="GET", ip=""):
    """The ``Agent`` class of a hit: HEAD for a HEAD request; then from the user agent (mail proxy, scanner, Apple's
    privacy proxy, none); a request from Apple's network is its privacy proxy; anything else is a browser or a mail
    client."""
    if method == "HEAD":
        return Agent.HEAD
    agent = _agent_of((user_agent or "")[:512])
    if agent is not None and agent != Agent.UNKNOWN:
        return agent
    if ip and _is_apple(ip):
        return Agent.PRIVACY_PROXY
    return Agent.UNKNOWN if agent == Agent.UNKNOWN else Agent.BROWSER


@lru_cache(maxsize=4096)
def ip_prefix(ip):
    """The network an address belongs to: ``203.0.113.0/24`` for IPv4, the /48 for IPv6, "" when not an address.
    The full address is never kept."""
    address = _address(ip or "")
    if address is None:
        return ""
    bits = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network((address, bits), strict=False))
