"""The change feed's one write: move an entity to the head of the feed."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select

from cs_console.store.models import CHANGE


def touch(conn: Connection, entity: str, entity_id: str) -> None:
    """Move ``entity_id`` to the head of the change feed.

    The new ``seq`` is taken above the current highest *before* the old row goes:
    SQLite's rowid (the table has no AUTOINCREMENT) would otherwise hand the deleted
    head's number out again, and a client whose cursor already stands there would
    never see the change. Writes are serialised, so max + 1 cannot collide."""
    head = conn.execute(select(func.coalesce(func.max(CHANGE.c.seq), 0))).scalar_one()
    conn.execute(delete(CHANGE).where(CHANGE.c.entity == entity, CHANGE.c.entity_id == entity_id))
    conn.execute(insert(CHANGE).values(seq=int(head) + 1, entity=entity, entity_id=entity_id))
