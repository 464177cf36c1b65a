"""Reading a customer's history: their conversations in brief, the cases about them,
and the counts a supervisor asks about (refunds, complaints).

"The customer" is a person: every record matched to the one asked about (see
:mod:`cs_console.store.links`) counts, so a chat contact's history includes what the
same buyer did under their order-system record.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, func, or_, select

from cs_console.domain import MessageKind, OrderEventKind, OrderStatus
from cs_console.store import links
from cs_console.store.db import Database
from cs_console.store.models import CASE, CONVERSATION, MESSAGE, ORDER, ORDER_EVENT

#: Conversations and cases listed at most: enough for any buyer an agent reads about.
CONVERSATIONS_SHOWN = 100
CASES_SHOWN = 100

#: An order counts as a refund once one was asked for or made on it.
REFUND_STATUSES = (
    OrderStatus.REFUND_REQUESTED.value,
    OrderStatus.REFUNDED.value,
    OrderStatus.RETURN_REQUESTED.value,
    OrderStatus.RETURNED.value,
)
REFUND_EVENTS = (
    OrderEventKind.REFUND_REQUESTED.value,
    OrderEventKind.REFUNDED.value,
    OrderEventKind.RETURN_REQUESTED.value,
)


class ConversationSummary(NamedTuple):
    """One conversation in brief, as stored (texts untrusted, unsanitised)."""

    conversation_id: str
    customer_id: str
    group: str
    status: str
    last_activity_at: datetime
    started_at: datetime | None
    first_customer_message: str | None
    message_count: int


class HistoryRows(NamedTuple):
    """What :func:`customer_history` read, in one snapshot."""

    people: list[str]
    conversations: list[ConversationSummary]
    case_ids: list[str]
    refunds: int
    complaints: int


def customer_history(
    db: Database, customer_id: str, complaint_categories: Collection[str]
) -> HistoryRows:
    """The person behind ``customer_id``: their records, conversations (newest activity
    first), the ids of the cases about them or their conversations (most recently
    changed first), how many of their orders had a refund asked for or made, and how
    many of those cases are in ``complaint_categories``."""
    with db.read() as conn:
        people = links.same_person(conn, customer_id)
        conversations = _conversations(conn, people)
        conversation_ids = [c.conversation_id for c in conversations]
        k = CASE.c
        about_them = or_(k.customer_id.in_(people), k.conversation_id.in_(conversation_ids))
        case_ids = list(
            conn.execute(
                select(k.id)
                .where(about_them)
                .order_by(k.updated_at.desc(), k.id)
                .limit(CASES_SHOWN)
            ).scalars()
        )
        complaints = int(
            conn.execute(
                select(func.count())
                .select_from(CASE)
                .where(about_them, k.category.in_(list(complaint_categories)))
            ).scalar_one()
        )
        refunds = _refunds(conn, people)
    return HistoryRows(people, conversations, case_ids, refunds, complaints)


def _conversations(conn: Connection, people: list[str]) -> list[ConversationSummary]:
    c, m = CONVERSATION.c, MESSAGE.c
    # Correlated subqueries over the (conversation, created_at, seq) index: a few index
    # probes per conversation, however long the chats are.
    started = select(func.min(m.created_at)).where(m.conversation_id == c.id).scalar_subquery()
    count = select(func.count()).where(m.conversation_id == c.id).scalar_subquery()
    opening = (
        select(m.body)
        .where(m.conversation_id == c.id, m.kind == MessageKind.CUSTOMER.value)
        .order_by(m.created_at, m.seq)
        .limit(1)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(c.id, c.customer_id, c.group, c.status, c.last_activity_at, started, opening, count)
        .where(c.customer_id.in_(people))
        .order_by(c.last_activity_at.desc(), c.id)
        .limit(CONVERSATIONS_SHOWN)
    ).all()
    return [
        ConversationSummary(
            conversation_id=str(r[0]),
            customer_id=str(r[1]),
            group=str(r[2]),
            status=str(r[3]),
            last_activity_at=r[4],
            started_at=r[5],
            first_customer_message=None if r[6] is None else str(r[6]),
            message_count=int(r[7] or 0),
        )
        for r in rows
    ]


def _refunds(conn: Connection, people: list[str]) -> int:
    o, e = ORDER.c, ORDER_EVENT.c
    refunded_by_event = select(e.order_id).where(e.kind.in_(REFUND_EVENTS))
    stmt = (
        select(func.count())
        .select_from(ORDER)
        .where(
            o.customer_id.in_(people),
            or_(o.status.in_(REFUND_STATUSES), o.id.in_(refunded_by_event)),
        )
    )
    return int(conn.execute(stmt).scalar_one())
