"""Reading the case register: lists, one case with its history, what is due."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Select, select

from cs_console.domain import DeliveryState
from cs_console.store.db import Database
from cs_console.store.models import CASE, CASE_EVENT, CUSTOMER, ORDER
from cs_console.views import CaseEventRow, CaseRow

_K = CASE.c


def _select() -> Select[Any]:
    return select(
        CASE, CUSTOMER.c.name.label("customer_name"), ORDER.c.number.label("order_number")
    ).select_from(
        CASE.outerjoin(CUSTOMER, CUSTOMER.c.id == _K.customer_id).outerjoin(
            ORDER, ORDER.c.id == _K.order_id
        )
    )


def _row(r: Any) -> CaseRow:
    return CaseRow(
        case_id=r["id"],
        conversation_id=r["conversation_id"],
        customer_id=r["customer_id"],
        customer_name=r["customer_name"],
        order_id=r["order_id"],
        order_number=r["order_number"],
        category=r["category"],
        responsible=r["responsible"],
        resolution=r["resolution"],
        status=r["status"],
        refund_minor=r["refund_minor"],
        compensation_minor=r["compensation_minor"],
        postage_lost_minor=r["postage_lost_minor"],
        currency=r["currency"],
        follow_up_on=date.fromisoformat(r["follow_up_on"]) if r["follow_up_on"] else None,
        evidence=tuple(json.loads(r["evidence_json"] or "[]")),
        notes=r["notes"],
        created_by=r["created_by"],
        approved_by=r["approved_by"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        delivery=DeliveryState(r["delivery"]),
    )


def list_cases(
    db: Database,
    *,
    statuses: tuple[str, ...] = (),
    conversation_id: str | None = None,
    since: date | None = None,
    limit: int = 500,
) -> list[CaseRow]:
    """Cases, most recently changed first."""
    stmt = _select().order_by(_K.updated_at.desc(), _K.id).limit(limit)
    if statuses:
        stmt = stmt.where(_K.status.in_(statuses))
    if conversation_id is not None:
        stmt = stmt.where(_K.conversation_id == conversation_id)
    if since is not None:
        stmt = stmt.where(_K.created_at >= since.isoformat())
    with db.read() as conn:
        return [_row(r) for r in conn.execute(stmt).mappings()]


def get_case(db: Database, case_id: str) -> CaseRow | None:
    """One case, or None."""
    with db.read() as conn:
        found = conn.execute(_select().where(_K.id == case_id)).mappings().first()
    return None if found is None else _row(found)


def case_history(db: Database, case_id: str) -> list[CaseEventRow]:
    """Who changed what, oldest first."""
    e = CASE_EVENT.c
    with db.read() as conn:
        rows = conn.execute(
            select(e.id, e.at, e.author, e.action, e.changes)
            .where(e.case_id == case_id)
            .order_by(e.at, e.id)
        ).all()
    return [CaseEventRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def due_by(db: Database, day: date) -> list[CaseRow]:
    """Unresolved cases whose follow-up date has come."""
    stmt = (
        _select()
        .where(_K.follow_up_on <= day.isoformat(), _K.status != "resolved")
        .order_by(_K.follow_up_on)
    )
    with db.read() as conn:
        return [_row(r) for r in conn.execute(stmt).mappings()]


def granted_alone(
    db: Database, agent: str, *, order_id: str | None, customer_id: str | None, skip_case: str
) -> int:
    """What ``agent`` gives on their own on one order (or, for cases without an order,
    one customer): refund and compensation of their cases that are neither approved nor
    awaiting approval, ``skip_case`` left out. The server's rule, read from the store."""
    stmt = select(_K.refund_minor, _K.compensation_minor).where(
        _K.created_by == agent,
        _K.id != skip_case,
        _K.approved_by.is_(None),
        _K.status != "awaiting-approval",
    )
    if order_id is not None:
        stmt = stmt.where(_K.order_id == order_id)
    elif customer_id is not None:
        stmt = stmt.where(_K.order_id.is_(None), _K.customer_id == customer_id)
    else:
        return 0
    with db.read() as conn:
        return sum(int(r[0]) + int(r[1]) for r in conn.execute(stmt).all())
