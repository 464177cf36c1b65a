"""The server's money rules: what an agent may give away on one order, and what may be
refunded at all. The console checks the same things first, for a quick answer; these
are the rules that hold whatever a client sends.

* Refunds never pass what was paid: a running total per order, over every refund
  anyone made (supervisors included).
* An agent's own money on one order, summed over all their cases and refunds, stays
  within the shop's authority limit unless a supervisor approved it. Counted: the
  compensation of each of the agent's cases on the order that is neither approved nor
  awaiting approval, and each refund they made as far as no approved case covered it.
  A case without an order is counted with the agent's other order-less cases for the
  same customer.
* An approval covers what was approved: the case's order, customer, currency and
  amounts. Saving it with another order, customer or currency, a higher amount, or
  as awaiting approval again withdraws the approval. Refunds made under an approved
  case are covered up to the case's refund amount, shared by everyone refunding
  under it.
* Supervisors have no limit, only the running total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, func, insert, select

from cs_console import protocol as p
from cs_console.authority import CaseTerms, approval_withdrawn
from cs_console.domain import CaseStatus, OrderStatus, Role
from cs_console.money import format_money
from cs_console.server.errors import OperationError
from cs_console.server.tables import REFUND
from cs_console.store.models import CASE, ORDER

_AWAITING = CaseStatus.AWAITING_APPROVAL.value


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks, as far as the money rules care."""

    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class RefundPlan:
    """A refund the rules allow: how much of it an approved case covers, and whether it
    completes the order's refund."""

    covered_minor: int
    completes_order: bool
    currency: str


def granted_alone(status: str, approved_by: str | None) -> bool:
    """Whether a case's compensation counts against its agent's own limit: it is given
    (not merely asked for) and no supervisor approved it."""
    return status != _AWAITING and approved_by is None


def approval_after_save(existing: RowMapping | None, op: p.SaveCase) -> tuple[str | None, str]:
    """Who approves the case once ``op`` is saved over ``existing``, and if an approval
    is withdrawn, why (for the case's history)."""
    if existing is None or existing["approved_by"] is None:
        return None, ""
    approver = str(existing["approved_by"])
    why = approval_withdrawn(_terms(existing), _terms(op))
    if why is None and op.status.value == _AWAITING:
        why = "asked for approval again"
    if why is not None:
        return None, f"approved_by: {approver} → (withdrawn: {why})"
    return approver, ""


def _terms(case: RowMapping | p.SaveCase) -> CaseTerms:
    if isinstance(case, p.SaveCase):
        return CaseTerms(
            case.order_id,
            case.customer_id,
            case.currency,
            case.compensation_minor,
            case.refund_minor,
        )
    return CaseTerms(
        case["order_id"],
        case["customer_id"],
        case["currency"],
        int(case["compensation_minor"]),
        int(case["refund_minor"]),
    )


def check_case_save(
    conn: Connection,
    actor: Actor,
    op: p.SaveCase,
    existing: RowMapping | None,
    approved_by: str | None,
    limit_minor: int,
) -> None:
    """Refuse (403) an agent's case save that gives more than their limit allows.

    A save that gives nothing new (same order and customer, no more compensation
    counted than before) is never refused for the limit: editing notes on an old case
    must not fail because of the agent's other cases.

    Raises:
        OperationError: 403, 422 (a case on this server's order in another currency).
    """
    order = _order(conn, op.order_id) if op.order_id else None
    if order is not None and op.currency != order["currency"] and _has_money(op):
        raise OperationError(
            422, f"order {order['number']} is in {order['currency']}, not {op.currency}"
        )
    if actor.role is Role.SUPERVISOR:
        return
    counted = op.compensation_minor if granted_alone(op.status.value, approved_by) else 0
    if existing is not None and _same_bucket(existing, op.order_id, op.customer_id):
        before = (
            int(existing["compensation_minor"])
            if granted_alone(existing["status"], existing["approved_by"])
            else 0
        )
        if counted <= before:
            return
    if counted == 0:
        return
    others = _granted(conn, actor.name, op.order_id, op.customer_id, skip_case=op.id)
    if others + counted <= limit_minor:
        return
    limit = format_money(limit_minor, op.currency)
    if existing is not None and existing["status"] == _AWAITING:
        message = "only a supervisor can approve this case"
    elif others == 0:
        message = (
            f"compensation over {limit} needs a supervisor: save the case as awaiting-approval"
        )
    else:
        message = (
            f"your compensation and refunds on this {'order' if op.order_id else 'customer'} "
            f"would come to {format_money(others + counted, op.currency)}, over your limit of "
            f"{limit}: save the case as awaiting-approval"
        )
    raise OperationError(
        403,
        message,
        f"{message}. The limit holds per order and agent over all your cases and refunds; "
        "a supervisor's approval of the case lifts it for what was approved.",
    )


