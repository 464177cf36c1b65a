"""Small key/value facts (sync cursor, server id, agent name) and composer drafts."""

from __future__ import annotations

from sqlalchemy import delete, select

from cs_console.store.convert import upsert
from cs_console.store.db import Database
from cs_console.store.models import DRAFT, SEEN_MARKER, SYNC_STATE
from cs_console.timeutil import utcnow


def get_state(db: Database, key: str) -> str | None:
    """The value stored under ``key``, or None."""
    with db.read() as conn:
        found = conn.execute(select(SYNC_STATE.c.value).where(SYNC_STATE.c.key == key)).first()
    return None if found is None else str(found[0])


def set_state(db: Database, values: dict[str, str | None]) -> None:
    """Store several values at once; None deletes a key."""
    with db.write() as conn:
        for key, value in values.items():
            if value is None:
                conn.execute(delete(SYNC_STATE).where(SYNC_STATE.c.key == key))
            else:
                upsert(conn, SYNC_STATE, [{"key": key, "value": value}], ["key"])


def get_draft(db: Database, conversation_id: str, mode: str) -> str:
    """The unsent text for this conversation and mode ('' if none)."""
    d = DRAFT.c
    with db.read() as conn:
        found = conn.execute(
            select(d.body).where(d.conversation_id == conversation_id, d.mode == mode)
        ).first()
    return "" if found is None else str(found[0])


def set_draft(db: Database, conversation_id: str, mode: str, body: str) -> None:
    """Keep ``body`` as the draft; an empty body removes it."""
    d = DRAFT.c
    with db.write() as conn:
        if body:
            row = {
                "conversation_id": conversation_id,
                "mode": mode,
                "body": body,
                "updated_at": utcnow(),
            }
            upsert(conn, DRAFT, [row], ["conversation_id", "mode"])
        else:
            conn.execute(delete(DRAFT).where(d.conversation_id == conversation_id, d.mode == mode))


def set_seen(db: Database, conversation_id: str, seq: int) -> None:
    """Remember the newest message the agent has had on screen."""
    with db.write() as conn:
        upsert(
            conn,
            SEEN_MARKER,
            [{"conversation_id": conversation_id, "seq": seq}],
            ["conversation_id"],
        )
