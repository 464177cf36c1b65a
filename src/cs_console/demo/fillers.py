"""Filler orders: around the stories, ordinary orders in every state, drawn from the
seed, so the order list looks like a shop's and not like a test fixture.

These are generated, not told, so they stay code.
"""

from __future__ import annotations

from cs_console.demo.drafts import CustomerDraft, Drafts
from cs_console.demo.shop import YTO, YUNDA, ZTO, yuan
from cs_console.domain import OrderEventKind, OrderStatus

_M, _H, _D = 60, 3600, 86400

FILLER_ORDERS = 52

# Weights for the filler statuses after each status has appeared once: most of a
# shop's orders are quietly delivered or completed.
_FILLER_WEIGHTS: dict[OrderStatus, int] = {
    OrderStatus.AWAITING_PAYMENT: 3,
    OrderStatus.AWAITING_GROUP: 2,
    OrderStatus.AWAITING_SHIPMENT: 5,
    OrderStatus.SHIPPED: 7,
    OrderStatus.DELIVERED: 6,
    OrderStatus.REFUND_REQUESTED: 1,
    OrderStatus.RETURN_REQUESTED: 1,
    OrderStatus.REFUNDED: 2,
    OrderStatus.RETURNED: 1,
    OrderStatus.CANCELLED: 2,
    OrderStatus.COMPLETED: 10,
}


def add_fillers(drafts: Drafts) -> None:
    """Add the filler orders; every status appears at least once, whatever the seed."""
    r = drafts.rng
    statuses = list(OrderStatus)
    weights = list(_FILLER_WEIGHTS.values())
    statuses += r.choices(list(_FILLER_WEIGHTS), weights=weights, k=FILLER_ORDERS - len(statuses))
    # Customers without a story get an order first, so nobody is an empty profile.
    quiet = [c for c in drafts.customers if not c.has_story]
    chosen = quiet + r.choices(drafts.customers, k=FILLER_ORDERS - len(quiet))
    spare = [c for c in chosen if not c.has_story]
    for index, status in enumerate(statuses):
        customer = chosen[index]
        if customer.has_story and status is not OrderStatus.COMPLETED and spare:
            # Keep the rare statuses on customers whose newest order they can be.
            customer = r.choice(spare)
        _filler_order(drafts, customer, status)


