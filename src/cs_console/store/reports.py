"""Raw rows for the shift, day and week figures: messages and cases around a period.

The figures themselves are computed in Python (``services/reports.py``) over these rows:
the turn rules (a run of customer messages answered by the next agent reply) are
easier to get right, and to test on hand-made rows, than in SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from cs_console.domain import CaseStatus, DeliveryState, MessageKind
from cs_console.store.db import Database
from cs_console.store.models import CASE, CONVERSATION, MESSAGE

_M = MESSAGE.c
_K = CASE.c


@dataclass(frozen=True, slots=True)
class ReportMessage:
    """One message as the figures need it (no body: the figures never read text).

    ``assignee`` is the conversation's current assignee; an unanswered wait is put down
    to them when the figures are filtered by agent.
    """

    conversation_id: str
    seq: int
    kind: str
    author: str
    created_at: datetime
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class ReportCase:
    """One after-sales case as the figures and the weekly summary need it."""

    case_id: str
    category: str
    responsible: str | None
    status: str
    refund_minor: int
    compensation_minor: int
    postage_lost_minor: int
    currency: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    conversation_id: str | None = None
    customer_id: str | None = None
    order_id: str | None = None


def messages_around(db: Database, start: datetime, end: datetime) -> list[ReportMessage]:
    """Messages of every conversation with a message in ``[start, end)``, ordered by
    conversation, time and arrival.

    For each such conversation the rows begin at its last agent reply before ``start``
    (or at its first message if there is none), so that a turn which began before the
    period is recognised as such; they run to the newest message, so that a turn of the
    period answered after ``end`` still has its answer. Replies that failed to send are
    left out: the customer never saw them.
    """
    active = (
        select(_M.conversation_id)
        .where(_M.created_at >= start, _M.created_at < end)
        .distinct()
        .scalar_subquery()
    )
    earlier = MESSAGE.alias("earlier")
    last_reply_before = (
        select(func.max(earlier.c.created_at))
        .where(
            earlier.c.conversation_id == _M.conversation_id,
            earlier.c.kind == MessageKind.AGENT.value,
            earlier.c.delivery != DeliveryState.FAILED.value,
            earlier.c.created_at < start,
        )
        .scalar_subquery()
    )
    stmt = (
        select(
            _M.conversation_id,
            _M.seq,
            _M.kind,
            _M.author,
            _M.created_at,
            CONVERSATION.c.assignee,
        )
        .select_from(MESSAGE.outerjoin(CONVERSATION, CONVERSATION.c.id == _M.conversation_id))
        .where(
            _M.conversation_id.in_(active),
            _M.delivery != DeliveryState.FAILED.value,
            or_(last_reply_before.is_(None), _M.created_at >= last_reply_before),
        )
        .order_by(_M.conversation_id, _M.created_at, _M.seq)
    )
    with db.read() as conn:
        rows = conn.execute(stmt).all()
    return [
        ReportMessage(
            conversation_id=str(r[0]),
            seq=int(r[1]),
            kind=str(r[2]),
            author=str(r[3]),
            created_at=r[4],
            assignee=r[5],
        )
        for r in rows
    ]


def cases_in_period(db: Database, start: datetime, end: datetime) -> list[ReportCase]:
    """Cases opened in ``[start, end)``, and resolved cases last changed in it, oldest
    first."""
    opened = and_(_K.created_at >= start, _K.created_at < end)
    resolved = and_(
        _K.status == CaseStatus.RESOLVED.value, _K.updated_at >= start, _K.updated_at < end
    )
    stmt = (
        select(
            _K.id,
            _K.category,
            _K.responsible,
            _K.status,
            _K.refund_minor,
            _K.compensation_minor,
            _K.postage_lost_minor,
            _K.currency,
            _K.created_by,
            _K.created_at,
            _K.updated_at,
            _K.conversation_id,
            _K.customer_id,
            _K.order_id,
        )
        .where(or_(opened, resolved))
        .order_by(_K.created_at, _K.id)
    )
    with db.read() as conn:
        rows = conn.execute(stmt).all()
    return [
        ReportCase(
            case_id=str(r[0]),
            category=str(r[1]),
            responsible=r[2],
            status=str(r[3]),
            refund_minor=int(r[4]),
            compensation_minor=int(r[5]),
            postage_lost_minor=int(r[6]),
            currency=str(r[7]),
            created_by=str(r[8]),
            created_at=r[9],
            updated_at=r[10],
            conversation_id=r[11],
            customer_id=r[12],
            order_id=r[13],
        )
        for r in rows
    ]
