"""Reading handover notes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from cs_console.store.db import Database
from cs_console.store.models import HANDOVER


def latest(
    db: Database, *, before: datetime | None = None
) -> tuple[str, str, datetime, str] | None:
    """The newest handover (author, note, created at, id), optionally before a time."""
    h = HANDOVER.c
    stmt = select(h.author, h.note, h.created_at, h.id).order_by(h.created_at.desc()).limit(1)
    if before is not None:
        stmt = stmt.where(h.created_at < before)
    with db.read() as conn:
        found = conn.execute(stmt).first()
    return None if found is None else (found[0], found[1], found[2], found[3])