def _filler_order(b: Drafts, customer: CustomerDraft, status: OrderStatus) -> None:
    """One ordinary order in ``status``; times are drawn backwards from its latest step."""
    r = b.rng

    def span(low: float, high: float) -> int:
        return int(r.uniform(low, high))

    skus = r.sample(sorted(b.catalogue.products), r.choice((1, 1, 1, 2, 2, 3)))
    items = [(sku, r.choice((1, 1, 1, 2))) for sku in skus]
    # Customers with a story keep it as their newest order; their fillers are history.
    if customer.has_story:
        status = OrderStatus.COMPLETED

    group_buy = r.random() < 0.3
    if status is OrderStatus.AWAITING_PAYMENT:
        b.order(customer, status, items, placed=span(15 * _M, 20 * _H))
        return
    if status is OrderStatus.AWAITING_GROUP:
        paid = span(30 * _M, 20 * _H)
        b.order(
            customer, status, items, placed=paid + span(1 * _M, 5 * _M), paid=paid, group_buy=True
        )
        return
    if status is OrderStatus.CANCELLED:
        placed = span(2 * _D, 25 * _D)
        if r.random() < 0.5:
            o = b.order(customer, status, items, placed=placed)
            b.event(o, OrderEventKind.CANCELLED, placed - 24 * _H, "超时未付款，系统自动取消")
        else:
            paid = placed - span(1 * _M, 10 * _M)
            o = b.order(customer, status, items, placed=placed, paid=paid)
            b.event(
                o,
                OrderEventKind.CANCELLED,
                paid - span(20 * _M, 6 * _H),
                "发货前买家取消，款项原路退回",
            )
        return
    unshipped = status is OrderStatus.AWAITING_SHIPMENT or (
        status in (OrderStatus.REFUND_REQUESTED, OrderStatus.REFUNDED) and r.random() < 0.5
    )
    if unshipped:
        if status is OrderStatus.AWAITING_SHIPMENT:
            # Inside the 48-hour window, some of them close to its end.
            ship_base = span(20 * _M, 44 * _H)
        elif status is OrderStatus.REFUND_REQUESTED:
            ship_base = span(2 * _H, 40 * _H)
        else:
            ship_base = span(3 * _D, 30 * _D)
        group = ship_base if group_buy else None
        paid = ship_base + (span(10 * _M, 3 * _H) if group_buy else 0)
        o = b.order(
            customer,
            status,
            items,
            placed=paid + span(1 * _M, 15 * _M),
            paid=paid,
            group_formed=group,
        )
        if status is OrderStatus.REFUND_REQUESTED:
            asked = ship_base - span(20 * _M, max(ship_base - 5 * _M, 21 * _M))
            b.event(
                o,
                OrderEventKind.REFUND_REQUESTED,
                max(asked, 5 * _M),
                f"仅退款 {yuan(o.total)} · 原因：不想要了",
            )
        elif status is OrderStatus.REFUNDED:
            asked = ship_base - span(1 * _H, 20 * _H)
            b.event(
                o,
                OrderEventKind.REFUND_REQUESTED,
                asked,
                f"仅退款 {yuan(o.total)} · 原因：不想要了",
            )
            b.event(o, OrderEventKind.REFUND_APPROVED, asked - 30 * _M, yuan(o.total))
            b.event(o, OrderEventKind.REFUNDED, asked - 40 * _M, f"{yuan(o.total)} 原路退回")
        return

    # Everything else has left the warehouse. Pick the latest step first.
    if status is OrderStatus.SHIPPED:
        shipped, delivered = span(2 * _H, 3 * _D), None
    else:
        if status is OrderStatus.DELIVERED:
            delivered = span(1 * _H, 6 * _D)
        elif status is OrderStatus.COMPLETED:
            delivered = span(45 * _D, 150 * _D) if customer.has_story else span(10 * _D, 60 * _D)
        elif status in (OrderStatus.REFUNDED, OrderStatus.RETURNED):
            delivered = span(9 * _D, 30 * _D)
        else:  # refund or return requested after delivery
            delivered = span(1 * _D, 6 * _D)
        shipped = delivered + span(1 * _D, 4 * _D)
    ship_base = shipped + span(3 * _H, 36 * _H)
    group = ship_base if group_buy else None
    paid = ship_base + (span(10 * _M, 4 * _H) if group_buy else 0)
    o = b.order(
        customer,
        status,
        items,
        placed=paid + span(1 * _M, 15 * _M),
        paid=paid,
        group_formed=group,
        shipped=shipped,
        delivered=delivered,
    )
    if delivered is None:
        return
    if status is OrderStatus.REFUND_REQUESTED:
        reason = r.choice(("质量问题：有瑕疵", "与描述不符", "少件"))
        b.event(
            o,
            OrderEventKind.REFUND_REQUESTED,
            delivered - span(1 * _H, 20 * _H),
            f"退货退款 {yuan(o.total)} · 原因：{reason}",
        )
    elif status is OrderStatus.RETURN_REQUESTED:
        b.event(
            o, OrderEventKind.RETURN_REQUESTED, delivered - span(1 * _H, 20 * _H), "七天无理由退货"
        )
    elif status in (OrderStatus.REFUNDED, OrderStatus.RETURNED):
        asked = delivered - span(4 * _H, 2 * _D)
        back = b.tracking(r.choice((ZTO, YTO, YUNDA)))
        b.event(o, OrderEventKind.RETURN_REQUESTED, asked, "七天无理由退货")
        b.event(o, OrderEventKind.RETURN_SHIPPED, asked - 1 * _D, f"退货单号 {back}")
        b.event(o, OrderEventKind.RETURN_RECEIVED, asked - 4 * _D, "仓库已验收，商品完好")
        if status is OrderStatus.REFUNDED:
            b.event(
                o, OrderEventKind.REFUNDED, asked - 4 * _D - 2 * _H, f"{yuan(o.total)} 原路退回"
            )
