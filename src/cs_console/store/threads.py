"""Reading a conversation: its header, its messages page by page, the seen marker."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, func, select, tuple_

from cs_console.domain import ConversationStatus, DeliveryState, Group, MessageKind
from cs_console.store import attachments
from cs_console.store.db import Database
from cs_console.store.models import CONVERSATION, CUSTOMER, MESSAGE, SEEN_MARKER
from cs_console.views import ConversationInfo, MessageRow

_M = MESSAGE.c
_COLUMNS = (
    _M.seq,
    _M.id,
    _M.conversation_id,
    _M.kind,
    _M.author,
    _M.body,
    _M.created_at,
    _M.delivery,
)


def _with_attachments(conn: Connection, rows: list[MessageRow]) -> list[MessageRow]:
    """The rows with their attachments (one query for the page)."""
    found = attachments.for_messages(conn, (r.message_id for r in rows))
    if not found:
        return rows
    return [
        replace(r, attachments=found[r.message_id]) if r.message_id in found else r for r in rows
    ]


def _message(r: Any) -> MessageRow:
    return MessageRow(
        seq=int(r[0]),
        message_id=str(r[1]),
        conversation_id=str(r[2]),
        kind=MessageKind(r[3]),
        author=str(r[4]),
        body=str(r[5]),
        created_at=r[6],
        delivery=DeliveryState(r[7]),
    )


def conversation_info(db: Database, conversation_id: str) -> ConversationInfo | None:
    """The conversation and its customer, or None if unknown."""
    c, cu = CONVERSATION.c, CUSTOMER.c
    stmt = (
        select(
            c.id,
            c.customer_id,
            cu.name,
            cu.language,
            cu.email,
            cu.phone,
            cu.notes,
            c.group,
            c.status,
            c.assignee,
            c.snoozed_until,
            c.waiting_since,
            c.unread_count,
            c.channel,
            c.subject,
            c.customer_typing_at,
        )
        .select_from(CONVERSATION.join(CUSTOMER, cu.id == c.customer_id))
        .where(c.id == conversation_id)
    )
    with db.read() as conn:
        r = conn.execute(stmt).first()
    if r is None:
        return None
    return ConversationInfo(
        conversation_id=r[0],
        customer_id=r[1],
        customer_name=r[2],
        customer_language=r[3],
        customer_email=r[4],
        customer_phone=r[5],
        customer_notes=r[6],
        group=Group(r[7]),
        status=ConversationStatus(r[8]),
        assignee=r[9],
        snoozed_until=r[10],
        waiting_since=r[11],
        unread_count=r[12],
        channel=r[13],
        subject=r[14],
        customer_typing_at=r[15],
    )


def latest_messages(
    db: Database, conversation_id: str, limit: int, *, before_seq: int | None = None
) -> list[MessageRow]:
    """Up to ``limit`` messages, oldest first, ending just before the message ``before_seq``
    (or at the newest message)."""
    stmt = select(*_COLUMNS).where(_M.conversation_id == conversation_id)
    with db.read() as conn:
        if before_seq is not None:
            anchor = conn.execute(select(_M.created_at).where(_M.seq == before_seq)).first()
            if anchor is not None:
                stmt = stmt.where(tuple_(_M.created_at, _M.seq) < tuple_(anchor[0], before_seq))
        stmt = stmt.order_by(_M.created_at.desc(), _M.seq.desc()).limit(limit)
        rows = conn.execute(stmt).all()
        return _with_attachments(conn, [_message(tuple(r)) for r in reversed(rows)])


def arrived_since(db: Database, conversation_id: str, seen_seq: int, me: str) -> list[MessageRow]:
    """Messages that reached this machine after ``seen_seq`` and are not the agent's own:
    what the agent has not looked at yet (customer messages, other agents' replies)."""
    stmt = (
        select(*_COLUMNS)
        .where(
            _M.conversation_id == conversation_id,
            _M.seq > seen_seq,
            _M.kind.in_((MessageKind.CUSTOMER.value, MessageKind.AGENT.value)),
            ~((_M.kind == MessageKind.AGENT.value) & (_M.author == me)),
        )
        .order_by(_M.created_at, _M.seq)
    )
    with db.read() as conn:
        return _with_attachments(conn, [_message(tuple(r)) for r in conn.execute(stmt).all()])


def seen_marker(db: Database, conversation_id: str) -> int:
    """The newest message seq the agent has had on screen (0: none)."""
    with db.read() as conn:
        found = conn.execute(
            select(SEEN_MARKER.c.seq).where(SEEN_MARKER.c.conversation_id == conversation_id)
        ).first()
    return 0 if found is None else int(found[0])


def newest_seq(db: Database, conversation_id: str) -> int:
    """The highest message seq in the conversation (0: no messages)."""
    with db.read() as conn:
        stmt = select(func.max(_M.seq)).where(_M.conversation_id == conversation_id)
        return int(conn.execute(stmt).scalar_one() or 0)