def plan_refund(conn: Connection, actor: Actor, op: p.RefundOrder, limit_minor: int) -> RefundPlan:
    """Check a refund against the rules and say how much an approved case covers.

    Raises:
        OperationError: 404 (no such order), 422 (wrong currency, more than the
            order's total, a case about another order), 409 (more than is left to
            refund), 403 (over the agent's own limit without an approved case).
    """
    order = _order(conn, op.order_id)
    if order is None:
        raise OperationError(404, f"no order {op.order_id}")
    total, currency = int(order["total_minor"]), str(order["currency"])
    amount = format_money(op.amount_minor, currency)
    if op.currency != currency:
        raise OperationError(422, f"the order is in {currency}, not {op.currency}")
    if op.amount_minor > total:
        raise OperationError(422, f"a refund of {amount} is more than the order's total")
    paid = 0 if order["status"] == OrderStatus.AWAITING_PAYMENT.value else total
    refunded = refunded_minor(conn, op.order_id, str(order["status"]), total)
    left = max(paid - refunded, 0)
    if op.amount_minor > left:
        raise OperationError(
            409,
            f"only {format_money(left, currency)} of order {order['number']} is left to refund",
            f"{format_money(refunded, currency)} of the {format_money(paid, currency)} paid "
            f"was refunded already; a refund of {amount} would pass what was paid.",
        )
    covered = _covered(conn, op)
    uncovered = op.amount_minor - covered
    if actor.role is not Role.SUPERVISOR and uncovered > 0:
        others = _granted(conn, actor.name, op.order_id, None, skip_case=None)
        if others + uncovered > limit_minor:
            limit = format_money(limit_minor, currency)
            message = f"a refund over {limit} needs a supervisor's approval"
            raise OperationError(
                403,
                message,
                f"{message}: your compensation and refunds on order {order['number']} would "
                f"come to {format_money(others + uncovered, currency)}. Log a case with this "
                "refund on the order and have it approved, then refund under that case.",
            )
    return RefundPlan(
        covered_minor=covered,
        completes_order=refunded + op.amount_minor >= total,
        currency=currency,
    )


def record_refund(
    conn: Connection,
    actor: Actor,
    op: p.RefundOrder,
    plan: RefundPlan,
    event_id: str,
    now: datetime,
) -> None:
    """Add a refund the rules allowed to the ledger."""
    conn.execute(
        insert(REFUND).values(
            id=event_id,
            order_id=op.order_id,
            agent_name=actor.name,
            amount_minor=op.amount_minor,
            covered_minor=plan.covered_minor,
            case_id=op.case_id,
            at=now,
        )
    )


def refunded_minor(conn: Connection, order_id: str, status: str, total_minor: int) -> int:
    """What was refunded on an order so far. An order marked refunded counts as fully
    refunded even without ledger rows (a database from before the ledger, or an order
    loaded as refunded)."""
    found = int(
        conn.execute(
            select(func.coalesce(func.sum(REFUND.c.amount_minor), 0)).where(
                REFUND.c.order_id == order_id
            )
        ).scalar_one()
    )
    if status == OrderStatus.REFUNDED.value:
        return max(found, total_minor)
    return found


def _has_money(op: p.SaveCase) -> bool:
    return bool(op.refund_minor or op.compensation_minor or op.postage_lost_minor)


def _order(conn: Connection, order_id: str | None) -> RowMapping | None:
    if order_id is None:
        return None
    return (
        conn.execute(
            select(ORDER.c.number, ORDER.c.total_minor, ORDER.c.currency, ORDER.c.status).where(
                ORDER.c.id == order_id
            )
        )
        .mappings()
        .first()
    )


def _same_bucket(existing: RowMapping, order_id: str | None, customer_id: str | None) -> bool:
    if existing["order_id"] != order_id:
        return False
    return order_id is not None or existing["customer_id"] == customer_id


def _granted(
    conn: Connection,
    agent: str,
    order_id: str | None,
    customer_id: str | None,
    *,
    skip_case: str | None,
) -> int:
    """The agent's own money on an order (or, without one, on a customer's order-less
    cases), approved money aside."""
    if order_id is not None:
        where = CASE.c.order_id == order_id
    elif customer_id is not None:
        where = (CASE.c.order_id.is_(None)) & (CASE.c.customer_id == customer_id)
    else:
        return 0
    total = 0
    rows = conn.execute(
        select(CASE.c.id, CASE.c.status, CASE.c.approved_by, CASE.c.compensation_minor).where(
            where, CASE.c.created_by == agent
        )
    )
    for case_id, status, approved_by, compensation in rows:
        if case_id != skip_case and granted_alone(status, approved_by):
            total += int(compensation)
    if order_id is not None:
        total += int(
            conn.execute(
                select(
                    func.coalesce(func.sum(REFUND.c.amount_minor - REFUND.c.covered_minor), 0)
                ).where(REFUND.c.order_id == order_id, REFUND.c.agent_name == agent)
            ).scalar_one()
        )
    return total


def _covered(conn: Connection, op: p.RefundOrder) -> int:
    """How much of a refund its approved case still covers. A case this server does not
    hold (it may live with the conversations, in another system) covers nothing."""
    if op.case_id is None:
        return 0
    case = (
        conn.execute(
            select(CASE.c.order_id, CASE.c.status, CASE.c.approved_by, CASE.c.refund_minor).where(
                CASE.c.id == op.case_id
            )
        )
        .mappings()
        .first()
    )
    if case is None or case["order_id"] is None:
        return 0
    if case["order_id"] != op.order_id:
        raise OperationError(422, f"case {op.case_id} is about another order")
    if case["approved_by"] is None or case["status"] == _AWAITING:
        return 0
    used = int(
        conn.execute(
            select(func.coalesce(func.sum(REFUND.c.covered_minor), 0)).where(
                REFUND.c.case_id == op.case_id
            )
        ).scalar_one()
    )
    return max(min(op.amount_minor, int(case["refund_minor"]) - used), 0)
