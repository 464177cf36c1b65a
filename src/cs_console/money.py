"""Money as people read it: minor units to an amount with its sign."""

from __future__ import annotations

_ZERO_DIGIT_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"}
    | {"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}
)
_THREE_DIGIT_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def currency_digits(currency: str) -> int:
    """How many decimal places the currency's minor unit has (CNY 2, JPY 0, KWD 3)."""
    if currency in _ZERO_DIGIT_CURRENCIES:
        return 0
    if currency in _THREE_DIGIT_CURRENCIES:
        return 3
    return 2


_SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "VND": "₫"}

#: Interface language -> (thousands separator, decimal separator, sign after the
#: amount). English and Chinese write ``¥1,234.50``; Spanish and Vietnamese, as CLDR
#: has them, ``1.234,50 ¥``. Kept here rather than pulling in Babel at run time.
_CONVENTIONS: dict[str, tuple[str, str, bool]] = {
    "en": (",", ".", False),
    "zh-CN": (",", ".", False),
    "es": (".", ",", True),
    "vi": (".", ",", True),
}


def format_money(minor: int, currency: str, *, language: str | None = None) -> str:
    """``7800, "CNY"`` -> ``¥78.00`` (VND has no minor unit: ``50000, "VND"`` ->
    ``₫50,000``); an unknown currency keeps its code.

    Args:
        minor: The amount in minor units.
        currency: ISO 4217 code.
        language: An interface language (``es``: ``78,00 ¥``); None or an unknown one
            writes it the English way.
    """
    sign = _SIGNS.get(currency, currency)
    digits = currency_digits(currency)
    english = f"{minor / 10**digits:,.{digits}f}"
    grouping, decimal, sign_after = _CONVENTIONS.get(language or "en", _CONVENTIONS["en"])
    if (grouping, decimal) != (",", "."):
        english = english.translate({ord(","): grouping, ord("."): decimal})
    if sign_after:
        return f"{english}\N{NO-BREAK SPACE}{sign}"
    return f"{sign}{english}" if currency in _SIGNS else f"{sign} {english}"
