"""Quick replies in the client store: the shop's published library (pulled by sync)
and every use an agent makes of a reply."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from cs_console import protocol as p
from cs_console.store import convert
from cs_console.store.db import Database
from cs_console.store.models import REPLY_USE, SHOP_REPLY

_U = REPLY_USE.c


@dataclass(frozen=True, slots=True)
class ReplyUseRow:
    """One recorded insertion of a reply."""

    reply_id: str
    agent: str
    used_at: datetime
    how: str
    conversation_id: str | None


def shop_replies(db: Database) -> list[p.ReplyRecord]:
    """The shop's published replies that are live (tombstones left out), by id."""
    with db.read() as conn:
        rows = (
            conn.execute(
                select(SHOP_REPLY).where(SHOP_REPLY.c.deleted.is_(False)).order_by(SHOP_REPLY.c.id)
            )
            .mappings()
            .all()
        )
    records: list[p.ReplyRecord] = []
    for row in rows:
        record = convert.to_record(p.ReplyRecord, row)
        assert isinstance(record, p.ReplyRecord)
        records.append(record)
    return records


def shop_replies_stamp(db: Database) -> str:
    """A short text that changes whenever the shop's published replies change."""
    with db.read() as conn:
        count, newest = conn.execute(select(func.count(), func.max(SHOP_REPLY.c.updated_at))).one()
    return f"{count}:{newest or ''}"


def add_use(
    db: Database,
    *,
    reply_id: str,
    agent: str,
    used_at: datetime,
    how: str,
    conversation_id: str | None,
) -> None:
    """Record one use of a reply."""
    with db.write() as conn:
        conn.execute(
            insert(REPLY_USE).values(
                reply_id=reply_id,
                agent=agent,
                used_at=used_at,
                how=how,
                conversation_id=conversation_id,
            )
        )


def use_counts(
    db: Database,
    *,
    agent: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """Uses per reply id, for one agent or everyone, within ``[since, until)``."""
    stmt = select(_U.reply_id, func.count()).group_by(_U.reply_id)
    if agent is not None:
        stmt = stmt.where(_U.agent == agent)
    if since is not None:
        stmt = stmt.where(_U.used_at >= since)
    if until is not None:
        stmt = stmt.where(_U.used_at < until)
    with db.read() as conn:
        return {str(reply_id): int(count) for reply_id, count in conn.execute(stmt)}


def uses_between(db: Database, start: datetime, end: datetime) -> list[ReplyUseRow]:
    """Every use in ``[start, end)``, oldest first."""
    with db.read() as conn:
        rows = conn.execute(
            select(_U.reply_id, _U.agent, _U.used_at, _U.how, _U.conversation_id)
            .where(_U.used_at >= start, _U.used_at < end)
            .order_by(_U.used_at, _U.seq)
        ).all()
    return [ReplyUseRow(str(r[0]), str(r[1]), r[2], str(r[3]), r[4]) for r in rows]
