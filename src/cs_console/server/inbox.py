"""The one door by which customers' words enter the server, whatever the channel: the
web widget, the mailbox and the demo's simulator all come through here.

A channel knows who writes (a :class:`Contact`); the inbox finds that customer (by
email, then phone, then an order they name) or adds them, opens a conversation on the
channel, and stores what they write with the same sanitising and limits as everything
else (``conversations.add_customer_message``). What a customer may read back is only
their own conversation's customer and agent messages: never a note, never a system line.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, Group, MessageKind
from cs_console.server import attachments, limits
from cs_console.server import conversations as convs
from cs_console.server.attachments import AttachmentFolder
from cs_console.server.feed import touch
from cs_console.store import convert
from cs_console.store.models import ATTACHMENT, CONVERSATION, CUSTOMER, MESSAGE, ORDER

#: The kinds a customer may read back.
CUSTOMER_SEES = (MessageKind.CUSTOMER.value, MessageKind.AGENT.value)


@dataclass(frozen=True)
class Contact:
    """Who writes, as far as the channel knows (every field untrusted)."""

    name: str = ""
    email: str | None = None
    phone: str | None = None
    language: str = "en"
    order_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncomingFile:
    """A file a customer sent (a photo from the widget, an email attachment)."""

    file_name: str
    data: bytes


@dataclass(frozen=True)
class SeenMessage:
    """A message as its customer may see it."""

    id: str
    kind: str  # "customer" or "agent"
    author: str
    body: str
    created_at: datetime
    attachments: list[p.AttachmentRecord] = field(default_factory=list)


def _clean_email(email: str | None) -> str | None:
    found = (email or "").strip().lower()
    return found if found and "@" in found and len(found) <= 254 else None


def find_or_add_customer(conn: Connection, contact: Contact, now: datetime) -> str:
    """The customer ``contact`` is: matched by email, then phone, then the owner of an
    order number they name; else a new customer. A match gains the email or phone it
    lacked (never loses one). Returns the customer's id."""
    email = _clean_email(contact.email)
    phone = (contact.phone or "").strip() or None
    row: Any = None
    if email:
        row = (
            conn.execute(select(CUSTOMER).where(func.lower(CUSTOMER.c.email) == email))
            .mappings()
            .first()
        )
    if row is None and phone:
        row = conn.execute(select(CUSTOMER).where(CUSTOMER.c.phone == phone)).mappings().first()
    if row is None and contact.order_numbers:
        owner = conn.execute(
            select(ORDER.c.customer_id).where(ORDER.c.number.in_(list(contact.order_numbers)[:20]))
        ).first()
        if owner is not None:
            row = conn.execute(select(CUSTOMER).where(CUSTOMER.c.id == owner[0])).mappings().first()
    if row is not None:
        gained: dict[str, Any] = {}
        if email and not row["email"]:
            gained["email"] = email
        if phone and not row["phone"]:
            gained["phone"] = phone
        if gained:
            conn.execute(
                update(CUSTOMER).where(CUSTOMER.c.id == row["id"]).values(**gained, updated_at=now)
            )
            touch(conn, "customer", row["id"])
        return str(row["id"])
    name = contact.name.strip() or (email.split("@")[0] if email else "") or "visitor"
    record = limits.fit(
        p.CustomerRecord,
        {
            "id": "cust-" + uuid.uuid4().hex[:16],
            "name": name,
            "email": email,
            "phone": phone,
            "language": contact.language or "en",
            "updated_at": now,
        },
    )
    conn.execute(insert(CUSTOMER).values(**convert.customer_row(record)))
    touch(conn, "customer", record.id)
    return record.id


def open_conversation(
    conn: Connection,
    channel: str,
    customer_id: str,
    now: datetime,
    *,
    subject: str | None = None,
    group: Group = Group.PRE_SALE,
) -> str:
    """A new open conversation of ``customer_id`` on ``channel``; its waiting clock
    starts with the first message. Returns its id."""
    record = limits.fit(
        p.ConversationRecord,
        {
            "id": "conv-" + uuid.uuid4().hex[:12],
            "customer_id": customer_id,
            "channel": channel,
            "group": group,
            "status": ConversationStatus.OPEN,
            "last_activity_at": now,
            "updated_at": now,
            "subject": subject,
        },
    )
    conn.execute(insert(CONVERSATION).values(**convert.conversation_row(record)))
    touch(conn, "conversation", record.id)
    return record.id


def open_chat_of(conn: Connection, customer_id: str) -> str | None:
    """The customer's most recent chat (not email) that is not resolved, if any."""
    found = conn.execute(
        select(CONVERSATION.c.id)
        .where(
            CONVERSATION.c.customer_id == customer_id,
            CONVERSATION.c.channel != "email",
            CONVERSATION.c.status != ConversationStatus.RESOLVED.value,
        )
        .order_by(CONVERSATION.c.last_activity_at.desc())
        .limit(1)
    ).first()
    return str(found[0]) if found else None


