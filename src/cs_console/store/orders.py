"""Reading a customer's orders with their timelines and remarks."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select

from cs_console.domain import DeliveryState, FlagColour, OrderEventKind, OrderStatus
from cs_console.store import links
from cs_console.store.db import Database
from cs_console.store.models import (
    CONVERSATION,
    ORDER,
    ORDER_EVENT,
    ORDER_REMARK,
    UTCDateTime,
)
from cs_console.views import OrderEventRow, OrderLine, OrderRow, RemarkRow

ORDERS_SHOWN = 50


def orders_for_customer(db: Database, customer_id: str) -> list[OrderRow]:
    """The customer's orders, newest first, each with its timeline and remarks; orders
    of the same person's records in another system are included (see ``links``)."""
    o, e, r = ORDER.c, ORDER_EVENT.c, ORDER_REMARK.c
    with db.read() as conn:
        people = links.same_person(conn, customer_id)
        orders = (
            conn.execute(
                select(ORDER)
                .where(o.customer_id.in_(people))
                .order_by(o.placed_at.desc(), o.id.desc())
                .limit(ORDERS_SHOWN)
            )
            .mappings()
            .all()
        )
        ids = [row["id"] for row in orders]
        events: dict[str, list[OrderEventRow]] = defaultdict(list)
        remarks: dict[str, list[RemarkRow]] = defaultdict(list)
        if ids:
            for ev in conn.execute(
                select(e.order_id, e.id, e.kind, e.at, e.detail)
                .where(e.order_id.in_(ids))
                .order_by(e.at, e.id)
            ):
                events[ev[0]].append(OrderEventRow(ev[1], OrderEventKind(ev[2]), ev[3], ev[4]))
            for rm in conn.execute(
                select(r.order_id, r.id, r.flag, r.text, r.author, r.created_at, r.delivery)
                .where(r.order_id.in_(ids))
                .order_by(r.created_at, r.id)
            ):
                remarks[rm[0]].append(
                    RemarkRow(rm[1], FlagColour(rm[2]), rm[3], rm[4], rm[5], DeliveryState(rm[6]))
                )
    return [
        OrderRow(
            order_id=row["id"],
            number=row["number"],
            customer_id=row["customer_id"],
            status=OrderStatus(row["status"]),
            items=tuple(OrderLine(**item) for item in json.loads(row["items_json"] or "[]")),
            total_minor=row["total_minor"],
            currency=row["currency"],
            carrier=row["carrier"],
            tracking_number=row["tracking_number"],
            shipping_address=row["shipping_address"],
            placed_at=row["placed_at"],
            paid_at=row["paid_at"],
            group_formed_at=row["group_formed_at"],
            shipped_at=row["shipped_at"],
            delivered_at=row["delivered_at"],
            events=tuple(events[row["id"]]),
            remarks=tuple(remarks[row["id"]]),
        )
        for row in orders
    ]


def follow_up_orders(
    db: Database, *, unpaid_before: datetime, paid_before: datetime, limit: int = 200
) -> list[tuple[str, str, str, str, datetime]]:
    """Orders to chase: unpaid ones placed before ``unpaid_before`` (payment reminders)
    and unshipped ones paid (or group formed) before ``paid_before`` (near the ship-by
    deadline). Rows: (kind, order id, number, customer id, the time that matters)."""
    o = ORDER.c
    unshipped = (
        OrderStatus.AWAITING_SHIPMENT.value,
        OrderStatus.REFUND_REQUESTED.value,
    )
    with db.read() as conn:
        unpaid = conn.execute(
            select(o.id, o.number, o.customer_id, o.placed_at)
            .where(o.status == OrderStatus.AWAITING_PAYMENT.value, o.placed_at < unpaid_before)
            .order_by(o.placed_at)
            .limit(limit)
        ).all()
        # Typed as the columns are, so the result comes back an aware datetime.
        start = func.coalesce(o.group_formed_at, o.paid_at, type_=UTCDateTime)
        late = conn.execute(
            select(o.id, o.number, o.customer_id, start)
            .where(o.status.in_(unshipped), o.shipped_at.is_(None), start < paid_before)
            .order_by(start)
            .limit(limit)
        ).all()
    rows = [("unpaid", r[0], r[1], r[2], r[3]) for r in unpaid]
    rows += [("ship-by", r[0], r[1], r[2], r[3]) for r in late]
    return rows


def latest_conversation_of(db: Database, customer_id: str) -> str | None:
    """The customer's most recently active conversation (under any of their records)."""
    c = CONVERSATION.c
    with db.read() as conn:
        found = conn.execute(
            select(c.id)
            .where(c.customer_id.in_(links.same_person(conn, customer_id)))
            .order_by(c.last_activity_at.desc())
            .limit(1)
        ).first()
    return None if found is None else str(found[0])
