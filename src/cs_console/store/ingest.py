"""Applying a pulled page of changes to the client store, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, update

from cs_console import protocol as p
from cs_console.store import attachments, convert, links
from cs_console.store.db import Database
from cs_console.store.models import (
    AGENT,
    CASE,
    CASE_EVENT,
    CONVERSATION,
    CUSTOMER,
    HANDOVER,
    MESSAGE,
    ORDER,
    ORDER_EVENT,
    ORDER_REMARK,
    SHOP_REPLY,
)

SNIPPET_CHARS = 160


def latest_snippet(conversation_id: Any) -> ColumnElement[Any]:
    """SQL for the text of a conversation's newest customer or agent message ('' if none)."""
    latest = (
        select(func.substr(MESSAGE.c.body, 1, SNIPPET_CHARS))
        .where(
            MESSAGE.c.conversation_id == conversation_id,
            MESSAGE.c.kind.in_(("customer", "agent")),
        )
        .order_by(MESSAGE.c.created_at.desc(), MESSAGE.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, "")


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one page changed."""

    records: int
    messages: int
    conversations: int


def apply_page(db: Database, page: p.ChangePage) -> IngestReport:
    """Write every record of ``page``; parents before children, all or nothing."""
    with db.write() as conn:
        convert.upsert(conn, AGENT, [convert.agent_row(r) for r in page.agents], ["name"])
        convert.upsert(conn, CUSTOMER, [convert.customer_row(r) for r in page.customers], ["id"])
        links.index_customers(conn, page.customers)
        convert.upsert(
            conn,
            CONVERSATION,
            [convert.conversation_row(r) for r in page.conversations],
            ["id"],
            keep=["snippet"],
        )
        convert.upsert(
            conn, MESSAGE, [convert.message_row(r) for r in page.messages], ["id"], keep=["seq"]
        )
        attachments.ingest(conn, page.messages)
        convert.upsert(conn, ORDER, [convert.order_row(r) for r in page.orders], ["id"])
        convert.upsert(conn, ORDER_EVENT, [convert.event_row(r) for r in page.order_events], ["id"])
        convert.upsert(conn, ORDER_REMARK, [convert.remark_row(r) for r in page.remarks], ["id"])
        convert.upsert(conn, CASE, [convert.case_row(r) for r in page.cases], ["id"])
        convert.upsert(
            conn, CASE_EVENT, [convert.case_event_row(r) for r in page.case_events], ["id"]
        )
        convert.upsert(conn, HANDOVER, [convert.handover_row(r) for r in page.handovers], ["id"])
        # A tombstone is kept, not deleted: the library layer skips it (shop_replies).
        convert.upsert(conn, SHOP_REPLY, [convert.reply_row(r) for r in page.replies], ["id"])
        touched = {m.conversation_id for m in page.messages} | {c.id for c in page.conversations}
        if touched:
            conn.execute(
                update(CONVERSATION)
                .where(CONVERSATION.c.id.in_(bindparam("ids", expanding=True)))
                .values(snippet=latest_snippet(CONVERSATION.c.id)),
                {"ids": sorted(touched)},
            )
    return IngestReport(
        records=page.count(), messages=len(page.messages), conversations=len(touched)
    )