def message_ids_for(conversation_id: str, key: str) -> str:
    """The id of the message a customer's client key names (the same key, the same id:
    a retried send finds what the first stored)."""
    digest = hashlib.sha256(f"{conversation_id}\n{key}".encode()).hexdigest()[:16]
    return f"msg-c{digest}"


def already_written(conn: Connection, conversation_id: str, key: str) -> list[str]:
    """The ids stored under ``key`` before (empty if none): the first and its parts."""
    base = message_ids_for(conversation_id, key)
    rows = conn.execute(
        select(MESSAGE.c.id)
        .where(or_(MESSAGE.c.id == base, MESSAGE.c.id.like(base + "-%")))
        .order_by(MESSAGE.c.created_at, MESSAGE.c.id)
    ).all()
    return [str(r[0]) for r in rows]


def customer_writes(
    conn: Connection,
    folder: AttachmentFolder,
    conversation_id: str,
    body: str,
    files: tuple[IncomingFile, ...],
    now: datetime,
    *,
    key: str | None = None,
) -> list[str]:
    """Store what a customer wrote, with its files on the last part. With ``key``, the
    same key again stores nothing and returns the first answer's ids.

    Raises:
        OperationError: 404 no such conversation; what a file's check refuses (then
            nothing is stored: the caller's transaction rolls back).
    """
    if key is not None:
        found = already_written(conn, conversation_id, key)
        if found:
            return found
    base = message_ids_for(conversation_id, key) if key is not None else None
    ids = convs.add_customer_message(conn, conversation_id, body, now, id_base=base)
    for index, incoming in enumerate(files):
        attachments.store_file(
            conn,
            folder,
            f"att-{ids[-1][4:]}-{index}",
            incoming.file_name,
            incoming.data,
            now,
            uploaded_by=None,
            message_id=ids[-1],
        )
    return ids


def customer_view(
    conn: Connection,
    conversation_id: str,
    *,
    after: str | None = None,
    limit: int = 100,
    only: Sequence[str] | None = None,
) -> list[SeenMessage]:
    """The customer's and agents' messages of one conversation after the message
    ``after`` (oldest first, at most ``limit``; only the ids ``only`` if given); notes
    and system lines never."""
    query = select(
        MESSAGE.c.id,
        MESSAGE.c.kind,
        MESSAGE.c.author,
        MESSAGE.c.body,
        MESSAGE.c.created_at,
        MESSAGE.c.seq,
    ).where(MESSAGE.c.conversation_id == conversation_id, MESSAGE.c.kind.in_(CUSTOMER_SEES))
    if only is not None:
        query = query.where(MESSAGE.c.id.in_(list(only)))
    if after:
        mark = conn.execute(
            select(MESSAGE.c.created_at, MESSAGE.c.seq).where(
                MESSAGE.c.id == after, MESSAGE.c.conversation_id == conversation_id
            )
        ).first()
        if mark is not None:
            query = query.where(
                or_(
                    MESSAGE.c.created_at > mark[0],
                    (MESSAGE.c.created_at == mark[0]) & (MESSAGE.c.seq > mark[1]),
                )
            )
    rows = conn.execute(query.order_by(MESSAGE.c.created_at, MESSAGE.c.seq).limit(limit)).all()
    files = attachments.for_messages(conn, [str(r[0]) for r in rows])
    return [
        SeenMessage(
            id=str(r[0]),
            kind=str(r[1]),
            author=str(r[2]),
            body=str(r[3]),
            created_at=r[4],
            attachments=files.get(str(r[0]), []),
        )
        for r in rows
    ]


def customer_attachment(conn: Connection, conversation_id: str, attachment_id: str) -> Any | None:
    """The attachment's row if it belongs to a message the conversation's customer may
    see; None otherwise (a 404: nothing is told)."""
    return (
        conn.execute(
            select(ATTACHMENT)
            .join(MESSAGE, MESSAGE.c.id == ATTACHMENT.c.message_id)
            .where(
                ATTACHMENT.c.id == attachment_id,
                MESSAGE.c.conversation_id == conversation_id,
                MESSAGE.c.kind.in_(CUSTOMER_SEES),
            )
        )
        .mappings()
        .first()
    )


def customer_typing(conn: Connection, conversation_id: str, now: datetime) -> None:
    """The customer is typing: shown beside the thread in the consoles."""
    conv = convs.find(conn, conversation_id)
    convs.update_row(conn, conv, {"customer_typing_at": now})
