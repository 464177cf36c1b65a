"""Agents' replies to email conversations, queued in the reply's own transaction and
handed to the mail thread (``channels/email_smtp.py``); and the Message-IDs that thread
conversations.

Nothing here talks to a mail server. The queue row fixes everything the mail will be
(recipient, subject, body, threading headers and its own Message-ID) before any attempt,
so each attempt sends the same mail and a receiver can tell a repeat. Internal notes
never reach this module: only ``kind=agent`` messages are queued.

States: ``pending`` → ``sending`` (committed before connecting) → ``dot`` (committed
just before the data's final dot goes out) → ``sent``. A failure while ``sending`` is
safe to retry: the server drops a mail whose data never ended. A failure at ``dot`` is
not: the server may have taken the mail, so it turns ``unconfirmed`` and is never sent
again (the console shows it). That is how one reply is one email.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cs_console.mail_subject import reply_subject
from cs_console.server.tables import EMAIL_OUTBOX, EMAIL_REF
from cs_console.store.models import CUSTOMER

_O = EMAIL_OUTBOX.c

#: How many earlier Message-IDs a reply's References carries (the first and the latest).
MAX_REFERENCES = 20


@dataclass(frozen=True)
class QueuedMail:
    """A reply waiting to go out."""

    message_id: str
    conversation_id: str
    mail_id: str
    to_address: str
    to_name: str
    subject: str
    body: str
    in_reply_to: str | None
    references: list[str]
    attempts: int
    state: str
    #: Who wrote the reply (the From name says "Lan (Shop)").
    agent_name: str = ""


def remember(
    conn: Connection, mail_id: str, conversation_id: str, now: datetime, message: str | None = None
) -> bool:
    """Record a Message-ID as part of the conversation; False if it was known already."""
    if conn.execute(
        select(EMAIL_REF.c.message_id).where(EMAIL_REF.c.message_id == mail_id)
    ).first():
        return False
    conn.execute(
        insert(EMAIL_REF).values(
            message_id=mail_id, conversation_id=conversation_id, message=message, at=now
        )
    )
    return True


def conversation_of(conn: Connection, mail_ids: list[str]) -> str | None:
    """The conversation any of ``mail_ids`` belongs to (the latest named first)."""
    for mail_id in reversed(mail_ids):
        found = conn.execute(
            select(EMAIL_REF.c.conversation_id).where(EMAIL_REF.c.message_id == mail_id)
        ).first()
        if found is not None:
            return str(found[0])
    return None


def thread_ids(conn: Connection, conversation_id: str) -> list[str]:
    """The conversation's Message-IDs, oldest first."""
    rows = conn.execute(
        select(EMAIL_REF.c.message_id)
        .where(EMAIL_REF.c.conversation_id == conversation_id)
        .order_by(EMAIL_REF.c.at, EMAIL_REF.c.message_id)
    ).all()
    return [str(r[0]) for r in rows]


def enqueue_reply(
    conn: Connection,
    conv: Any,
    message_id: str,
    body: str,
    now: datetime,
    *,
    domain: str,
    agent: str = "",
) -> None:
    """Queue the agent's reply ``message_id`` to the email conversation ``conv`` (its
    row). A customer without an address gets nothing queued (the console shows the
    recipient, so the agent sees that first)."""
    customer = conn.execute(
        select(CUSTOMER.c.name, CUSTOMER.c.email).where(CUSTOMER.c.id == conv["customer_id"])
    ).first()
    if customer is None or not customer[1]:
        return
    earlier = thread_ids(conn, conv["id"])
    references = earlier[:1] + earlier[1:][-(MAX_REFERENCES - 1) :] if earlier else []
    mail_id = f"{message_id}.{uuid.uuid4().hex[:12]}@{domain}"
    conn.execute(
        insert(EMAIL_OUTBOX).values(
            message_id=message_id,
            conversation_id=conv["id"],
            mail_id=mail_id,
            to_address=customer[1],
            to_name=customer[0],
            agent_name=agent,
            subject=reply_subject(conv["subject"], conv["id"]),
            body=body,
            in_reply_to=earlier[-1] if earlier else None,
            references=" ".join(references),
            state="pending",
            attempts=0,
            last_error="",
            created_at=now,
            next_at=now,
        )
    )
    remember(conn, mail_id, conv["id"], now, message_id)


def _queued(row: Any) -> QueuedMail:
    return QueuedMail(
        message_id=row["message_id"],
        conversation_id=row["conversation_id"],
        mail_id=row["mail_id"],
        to_address=row["to_address"],
        to_name=row["to_name"],
        subject=row["subject"],
        body=row["body"],
        in_reply_to=row["in_reply_to"],
        references=str(row["references"] or "").split(),
        attempts=row["attempts"],
        state=row["state"],
        agent_name=row["agent_name"],
    )


def due(conn: Connection, now: datetime, limit: int = 20) -> list[QueuedMail]:
    """Replies whose next attempt is due, oldest first."""
    rows = (
        conn.execute(
            select(EMAIL_OUTBOX)
            .where(_O.state == "pending", _O.next_at <= now)
            .order_by(_O.created_at)
            .limit(limit)
        )
        .mappings()
        .all()
    )
    return [_queued(r) for r in rows]


def begin_attempt(conn: Connection, message_id: str) -> bool:
    """Mark the reply as being sent (commit before connecting). False if another
    sender took it first."""
    taken = conn.execute(
        update(EMAIL_OUTBOX)
        .where(_O.message_id == message_id, _O.state == "pending")
        .values(state="sending", attempts=_O.attempts + 1)
    )
    return taken.rowcount == 1


def mark_dot(conn: Connection, message_id: str) -> None:
    """The data's final dot is about to go out (commit before sending it)."""
    conn.execute(update(EMAIL_OUTBOX).where(_O.message_id == message_id).values(state="dot"))


def finish(conn: Connection, message_id: str, state: str, now: datetime, error: str = "") -> None:
    """Record how an attempt ended: ``sent``, ``unconfirmed`` (the end of the data went
    out and no answer came: it may have been taken, so it is not sent again), or
    ``failed`` (refused for good)."""
    conn.execute(
        update(EMAIL_OUTBOX)
        .where(_O.message_id == message_id)
        .values(state=state, last_error=error[:500], sent_at=now if state == "sent" else None)
    )


def retry_later(
    conn: Connection, message_id: str, now: datetime, delay_s: float, error: str
) -> None:
    """The attempt failed before the message's data went out: safe to send again."""
    conn.execute(
        update(EMAIL_OUTBOX)
        .where(_O.message_id == message_id)
        .values(state="pending", next_at=now + timedelta(seconds=delay_s), last_error=error[:500])
    )


def conversation_of_reply(conn: Connection, message_id: str) -> str | None:
    """The conversation of a queued reply."""
    found = conn.execute(select(_O.conversation_id).where(_O.message_id == message_id)).first()
    return str(found[0]) if found else None


def state_of(conn: Connection, message_id: str) -> str | None:
    """The reply's queue state, None if it was never queued."""
    found = conn.execute(select(_O.state).where(_O.message_id == message_id)).first()
    return str(found[0]) if found else None


def recover_interrupted(conn: Connection) -> int:
    """At start, after a crash: a reply left ``sending`` goes back to pending (its data
    never ended); one left at ``dot`` turns unconfirmed. Returns how many changed."""
    again = conn.execute(update(EMAIL_OUTBOX).where(_O.state == "sending").values(state="pending"))
    unsure = conn.execute(update(EMAIL_OUTBOX).where(_O.state == "dot").values(state="unconfirmed"))
    return int(again.rowcount or 0) + int(unsure.rowcount or 0)
