"""Time as the store keeps it: always timezone-aware, always UTC."""

from __future__ import annotations

from datetime import UTC, datetime

#: Fixed width so that the text sorts like the time it stands for. The year is padded
#: by hand: strftime's %Y writes year 796 as "796", which neither sorts nor parses back.
_STORE_FORMAT = "-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; a naive one is a bug, so refuse it."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: times must carry a zone")
    return value.astimezone(UTC)


def format_stored(value: datetime) -> str:
    """The text form kept in SQLite and sent on the wire."""
    utc = to_utc(value)
    return f"{utc.year:04d}" + utc.strftime(_STORE_FORMAT)


def parse_stored(text: str) -> datetime:
    """Read back what :func:`format_stored` wrote (or any ISO 8601 time with a zone)."""
    parsed = datetime.fromisoformat(text)
    return to_utc(parsed)


def humanize_duration(seconds: float) -> str:
    """A compact waiting clock: ``45s``, ``3m05s``, ``2h14m``, ``3d04h``."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
