"""A business's time zone and locale: what it chose, or what its country suggests (from the
CLDR data Babel ships). The portal activates both for each request of that business, so every
time reads in the business's zone and every amount it types is parsed in its locale."""

from __future__ import annotations

import zoneinfo
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache

from babel.core import Locale, UnknownLocaleError, get_global
from babel.localedata import locale_identifiers
from django.utils import timezone

DEFAULT_TIME_ZONE = "UTC"
DEFAULT_LOCALE = "en"

_active_locale: ContextVar[str] = ContextVar("business_locale", default=DEFAULT_LOCALE)


def country_time_zone(country: str) -> str:
    """The country's first CLDR zone ("DE" -> "Europe/Berlin"); UTC for an unknown country."""
    zones = get_global("territory_zones").get((country or "").upper()) or [DEFAULT_TIME_ZONE]
    return zones[0]


def country_locale(country: str) -> str:
    """The country's likely locale ("DE" -> "de_DE", "CH" -> "de_CH"); English if unknown."""
    subtags = get_global("likely_subtags").get(f"und_{(country or '').upper()}")
    if not subtags:
        return DEFAULT_LOCALE
    return str(Locale.parse(subtags))


def merchant_time_zone(merchant) -> str:
    return merchant.time_zone or country_time_zone(merchant.country)


def merchant_locale(merchant) -> str:
    return merchant.locale or country_locale(merchant.country)


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


@cache
def locale_choices() -> list[tuple[str, str]]:
    """Locales with a territory ("de_DE", "en_GB"): the ones whose number format is settled."""
    choices = []
    for identifier in sorted(locale_identifiers()):
        if identifier.count("_") != 1:
            continue
        try:
            name = Locale.parse(identifier).get_display_name("en")
        except (UnknownLocaleError, ValueError):
            continue
        choices.append((identifier, f"{name} ({identifier})"))
    return choices


def time_zone_valid(name: str) -> bool:
    return name in zoneinfo.available_timezones()


def locale_valid(identifier: str) -> bool:
    return identifier in dict(locale_choices())


def active_locale() -> str:
    """The locale of the business whose portal page is being served (English elsewhere)."""
    return _active_locale.get()


@contextmanager
def merchant_regional(merchant):
    """Times in the business's zone and amounts in its locale for the duration of a request."""
    token = _active_locale.set(merchant_locale(merchant))
    try:
        with timezone.override(zoneinfo.ZoneInfo(merchant_time_zone(merchant))):
            yield
    finally:
        _active_locale.reset(token)
