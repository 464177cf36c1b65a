"""Rendering untrusted text: sanitised, never parsed as markup, fitted by terminal cells.

Everything a customer or a backend wrote reaches the screen through these helpers.
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size
from textual.content import Content

from cs_console.money import format_money
from cs_console.sanitize import sanitize, sanitize_line


def safe(text: str | None) -> Content:
    """Untrusted text as literal Content (no markup, no escape sequences)."""
    return Content(sanitize(text or ""))


def safe_line(text: str | None) -> str:
    """Untrusted text folded onto one line and sanitised (for list cells)."""
    return sanitize_line(text or "")


def fit(text: str, width: int) -> str:
    """Pad or cut ``text`` to exactly ``width`` terminal cells (CJK and emoji count two)."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


def local_time(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """A stored UTC time shown in the machine's local zone."""
    return "" if value is None else value.astimezone().strftime(fmt)


def money(minor: int, currency: str) -> str:
    """Minor units as an amount with its currency sign."""
    return format_money(minor, currency)
