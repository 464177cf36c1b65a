"""The console's order remarks, as kept in a Medusa order's ``metadata``.

Medusa has no notes endpoint, so the adapter keeps remarks as a JSON list under
:data:`REMARKS_KEY` in the order's metadata. Entries are read defensively: one of the
wrong shape, or written by hand without a usable id, is dropped or given an id of ours,
never fatal. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cs_console import protocol as p
from cs_console.backends.medusa_wire import MAX_ID, Json, MappingError, make_id, when
from cs_console.domain import FlagColour

#: The order ``metadata`` key that holds the console's remarks (a JSON list).
REMARKS_KEY = "cs_console_remarks"


def remark_entries(metadata: object) -> list[dict[str, Any]]:
    """The remark entries stored in an order's metadata (a JSON list, or a JSON string
    holding one); entries of the wrong shape are dropped, never fatal."""
    if not isinstance(metadata, Mapping):
        return []
    raw = metadata.get(REMARKS_KEY)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    if not isinstance(raw, list):
        return []
    return [dict(entry) for entry in raw if isinstance(entry, Mapping)]


def remarks_of(order: Json, oid: str) -> list[p.RemarkRecord]:
    """The console remarks kept in the order's metadata.

    An entry written by the console keeps the console's remark id, so the pulled remark
    replaces the one the agent's store wrote locally instead of showing twice; an entry
    without a usable id (written by hand) gets ``medusa:r<hash>``.
    """
    out: list[p.RemarkRecord] = []
    for index, entry in enumerate(remark_entries(order.get("metadata"))):
        try:
            flag = FlagColour(str(entry.get("flag")))
            created = when(entry.get("created_at"), "remark.created_at")
        except (ValueError, MappingError):
            continue
        raw_id = entry.get("id")
        if isinstance(raw_id, str) and raw_id and len(raw_id) <= MAX_ID and _safe_id(raw_id):
            rid = raw_id
        else:
            rid = make_id("r", hashlib.sha256(f"{oid}\n{index}\n{entry}".encode()).hexdigest()[:40])
        body = entry.get("text")
        author = entry.get("author")
        if not isinstance(body, str) or not body.strip():
            continue
        out.append(
            p.RemarkRecord(
                id=rid,
                order_id=oid,
                flag=flag,
                text=body[: p.MAX_BODY_CHARS],
                author=(author if isinstance(author, str) and author else "Medusa")[
                    : p.MAX_NAME_CHARS
                ],
                created_at=created,
            )
        )
    return out


def _safe_id(value: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "_.:-") for c in value)
