"""What an operation changes in the local store at once, before the backend hears of it.

The agent sees the reply in the thread (marked queued), the conversation leaves the
waiting part of the queue, a claim shows their name: the store is the truth on this
machine, and the next pull reconciles it with the backend's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from cs_console import protocol as p
from cs_console.domain import DeliveryState, MessageKind
from cs_console.store import attachments
from cs_console.store.convert import case_fields_row, queue_rank, tags_json
from cs_console.store.ingest import SNIPPET_CHARS, latest_snippet
from cs_console.store.models import (
    AGENT,
    CASE,
    CONVERSATION,
    CUSTOMER,
    HANDOVER,
    MESSAGE,
    ORDER_REMARK,
)

_C = CONVERSATION.c


def apply_locally(conn: Connection, op: p.Operation, *, author: str, now: datetime) -> None:
    """Make ``op``'s effect visible in the store (same transaction as its outbox entry)."""
    if isinstance(op, p.SendMessage):
        conn.execute(
            insert(MESSAGE).values(
                id=op.id,
                conversation_id=op.conversation_id,
                kind=op.kind.value,
                author=author,
                body=op.body,
                created_at=now,
                delivery=DeliveryState.QUEUED.value,
            )
        )
        attachments.add_sent(conn, op, now)
        if op.kind is MessageKind.AGENT:
            conn.execute(
                update(CONVERSATION)
                .where(_C.id == op.conversation_id)
                .values(
                    waiting_since=None,
                    unread_count=0,
                    last_activity_at=now,
                    snippet=(op.body or _files_snippet(op))[:SNIPPET_CHARS],
                    queue_rank=queue_rank(None, now),
                )
            )
    elif isinstance(op, p.SetStatus):
        conn.execute(
            update(CONVERSATION)
            .where(_C.id == op.conversation_id)
            .values(status=op.status.value, snoozed_until=op.snoozed_until)
        )
    elif isinstance(op, p.Assign):
        values: dict[str, object] = {"assignee": op.assignee}
        if op.group is not None:
            values["group"] = op.group.value
        conn.execute(update(CONVERSATION).where(_C.id == op.conversation_id).values(**values))
    elif isinstance(op, p.MarkRead):
        conn.execute(update(CONVERSATION).where(_C.id == op.conversation_id).values(unread_count=0))
    elif isinstance(op, p.SaveCase):
        _apply_case(conn, op, author=author, now=now)
    elif isinstance(op, p.DecideCase):
        decision: dict[str, object] = {"status": "open", "delivery": DeliveryState.QUEUED.value}
        if op.approve:
            decision["approved_by"] = author
        else:
            decision["compensation_minor"] = 0
        conn.execute(update(CASE).where(CASE.c.id == op.id).values(**decision))
    elif isinstance(op, p.AddHandover):
        conn.execute(
            insert(HANDOVER).values(
                id=op.id,
                author=author,
                shift_started_at=op.shift_started_at,
                created_at=now,
                note=op.note,
            )
        )
    elif isinstance(op, p.SetPresence):
        conn.execute(
            update(AGENT)
            .where(AGENT.c.name == author)
            .values(presence=op.presence.value, presence_since=now)
        )
    elif isinstance(op, p.SetPriority):
        conn.execute(
            update(CONVERSATION)
            .where(_C.id == op.conversation_id)
            .values(priority=op.priority.value)
        )
    elif isinstance(op, p.SetTags):
        tags = tags_json(op.tags)
        if op.customer_id is not None:
            conn.execute(
                update(CUSTOMER).where(CUSTOMER.c.id == op.customer_id).values(tags_json=tags)
            )
        if op.conversation_id is not None:
            conn.execute(
                update(CONVERSATION).where(_C.id == op.conversation_id).values(tags_json=tags)
            )
    elif isinstance(op, p.AddRemark):
        conn.execute(
            insert(ORDER_REMARK).values(
                id=op.id,
                order_id=op.order_id,
                flag=op.flag.value,
                text=op.text,
                author=author,
                created_at=now,
                delivery=DeliveryState.QUEUED.value,
            )
        )


def _apply_case(conn: Connection, op: p.SaveCase, *, author: str, now: datetime) -> None:
    fields = case_fields_row(op)
    exists = conn.execute(select(CASE.c.id).where(CASE.c.id == op.id)).first()
    if exists is None:
        conn.execute(
            insert(CASE).values(
                id=op.id,
                created_by=author,
                created_at=now,
                updated_at=now,
                delivery=DeliveryState.QUEUED.value,
                **fields,
            )
        )
    else:
        conn.execute(
            update(CASE)
            .where(CASE.c.id == op.id)
            .values(updated_at=now, delivery=DeliveryState.QUEUED.value, **fields)
        )


def _files_snippet(op: p.SendMessage) -> str:
    """What the queue shows for a message of files only: their names."""
    return "📎 " + ", ".join(ref.file_name for ref in op.attachments)


def revert_send(conn: Connection, op: p.SendMessage) -> list[str]:
    """Take back an undone message: remove it; the conversation's snippet and last
    activity become its newest remaining message's again. (Its waiting clock is put
    back by the outbox, which kept it: see ``outbox.undo``.) Returns the copies of its
    files, to delete once the transaction is over."""
    copies = attachments.remove_for_message(conn, op.id)
    conn.execute(delete(MESSAGE).where(MESSAGE.c.id == op.id))
    newest = conn.execute(
        select(func.max(MESSAGE.c.created_at)).where(
            MESSAGE.c.conversation_id == op.conversation_id
        )
    ).scalar_one()
    values: dict[str, object] = {"snippet": latest_snippet(op.conversation_id)}
    if newest is not None:
        values["last_activity_at"] = newest  # max() keeps the column's type: a datetime
    conn.execute(update(CONVERSATION).where(_C.id == op.conversation_id).values(**values))
    return copies


def revert_remark(conn: Connection, op: p.AddRemark) -> None:
    """Take back a remark that never left (a quick reply's action, undone with it)."""
    conn.execute(delete(ORDER_REMARK).where(ORDER_REMARK.c.id == op.id))


def rerank(conn: Connection, conversation_id: str) -> None:
    """Recompute a conversation's queue position from its waiting clock and activity."""
    row = conn.execute(
        select(_C.waiting_since, _C.last_activity_at).where(_C.id == conversation_id)
    ).first()
    if row is not None:
        conn.execute(
            update(CONVERSATION)
            .where(_C.id == conversation_id)
            .values(queue_rank=queue_rank(row[0], row[1]))
        )


def mark_delivery(conn: Connection, op: p.Operation, state: DeliveryState) -> None:
    """Record how a message or remark fared on its way to the backend."""
    if isinstance(op, p.SendMessage):
        conn.execute(update(MESSAGE).where(MESSAGE.c.id == op.id).values(delivery=state.value))
    elif isinstance(op, p.AddRemark):
        conn.execute(
            update(ORDER_REMARK).where(ORDER_REMARK.c.id == op.id).values(delivery=state.value)
        )
    elif isinstance(op, p.SaveCase | p.DecideCase):
        conn.execute(update(CASE).where(CASE.c.id == op.id).values(delivery=state.value))
