"""A Medusa order's returns, claims and exchanges, as timeline events.

A return becomes ``return-requested`` and, once received, ``return-received``; a
claim becomes ``reissued`` (replacement) or ``refund-requested`` (refund claim); an
exchange becomes ``exchange-shipped``; each with a detail line saying which one it is
and whether it was cancelled. Pure functions, no I/O: :mod:`medusa_mapping` puts them
into the order's timeline.
"""

from __future__ import annotations

from cs_console import protocol as p
from cs_console.backends.medusa_wire import Json, decimal, make_id, maybe_when, objects, text, when
from cs_console.domain import OrderEventKind


def _count(items: list[Json], where: str) -> int:
    return sum(int(decimal(i.get("quantity", 0), where)) for i in items)


def return_events(ret: Json, mid: str, oid: str) -> list[p.OrderEventRecord]:
    """A return of order ``mid`` (console id ``oid``): requested, and received if so."""
    rid = text(ret.get("id"), "return.id")
    number = ret.get("display_id")
    label = f"return #{number}" if isinstance(number, int) else "return"
    if ret.get("claim_id") or ret.get("claim"):
        label += " (claim)"
    elif ret.get("exchange_id") or ret.get("exchange"):
        label += " (exchange)"
    count = _count(objects(ret.get("items"), "return.items"), "return_item.quantity")
    detail = f"{label}: {count} item(s)" if count else label
    if ret.get("canceled_at") is not None:
        detail += ", cancelled"
    out: list[p.OrderEventRecord] = []
    requested = maybe_when(ret.get("requested_at"), "return.requested_at") or maybe_when(
        ret.get("created_at"), "return.created_at"
    )
    if requested is not None:
        out.append(
            p.OrderEventRecord(
                id=make_id("e", rid, "requested"),
                order_id=oid,
                kind=OrderEventKind.RETURN_REQUESTED,
                at=requested,
                detail=detail,
            )
        )
    received = maybe_when(ret.get("received_at"), "return.received_at")
    if received is not None:
        out.append(
            p.OrderEventRecord(
                id=make_id("e", rid, "received"),
                order_id=oid,
                kind=OrderEventKind.RETURN_RECEIVED,
                at=received,
                detail=f"{label} received",
            )
        )
    return out


def claim_event(claim: Json, oid: str) -> p.OrderEventRecord:
    """A claim: a replacement is ``reissued``, anything else ``refund-requested``."""
    cid = text(claim.get("id"), "claim.id")
    kind_raw = text(claim.get("type"), "claim.type")
    number = claim.get("display_id")
    label = f"claim #{number}" if isinstance(number, int) else "claim"
    replace = kind_raw == "replace"
    detail = f"{label}: {'replacement' if replace else 'refund'}"
    if claim.get("canceled_at") is not None:
        detail += ", cancelled"
    return p.OrderEventRecord(
        id=make_id("e", cid),
        order_id=oid,
        kind=OrderEventKind.REISSUED if replace else OrderEventKind.REFUND_REQUESTED,
        at=when(claim.get("created_at"), "claim.created_at"),
        detail=detail,
    )


def exchange_event(exchange: Json, oid: str) -> p.OrderEventRecord:
    """An exchange, as ``exchange-shipped``."""
    xid = text(exchange.get("id"), "exchange.id")
    number = exchange.get("display_id")
    label = f"exchange #{number}" if isinstance(number, int) else "exchange"
    detail = label
    if exchange.get("canceled_at") is not None:
        detail += ", cancelled"
    return p.OrderEventRecord(
        id=make_id("e", xid),
        order_id=oid,
        kind=OrderEventKind.EXCHANGE_SHIPPED,
        at=when(exchange.get("created_at"), "exchange.created_at"),
        detail=detail,
    )
