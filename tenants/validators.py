from __future__ import annotations

import functools

from babel import Locale

from tenants.errors import TenantError, TenantErrorCode

# CLDR territory codes that are not countries.
NON_COUNTRY_TERRITORIES = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


@functools.cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English name, from the CLDR data shipped with Babel."""
    names = Locale("en").territories
    return {
        code: names[code]
        for code in sorted(names, key=names.get)
        if len(code) == 2 and code.isalpha() and code not in NON_COUNTRY_TERRITORIES
    }


def country_validate(country: str) -> str:
    code = (country or "").strip().upper()
    if code not in countries():
        raise TenantError(
            TenantErrorCode.COUNTRY_INVALID,
            f"{country!r} is not an ISO 3166-1 country code (for example DE, FR, US).",
            param="country",
        )
    return code
