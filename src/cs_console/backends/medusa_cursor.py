"""Where a Medusa pull stands, as the printable cursor the sync engine stores.

The cursor holds one :class:`Mark` per stream (orders, and payments, since a capture
changes the payment but not the order): the newest ``updated_at`` delivered, in
Medusa's own ISO text, and short fingerprints of the rows already delivered at
exactly that time; while a crowded millisecond is read in id order, also how many of
its rows have been read (see "Incremental pull" in :mod:`cs_console.backends.medusa`).
It is compact JSON, printable ASCII, well under 1000 characters.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cs_console.backends import medusa_wire as mw
from cs_console.backends.base import BadResponse

#: Fingerprints of rows at the cursor's time kept in the cursor (12 hex chars each).
MAX_SEEN = 48
EPOCH = "1970-01-01T00:00:00.000Z"


@dataclass(slots=True)
class Mark:
    """How far one stream (orders or payments) has been read."""

    at: str = ""  # Medusa's own ISO text of the newest updated_at delivered
    seen: list[str] = field(default_factory=list)  # fingerprints of rows at exactly ``at``
    #: Set while reading one crowded millisecond (``at``) in id order: rows read so far.
    tie: int | None = None

    def advance(self, rows: list[Mapping[str, Any]]) -> None:
        """Move past ``rows`` (sorted by updated_at, as Medusa returned them)."""
        if not rows:
            return
        newest = mw.text(max(rows, key=row_time).get("updated_at"), "updated_at")
        newest_time = mw.when(newest, "updated_at")
        same = [fingerprint(row) for row in rows if row_time(row) == newest_time]
        if self.at and mw.when(self.at, "cursor") == newest_time:
            same = [*self.seen, *(f for f in same if f not in self.seen)]
        self.at = newest
        # Oldest fingerprints go first: forgetting one only means pulling that row again.
        self.seen = same[-MAX_SEEN:]

    def fresh(self, rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """``rows`` without those already delivered at the cursor's time."""
        if not self.at:
            return rows
        at = mw.when(self.at, "cursor")
        return [r for r in rows if not (row_time(r) == at and fingerprint(r) in self.seen)]


def row_time(row: Mapping[str, Any]) -> datetime:
    """A row's ``updated_at`` (MappingError when it has no usable one)."""
    return mw.when(row.get("updated_at"), "updated_at")


def fingerprint(row: Mapping[str, Any]) -> str:
    """A short hash of a row's id, as the cursor remembers rows."""
    return hashlib.sha256(str(row.get("id")).encode()).hexdigest()[:12]


def encode_cursor(orders: Mark, payments: Mark) -> str:
    """Both marks as compact JSON (printable ASCII, well under 1000 chars)."""

    def state(mark: Mark) -> list[Any]:
        return [mark.at, mark.seen] if mark.tie is None else [mark.at, mark.seen, mark.tie]

    return json.dumps({"v": 1, "o": state(orders), "p": state(payments)}, separators=(",", ":"))


def decode_cursor(cursor: str) -> tuple[Mark, Mark]:
    """The marks in ``cursor``; a fresh start for "" (BadResponse for anything else)."""
    if not cursor:
        return Mark(), Mark()
    try:
        data = json.loads(cursor)
        marks = []
        for name in ("o", "p"):
            at, seen, *tie = data[name]
            if not isinstance(at, str) or not all(isinstance(s, str) for s in seen):
                raise TypeError(name)
            if tie and (not isinstance(tie[0], int) or tie[0] < 0 or not at):
                raise TypeError(name)
            if at:
                mw.when(at, "cursor")
            marks.append(Mark(at, list(seen), tie[0] if tie else None))
    except (ValueError, TypeError, KeyError, mw.MappingError):
        raise BadResponse("the stored Medusa cursor is not one of ours") from None
    return marks[0], marks[1]
