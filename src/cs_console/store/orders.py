"""Reading a customer's orders with their timelines and remarks."""

from __future__ import annotations

import json
from collections import defaultdict

from sqlalchemy import select

from cs_console.domain import DeliveryState, FlagColour, OrderEventKind, OrderStatus
from cs_console.store.db import Database
from cs_console.store.models import ORDER, ORDER_EVENT, ORDER_REMARK
from cs_console.views import OrderEventRow, OrderLine, OrderRow, RemarkRow

ORDERS_SHOWN = 50


def orders_for_customer(db: Database, customer_id: str) -> list[OrderRow]:
    """The customer's orders, newest first, each with its timeline and remarks."""
    o, e, r = ORDER.c, ORDER_EVENT.c, ORDER_REMARK.c
    with db.read() as conn:
        orders = (
            conn.execute(
                select(ORDER)
                .where(o.customer_id == customer_id)
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
