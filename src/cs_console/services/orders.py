"""The customer's orders: timeline, ship-by deadline, flagged remarks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from cs_console import protocol as p
from cs_console.domain import FlagColour, OrderStatus
from cs_console.money import format_money
from cs_console.services.context import AgentContext
from cs_console.store import cases, orders, outbox
from cs_console.timeutil import utcnow
from cs_console.views import OrderRow, OutboxRow

UNSHIPPED = {
    OrderStatus.AWAITING_SHIPMENT,
    OrderStatus.AWAITING_GROUP,
    OrderStatus.REFUND_REQUESTED,
}


def for_customer(ctx: AgentContext, customer_id: str) -> list[OrderRow]:
    """The customer's orders, newest first."""
    return orders.orders_for_customer(ctx.db, customer_id)


def ship_by(order: OrderRow, hours: int) -> datetime | None:
    """When an unshipped order must ship: ``hours`` after the group forms (group-buy)
    or after payment. None once shipped or when unpaid."""
    if order.shipped_at is not None or order.status not in UNSHIPPED:
        return None
    start = order.group_formed_at or order.paid_at
    if start is None:
        return None
    return start + timedelta(hours=hours)


def days_since_delivery(order: OrderRow, now: datetime | None = None) -> int | None:
    """Whole days since the order was signed for."""
    if order.delivered_at is None:
        return None
    return max(0, ((now or utcnow()) - order.delivered_at).days)


def add_remark(ctx: AgentContext, order_id: str, flag: FlagColour, text: str) -> OutboxRow:
    """Add a flagged remark; the agent's name and the date go with it automatically."""
    body = text.strip()
    if not body:
        raise ValueError("a remark needs a reason")
    return outbox.record(
        ctx.db,
        p.AddRemark(id=uuid.uuid4().hex, order_id=order_id, flag=flag, text=body),
        author=ctx.agent_name,
    )


class RefundError(ValueError):
    """The refund cannot be queued; the message says why, for the agent."""


def refund(
    ctx: AgentContext,
    order: OrderRow,
    amount_minor: int,
    reason: str,
    *,
    case_id: str | None = None,
) -> OutboxRow:
    """Queue a refund of ``amount_minor`` on ``order`` (the order system makes it at the
    next sync). Refunding what the customer paid is an agent's job (DOMAIN.md: "approve
    the refund"); more than the order's total is refused here and by the backend."""
    if amount_minor <= 0:
        raise RefundError("a refund needs an amount above zero")
    if amount_minor > order.total_minor:
        raise RefundError("that is more than the order's total")
    text = reason.strip()
    if not text:
        raise RefundError("a refund needs a reason")
    if not ctx.is_supervisor:
        _check_own_limit(ctx, order, amount_minor, case_id)
    return outbox.record(
        ctx.db,
        p.RefundOrder(
            order_id=order.order_id,
            amount_minor=amount_minor,
            currency=order.currency,
            reason=text[:200],
            case_id=case_id,
        ),
        author=ctx.agent_name,
    )


def _check_own_limit(
    ctx: AgentContext, order: OrderRow, amount_minor: int, case_id: str | None
) -> None:
    """The server's rule (``server/money.py``), checked first for a quick answer: what
    an agent gives on one order, over all their cases and refunds, stays within their
    limit unless a supervisor approved a case covering it."""
    case = cases.get_case(ctx.db, case_id) if case_id else None
    if (
        case is not None
        and case.approved_by is not None
        and case.order_id == order.order_id
        and amount_minor <= case.refund_minor
    ):
        return
    given = amount_minor + (case.compensation_minor if case is not None else 0)
    others = cases.granted_alone(
        ctx.db, ctx.agent_name, order_id=order.order_id, customer_id=None, skip_case=case_id or ""
    )
    limit = ctx.settings.shop.authority_limit_minor
    if others + given > limit:
        raise RefundError(
            f"that is over your limit of {format_money(limit, order.currency)} on this "
            "order: log a case for a supervisor's approval first"
        )


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An order to chase today."""

    kind: str  # "unpaid" or "ship-by"
    order_id: str
    number: str
    customer_id: str
    due_at: datetime  # unpaid: when it was placed; ship-by: the deadline


def follow_ups(ctx: AgentContext, now: datetime, *, warn_hours: int = 6) -> list[FollowUp]:
    """Unpaid orders older than an hour (payment reminder) and unshipped orders whose
    ship-by deadline is less than ``warn_hours`` away (or past)."""
    hours = ctx.settings.shift.ship_by_hours
    rows = orders.follow_up_orders(
        ctx.db,
        unpaid_before=now - timedelta(hours=1),
        paid_before=now - timedelta(hours=hours - warn_hours),
    )
    return [
        FollowUp(
            kind,
            order_id,
            number,
            customer_id,
            at + timedelta(hours=hours) if kind == "ship-by" else at,
        )
        for kind, order_id, number, customer_id, at in rows
    ]


def conversation_of_customer(ctx: AgentContext, customer_id: str) -> str | None:
    """Where to talk to this customer: their most recent conversation."""
    return orders.latest_conversation_of(ctx.db, customer_id)
