"""The device type and mail client (or browser) of a person's open or click, from the request's user agent.

``agents.classify_agent`` stays in charge of "machine" (scanners, HEAD requests, no user agent, Apple's privacy
proxy); this module only names what people read with. Mailbox providers' image proxies hide the reader's device: they
are named for what they are ("Gmail (proxy)"), never given a device. Everything else is parsed by ``ua-parser`` with
its built-in rules (``ua-parser-builtins``), once per user agent string (``lru_cache``): a parse costs about half a
millisecond, a repeat well under a microsecond, and the hit path sees the same few agents over and over.
"""

from functools import lru_cache

from .models import Agent
from .models import DeviceType as Device

CLIENT_MAX_LENGTH = 40  # Event.client
# The image proxies of ``agents._MAIL_PROXY_NAMES``, named after the mailbox they serve (first match wins).
_PROXY_CLIENTS = (
    (("googleimageproxy", "via ggpht.com"), "Gmail (proxy)"),
    (("yahoomailproxy",), "Yahoo Mail (proxy)"),
    (("outlookimageproxy", "outlook-imageproxy", "ms-office-imageproxy", "office imageproxy"), "Outlook.com (proxy)"),
    (("yandeximageproxy",), "Yandex Mail (proxy)"),
    (("mail.ru_bot",), "Mail.ru (proxy)"),
)
MAIL_PROXY = "Mail proxy"
PRIVACY_PROXY = "Apple Mail (privacy proxy)"
# Mail programs ua-parser names after the engine they embed (checked before it, in the lower-cased agent).
_OWN_CLIENTS = (
    ("microsoft outlook", "Outlook"),
    ("ms-office", "Outlook"),
    ("thunderbird/", "Thunderbird"),
    ("airmail", "Airmail"),
    ("spark/", "Spark"),
)
# ua-parser families renamed for mail: Apple Mail on iOS/iPadOS loads images in a plain web view, without
# "Safari" (which the Safari browser itself sends).
_RENAMED = {
    "Mobile Safari UI/WKWebView": "Apple Mail",
    "Chrome Mobile WebView": "Android app (web view)",
    "GmailImageProxy": "Gmail (proxy)",
    "YahooMailProxy": "Yahoo Mail (proxy)",
    "Other": "",
}
_COMPUTER_SYSTEMS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Debian", "Fedora", "Chrome OS", "FreeBSD", "OpenBSD", "NetBSD"}
)
_PHONE_SYSTEMS = frozenset({"iOS", "Windows Phone", "BlackBerry OS", "Symbian OS", "KaiOS", "Firefox OS"})


def describe(agent, user_agent):
    """``(device type, client)`` of a hit whose ``agents.classify_agent`` class is ``agent``: the client is "" and
    the device unknown when nothing can be said (machines, no user agent)."""
    if agent == Agent.BROWSER:
        return _parsed((user_agent or "")[:512])
    if agent == Agent.MAIL_PROXY:
        return Device.UNKNOWN, _proxy_client((user_agent or "")[:512])
    if agent == Agent.PRIVACY_PROXY:
        return Device.UNKNOWN, PRIVACY_PROXY
    return Device.UNKNOWN, ""


@lru_cache(maxsize=256)
def _proxy_client(user_agent):
    lower = user_agent.lower()
    for names, client in _PROXY_CLIENTS:
        if any(name in lower for name in names):
            return client
    return MAIL_PROXY


@lru_cache(maxsize=4096)
def _parsed(user_agent):
    import ua_parser  # ~0.1 s to load the rules: paid by the first hit of a process, not by Django's start

    result = ua_parser.parse(user_agent)
    family = result.user_agent.family if result.user_agent else "Other"
    system = result.os.family if result.os else "Other"
    device = result.device
    lower = user_agent.lower()
    client = next((name for marker, name in _OWN_CLIENTS if marker in lower), None)
    if client is None:
        client = _RENAMED.get(family, family)
    return device_type(system, device.family if device else "", device.brand if device else "", lower), client[
        :CLIENT_MAX_LENGTH
    ]


def device_type(system, device_family, brand, lower_agent):
    """Computer, phone or tablet from ua-parser's OS and device families (and the agent's own words)."""
    if device_family == "iPad" or "tablet" in (brand or "").lower() or "tablet" in lower_agent:
        return Device.TABLET
    if system == "Android":
        # Android phones say "Mobile"; Android tablets do not.
        return Device.PHONE if "mobile" in lower_agent else Device.TABLET
    if device_family == "iPhone" or device_family == "iPod" or system in _PHONE_SYSTEMS:
        return Device.PHONE
    if system in _COMPUTER_SYSTEMS or device_family == "Mac":
        return Device.COMPUTER
    return Device.UNKNOWN
