"""Records that enter the server in bulk, not as an agent's operation: a shop's data
loaded (the demo, tests, an import) and the shop's quick-reply library published.

Both hold every record to the protocol's limits again, cutting text past them with a
visible mark, and put what they write in the change feed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, select, update

from cs_console import protocol as p
from cs_console.server import limits
from cs_console.server.feed import ENTITIES, key_column, touch
from cs_console.store import convert
from cs_console.store.models import SHOP_REPLY

# Entity name in the change feed -> the row its record is stored as.
_ROWS: dict[str, Callable[[Any], convert.Row]] = {
    "agent": convert.agent_row,
    "customer": convert.customer_row,
    "conversation": convert.conversation_row,
    "message": convert.message_row,
    "order": convert.order_row,
    "order_event": convert.event_row,
    "remark": convert.remark_row,
    "case": convert.case_row,
    "case_event": convert.case_event_row,
    "handover": convert.handover_row,
    "reply": convert.reply_row,
}


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What publishing the shop's quick-reply library changed."""

    added: int
    updated: int
    deleted: int
    unchanged: int

    def summary(self) -> str:
        """One line for a person: "3 added, 1 updated, 0 deleted, 270 unchanged"."""
        return (
            f"{self.added} added, {self.updated} updated, {self.deleted} deleted, "
            f"{self.unchanged} unchanged"
        )


def load_records(conn: Connection, records: dict[str, list[p.Record]]) -> None:
    """Insert or replace records (entity name -> list), parents first, and put each in
    the change feed.

    Raises:
        ValueError: a record breaks a rule other than a length.
    """
    for entity in ENTITIES:  # the feed's order puts parents before their children
        batch = records.get(entity, [])
        if not batch:
            continue
        table, model, _ = ENTITIES[entity]
        key = key_column(entity)
        # A record built without validation (model_construct, model_copy) would
        # otherwise carry text past the limits into the feed.
        rows = [_ROWS[entity](_fitted(model, r)) for r in batch]
        convert.upsert(conn, table, rows, [key], keep=["seq"] if entity == "message" else ())
        for row in rows:
            touch(conn, entity, row[key])


def publish_replies(
    conn: Connection, records: Sequence[p.ReplyRecord], now: datetime
) -> PublishReport:
    """Make ``records`` the shop's whole published library.

    New and changed replies get ``updated_at`` = ``now`` and enter the change feed; a
    published reply missing from ``records`` becomes a tombstone (``deleted``), which
    the feed carries to every client; unchanged replies are left alone, so publishing
    the same library twice moves nothing.
    """
    added = updated = unchanged = 0
    existing = {str(row["id"]): dict(row) for row in conn.execute(select(SHOP_REPLY)).mappings()}
    rows = []
    for record in records:
        fitted = _fitted(p.ReplyRecord, record.model_copy(update={"updated_at": now}))
        row = convert.reply_row(fitted)
        row["deleted"] = False
        old = existing.get(record.id)
        if old is None or old["deleted"]:
            added += 1
        elif _same_reply(old, row):
            unchanged += 1
            continue
        else:
            updated += 1
        rows.append(row)
    convert.upsert(conn, SHOP_REPLY, rows, ["id"])
    for row in rows:
        touch(conn, "reply", row["id"])
    wanted = {record.id for record in records}
    gone = sorted(
        reply_id
        for reply_id, row in existing.items()
        if not row["deleted"] and reply_id not in wanted
    )
    for reply_id in gone:
        conn.execute(
            update(SHOP_REPLY)
            .where(SHOP_REPLY.c.id == reply_id)
            .values(deleted=True, updated_at=now)
        )
        touch(conn, "reply", reply_id)
    return PublishReport(added=added, updated=updated, deleted=len(gone), unchanged=unchanged)


def _same_reply(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a published reply's content is unchanged (its time and flag aside)."""
    return all(
        old[key] == value for key, value in new.items() if key not in ("updated_at", "deleted")
    )


def _fitted(model: type[p.Record], record: p.Record) -> Any:
    """``record`` checked against the protocol's limits again, cut to fit."""
    try:
        return model.model_validate(record.model_dump(), strict=False)
    except ValidationError:
        return limits.fit(model, record.model_dump())
