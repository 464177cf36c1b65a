"""Writes to conversations and their messages that more than one path shares: an
agent's operations, a customer writing, and snoozes waking.

Snoozed conversations wake lazily: the server calls :func:`snoozes_due` before every
change-feed read and every operation and :func:`wake_due` when it says so, so no one
sees a conversation still snoozed after its time, and no timer thread needs managing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, MessageKind
from cs_console.server import limits
from cs_console.server.errors import OperationError
from cs_console.server.feed import touch
from cs_console.store import convert
from cs_console.store.models import CONVERSATION, CUSTOMER, MESSAGE, UTCDateTime


def find(conn: Connection, conversation_id: str) -> Any:
    """The conversation's row.

    Raises:
        OperationError: 404 if there is no such conversation.
    """
    row = (
        conn.execute(select(CONVERSATION).where(CONVERSATION.c.id == conversation_id))
        .mappings()
        .first()
    )
    if row is None:
        raise OperationError(404, f"no conversation {conversation_id}")
    return row


def update_row(conn: Connection, conv: Any, values: dict[str, Any]) -> None:
    """Write ``values`` to the conversation ``conv`` (its row as read), with its queue
    rank derived again, and move it to the head of the change feed."""
    merged = dict(conv) | values
    values["queue_rank"] = convert.queue_rank(merged["waiting_since"], merged["last_activity_at"])
    conn.execute(update(CONVERSATION).where(CONVERSATION.c.id == conv["id"]).values(**values))
    touch(conn, "conversation", conv["id"])


def insert_message(
    conn: Connection,
    message_id: str,
    conversation_id: str,
    kind: str,
    author: str,
    body: str,
    now: datetime,
) -> None:
    """Store a sent message and put it in the change feed."""
    conn.execute(
        insert(MESSAGE).values(
            id=message_id,
            conversation_id=conversation_id,
            kind=kind,
            author=author,
            body=body,
            created_at=now,
            delivery="sent",
        )
    )
    touch(conn, "message", message_id)


def insert_event(
    conn: Connection, event_id: str, conversation_id: str, author: str, text: str, now: datetime
) -> None:
    """An event line in the conversation (what happened to a reply's email, say): agents
    see it, the customer never does. The id is held to 64 characters and the text to
    the protocol's body limit."""
    insert_message(
        conn,
        event_id[:64],
        conversation_id,
        MessageKind.SYSTEM.value,
        author,
        limits.cut(text, p.MAX_BODY_CHARS),
        now,
    )


def add_customer_message(
    conn: Connection,
    conversation_id: str,
    body: str,
    now: datetime,
    *,
    id_base: str | None = None,
) -> list[str]:
    """A customer writes: the conversation reopens and its waiting clock starts.

    The text is sanitised and held to the protocol's limits; a message over
    ``MAX_BODY_CHARS`` arrives as numbered parts. ``id_base`` names the first message
    (the parts after it ``id_base-2``...); random ids without it. Returns the ids of
    the messages stored.

    Raises:
        OperationError: 404 if there is no such conversation.
    """
    conv = find(conn, conversation_id)
    customer = conn.execute(
        select(CUSTOMER.c.name).where(CUSTOMER.c.id == conv["customer_id"])
    ).scalar_one()
    ids = []
    for index, part in enumerate(limits.split_text(body)):
        # A microsecond apart, so every thread shows the parts in order.
        at = now + timedelta(microseconds=index)
        record = limits.fit(
            p.MessageRecord,
            {
                "id": _message_id(id_base, index),
                "conversation_id": conversation_id,
                "kind": MessageKind.CUSTOMER.value,
                "author": customer,
                "body": part,
                "created_at": at,
            },
        )
        insert_message(conn, record.id, conversation_id, "customer", record.author, record.body, at)
        ids.append(record.id)
    update_row(
        conn,
        conv,
        {
            "status": ConversationStatus.OPEN.value,
            "snoozed_until": None,
            "waiting_since": conv["waiting_since"] or now,
            "unread_count": conv["unread_count"] + len(ids),
            "customer_typing_at": None,
            "last_activity_at": now,
            "updated_at": now,
        },
    )
    return ids


def _message_id(base: str | None, index: int) -> str:
    if base is None:
        return "msg-" + uuid.uuid4().hex[:16]
    return base if index == 0 else f"{base}-{index + 1}"


# Built once: every poll runs it, and building a statement costs more than running it.
_ANY_SNOOZE_DUE = (
    select(CONVERSATION.c.id)
    .where(
        CONVERSATION.c.status == ConversationStatus.SNOOZED.value,
        CONVERSATION.c.snoozed_until <= bindparam("now", type_=UTCDateTime),
    )
    .limit(1)
)


def snoozes_due(conn: Connection, now: datetime) -> bool:
    """Whether any snoozed conversation's time has come (one indexed read)."""
    return conn.execute(_ANY_SNOOZE_DUE, {"now": now}).first() is not None


def wake_due(conn: Connection, now: datetime) -> int:
    """Return every snoozed conversation whose time has come to the open queue, with
    its waiting clock as it was, and put each in the change feed. Returns how many."""
    rows = (
        conn.execute(
            select(CONVERSATION)
            .where(
                CONVERSATION.c.status == ConversationStatus.SNOOZED.value,
                CONVERSATION.c.snoozed_until <= now,
            )
            .order_by(CONVERSATION.c.snoozed_until)
        )
        .mappings()
        .all()
    )
    for conv in rows:
        update_row(
            conn,
            conv,
            {"status": ConversationStatus.OPEN.value, "snoozed_until": None, "updated_at": now},
        )
    return len(rows)
