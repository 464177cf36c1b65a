"""The notation of the story files: offsets (``"10d 5h -3m"``, ``"night 6m"``) and
placeholders (``{total}``, ``{date:-3d 3h}``). ``builder.py`` documents both."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cs_console.demo.resources import DemoDataError
from cs_console.demo.shop import SHOP_CLOCK

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_TERM = re.compile(r"([+-]?)(\d+)([dhms])")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([^{}]*))?\}")
#: Placeholders about one order, which take its name as their argument.
ORDER_PLACEHOLDERS = frozenset({"total", "number", "carrier", "tracking", "reissue", "new_address"})
#: The other placeholders, and whether they need an argument.
OTHER_PLACEHOLDERS = {"address": False, "date": True, "product": True, "return_address": False}


@dataclass(frozen=True)
class Offset:
    """A moment before ``now``, written as in the story file."""

    text: str
    seconds: int
    night: bool = False

    def ago(self, now: datetime) -> int:
        """Seconds before ``now`` (negative: in the future)."""
        return self.seconds + (_last_night(now) if self.night else 0)


def _last_night(now: datetime) -> int:
    """Seconds since the latest 00:40 on the shop's clock that is at least 20 minutes old."""
    local = now.astimezone(SHOP_CLOCK)
    night = local.replace(hour=0, minute=40, second=0, microsecond=0)
    if night > local - timedelta(minutes=20):
        night -= timedelta(days=1)
    return int((local - night).total_seconds())


def parse_offset(text: str) -> Offset:
    """Read an offset such as ``"10d 5h -3m"`` or ``"night 6m"``.

    Raises:
        DemoDataError: it is not in the notation.
    """
    words = text.split()
    night = bool(words) and words[0] == "night"
    terms = words[1:] if night else words
    seconds = 0
    for term in terms:
        match = _TERM.fullmatch(term)
        if match is None:
            raise DemoDataError(f"{text!r} is not an offset like '2d 3h' or 'night -1m'")
        sign, amount, unit = match.groups()
        seconds += (-1 if sign == "-" else 1) * int(amount) * _UNITS[unit]
    if not words:
        raise DemoDataError("an offset is empty")
    return Offset(text=text, seconds=seconds, night=night)


def placeholders(text: str) -> list[tuple[str, str | None]]:
    """The placeholders in ``text``: (name, argument or None)."""
    return [(m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(text)]


def render(text: str, value: Callable[[str, str | None], str]) -> str:
    """``text`` with each placeholder replaced by ``value(name, argument)``."""
    return _PLACEHOLDER.sub(lambda m: value(m.group(1), m.group(2)), text)
