"""Where a Chatwoot pull stands, as the printable cursor the sync engine stores.

A sweep walks the conversation list (newest activity first) page by page down to the
watermark of the previous sweep (see "Pulling" in :mod:`cs_console.backends.chatwoot`);
the cursor is that watermark, the next one and the page, as compact JSON.
"""

from __future__ import annotations

import json


def encode_cursor(watermark: int, next_watermark: int, page: int) -> str:
    """The pull position as compact JSON: the sweep's watermark, the next one, the page.

    A sweep walks the conversation list (newest activity first) from page 1 until a
    page holds nothing at or after ``watermark``; ``next_watermark`` is the newest
    activity seen on page 1 when the sweep began, so whatever moves while we walk is
    caught by the next sweep.
    """
    return json.dumps({"w": watermark, "n": next_watermark, "p": page}, separators=(",", ":"))


def decode_cursor(cursor: str) -> tuple[int, int, int]:
    """(watermark, next watermark, page) of ``cursor``; the start for "" or a stranger."""
    if not cursor:
        return 0, 0, 1
    try:
        data = json.loads(cursor)
    except ValueError:
        return 0, 0, 1
    if not isinstance(data, dict):
        return 0, 0, 1
    values: list[int] = []
    for key in ("w", "n", "p"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return 0, 0, 1
        values.append(value)
    watermark, next_watermark, page = values
    return watermark, next_watermark, max(page, 1)
