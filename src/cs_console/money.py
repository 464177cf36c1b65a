"""Money as people read it: minor units to an amount with its sign."""

from __future__ import annotations

_SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "VND": "₫"}


def format_money(minor: int, currency: str) -> str:
    """``7800, "CNY"`` -> ``¥78.00``; an unknown currency keeps its code."""
    sign = _SIGNS.get(currency, currency + " ")
    return f"{sign}{minor / 100:,.2f}"
