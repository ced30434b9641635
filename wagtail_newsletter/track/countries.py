"""The country of a tracking hit's address: its ISO 3166 two-letter code, and nothing else is kept.

The lookup is ``iptocc`` (MIT/Apache-2.0): the regional internet registries' public delegation files compiled into
the package, offline, nothing downloaded at run time, about 0.1 µs a lookup. (``geoip2fast`` was the other candidate:
pure Python, ~30 µs, and its data comes from MaxMind's GeoLite2, whose licence asks for attribution and an EULA.)
Private, reserved and unknown addresses have no country (""). ``TRACK_COUNTRY = False`` turns the lookup off.

Country names for people come from Babel (BSD-3-Clause): the Unicode CLDR's names of territories, in every language
(Django ships no country list).
"""

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import get_language, to_locale
from iptocc import country_code

from ..conf import newsletter_settings


def hit_country(ip):
    """The country code of a hit from ``ip`` ("" when unknown, or when TRACK_COUNTRY is off)."""
    if not ip or not _country_on():
        return ""
    return country_of(ip)


@lru_cache(maxsize=1)
def _country_on():
    # Reading a setting costs ~9 µs (a missing attribute of Django's settings raises inside): once per process,
    # and again when tests change settings.
    return bool(newsletter_settings.TRACK_COUNTRY)


@receiver(setting_changed, dispatch_uid="wagtail_newsletter.track.countries.setting_changed")
def _forget_setting(sender, setting, **kwargs):
    if setting.startswith("WAGTAIL_NEWSLETTER"):
        _country_on.cache_clear()


@lru_cache(maxsize=4096)
def country_of(ip):
    """The two-letter code of the country ``ip`` is registered in, "" for private/reserved/garbage addresses."""
    ip = ip.strip()
    if ip[:7].lower() == "::ffff:" and "." in ip:  # an IPv4 client seen through an IPv6 socket
        ip = ip[7:]
    try:
        code = country_code(ip)
    except (TypeError, ValueError):
        return ""
    return code if code and len(code) == 2 and code.isalpha() else ""


@lru_cache(maxsize=32)
def _territory_names(language):
    """CLDR's {code: name} of territories in ``language`` (a Django language code), English when CLDR lacks it."""
    try:
        return Locale.parse(to_locale(language)).territories
    except (ValueError, TypeError, UnknownLocaleError):
        return Locale("en").territories


def country_name(code, language=None):
    """The name of the country ``code`` (two letters) in ``language`` (the active language when None): "France",
    "Allemagne"; the code itself when CLDR does not know it."""
    names = _territory_names(language or get_language() or "en")
    return names.get((code or "").upper(), code)
