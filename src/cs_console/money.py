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


def format_money(minor: int, currency: str) -> str:
    """``7800, "CNY"`` -> ``¥78.00`` (VND has no minor unit: ``50000, "VND"`` ->
    ``₫50,000``); an unknown currency keeps its code."""
    sign = _SIGNS.get(currency, currency + " ")
    digits = currency_digits(currency)
    return f"{sign}{minor / 10**digits:,.{digits}f}"
