"""Medusa v2 Admin API JSON to cs-console records (pure functions, no I/O).

Everything Medusa sends is untrusted: values are read defensively (the readers are in
:mod:`medusa_wire`) and every record is built through the strict protocol models,
whose ``Text``/``Line`` types sanitise. A value of the wrong shape raises
:class:`MappingError`, which the adapter turns into ``BadResponse``. Returns, claims
and exchanges become events in :mod:`medusa_returns`; remarks are read from the
order's metadata in :mod:`medusa_remarks`.

Order status, from Medusa's ``status``, ``payment_status``, ``fulfillment_status`` and
its returns, first match wins:

* ``canceled`` -> cancelled;
* payment ``refunded`` (the whole amount) -> refunded;
* a return requested and not yet received -> return-requested;
* a return received (fully or partly), none open -> returned;
* ``completed`` or ``archived`` -> completed (the shop closed the order);
* fulfilment ``delivered`` -> delivered (``partially_delivered`` stays shipped: part
  of the parcel is still on its way);
* fulfilment ``shipped``, ``partially_shipped`` or ``partially_delivered`` -> shipped;
* payment ``authorized``/``captured`` (or partly so, or partly refunded) ->
  awaiting-shipment: Medusa treats an authorised payment as a placed order the
  warehouse may fulfil, capture often comes at shipping;
* anything else (``not_paid``, ``awaiting``, ``requires_action``) -> awaiting-payment.

Timeline: placed; paid per capture; shipped and delivered per fulfilment (with carrier
and tracking); return requested / received per return; a claim becomes ``reissued``
(replacement) or ``refund-requested`` (refund claim) and an exchange
``exchange-shipped``, each with a detail line; refunded per refund; cancelled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from cs_console import protocol as p
from cs_console.backends.medusa_remarks import REMARKS_KEY, remark_entries, remarks_of
from cs_console.backends.medusa_returns import claim_event, exchange_event, return_events
from cs_console.backends.medusa_wire import (
    MAX_ID,
    PREFIX,
    Json,
    MappingError,
    decimal,
    make_id,
    maybe_when,
    medusa_order_id,
    obj,
    objects,
    order_id,
    text,
    to_major,
    to_minor,
    when,
)
from cs_console.domain import OrderEventKind, OrderStatus
from cs_console.money import format_money

# The readers, ids and remarks live beside this module; importers of this one keep
# finding them here.
__all__ = [
    "MAX_ID",
    "PREFIX",
    "REMARKS_KEY",
    "Json",
    "MappingError",
    "change_page",
    "customer_of",
    "decimal",
    "make_id",
    "map_order",
    "maybe_when",
    "medusa_order_id",
    "obj",
    "objects",
    "order_id",
    "order_status",
    "remark_entries",
    "remarks_of",
    "text",
    "to_major",
    "to_minor",
    "when",
]


# --- customers --------------------------------------------------------------------


def customer_of(order: Json) -> p.CustomerRecord:
    """The order's customer; a guest without a customer row is keyed by the order's email."""
    updated = when(order.get("updated_at"), "order.updated_at")
    raw = order.get("customer")
    email = text(order.get("email"), "order.email") or None
    address = order.get("shipping_address")
    address_name = ""
    phone: str | None = None
    if isinstance(address, Mapping):
        address_name = _full_name(address)
        phone = text(address.get("phone"), "shipping_address.phone") or None
    if isinstance(raw, Mapping):
        cid = text(raw.get("id"), "customer.id")
        name = _full_name(raw) or address_name
        email = text(raw.get("email"), "customer.email") or email
        phone = text(raw.get("phone"), "customer.phone") or phone
        updated = (
            when(raw.get("updated_at"), "customer.updated_at") if raw.get("updated_at") else updated
        )
    else:
        cid = text(order.get("customer_id"), "order.customer_id")
        name = address_name
    if cid:
        record_id = make_id("c", cid)
    else:
        record_id = make_id("c", "email-" + hashlib.sha256((email or "").encode()).hexdigest()[:24])
    return p.CustomerRecord(
        id=record_id,
        name=(name or email or "Medusa customer")[: p.MAX_NAME_CHARS],
        email=email,
        phone=phone,
        updated_at=updated,
    )


def _full_name(value: Json) -> str:
    first = text(value.get("first_name"), "first_name").strip()
    last = text(value.get("last_name"), "last_name").strip()
    return f"{first} {last}".strip()


# --- orders -----------------------------------------------------------------------


def change_page(
    server_id: str,
    orders: list[Json],
    *,
    claims: Mapping[str, list[Json]],
    exchanges: Mapping[str, list[Json]],
) -> p.ChangePage:
    """Orders with their customers, timelines and remarks as one page (cursor unset);
    ``claims`` and ``exchanges`` are keyed by Medusa order id."""
    customers: dict[str, p.CustomerRecord] = {}
    records: list[p.OrderRecord] = []
    events: list[p.OrderEventRecord] = []
    remarks: list[p.RemarkRecord] = []
    for order in orders:
        mid = text(order.get("id"), "order.id")
        customer = customer_of(order)
        known = customers.get(customer.id)
        if known is None or known.updated_at < customer.updated_at:
            customers[customer.id] = customer
        record, timeline, notes = map_order(
            order, claims=claims.get(mid, []), exchanges=exchanges.get(mid, [])
        )
        records.append(record)
        events.extend(timeline)
        remarks.extend(notes)
    return p.ChangePage(
        server_id=server_id,
        cursor="",
        has_more=False,
        customers=list(customers.values()),
        orders=records,
        order_events=events,
        remarks=remarks,
    )


def map_order(
    order: Json,
    *,
    claims: Iterable[Json] = (),
    exchanges: Iterable[Json] = (),
) -> tuple[p.OrderRecord, list[p.OrderEventRecord], list[p.RemarkRecord]]:
    """One Medusa order (with the fields the adapter asks for) as an order, its timeline
    and its remarks."""
    mid = text(order.get("id"), "order.id")
    if not mid:
        raise MappingError("order.id: missing")
    oid = order_id(mid)
    currency = text(order.get("currency_code"), "order.currency_code").upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise MappingError("order.currency_code: not an ISO 4217 code")
    placed = when(order.get("created_at"), "order.created_at")
    updated = when(order.get("updated_at"), "order.updated_at")
    number = order.get("display_id")
    label = f"#{number}" if isinstance(number, int) and not isinstance(number, bool) else mid
    # What was ordered: Medusa's ``total`` shrinks with returns and refunds, which the
    # timeline shows separately.
    ordered = order.get("original_total", order.get("total", 0))
    total = to_minor(decimal(ordered, "order.original_total"), currency)

    items = [_item(item, currency) for item in objects(order.get("items"), "order.items")]
    fulfilments = objects(order.get("fulfillments"), "order.fulfillments")
    returns = objects(order.get("returns"), "order.returns")
    payments = [
        payment
        for collection in objects(order.get("payment_collections"), "order.payment_collections")
        for payment in objects(collection.get("payments"), "payment_collection.payments")
    ]
    captures = sorted(
        (
            (when(c.get("created_at"), "capture.created_at"), c)
            for pay in payments
            for c in objects(pay.get("captures"), "payment.captures")
        ),
        key=lambda pair: pair[0],
    )
    refunds = sorted(
        (
            (when(r.get("created_at"), "refund.created_at"), r)
            for pay in payments
            for r in objects(pay.get("refunds"), "payment.refunds")
        ),
        key=lambda pair: pair[0],
    )
    for pay in payments:
        if pay.get("updated_at"):
            updated = max(updated, when(pay.get("updated_at"), "payment.updated_at"))

    events: list[p.OrderEventRecord] = [
        p.OrderEventRecord(
            id=make_id("e", mid, "placed"),
            order_id=oid,
            kind=OrderEventKind.PLACED,
            at=placed,
            detail=f"order {label} placed, {format_money(total, currency)}",
        )
    ]
    for at, capture in captures:
        amount = to_minor(decimal(capture.get("amount"), "capture.amount"), currency)
        events.append(
            p.OrderEventRecord(
                id=make_id("e", text(capture.get("id"), "capture.id")),
                order_id=oid,
                kind=OrderEventKind.PAID,
                at=at,
                detail=f"{format_money(amount, currency)} captured",
            )
        )

    carrier: str | None = None
    tracking: str | None = None
    shipped_times: list[datetime] = []
    delivered_times: list[datetime] = []
    live = [f for f in fulfilments if f.get("canceled_at") is None]
    for fulfilment in sorted(
        live, key=lambda f: text(f.get("created_at"), "fulfillment.created_at")
    ):
        fid = text(fulfilment.get("id"), "fulfillment.id")
        f_carrier = _carrier(fulfilment)
        numbers = [
            text(label_.get("tracking_number"), "label.tracking_number")
            for label_ in objects(fulfilment.get("labels"), "fulfillment.labels")
        ]
        numbers = [n for n in numbers if n]
        if numbers:
            carrier, tracking = f_carrier, numbers[-1]
        shipped = maybe_when(fulfilment.get("shipped_at"), "fulfillment.shipped_at")
        delivered = maybe_when(fulfilment.get("delivered_at"), "fulfillment.delivered_at")
        what = " ".join(x for x in (f_carrier or "", ", ".join(numbers)) if x)
        if shipped is not None:
            shipped_times.append(shipped)
            events.append(
                p.OrderEventRecord(
                    id=make_id("e", fid, "shipped"),
                    order_id=oid,
                    kind=OrderEventKind.SHIPPED,
                    at=shipped,
                    detail=f"shipped {what}".strip(),
                )
            )
        if delivered is not None:
            delivered_times.append(delivered)
            events.append(
                p.OrderEventRecord(
                    id=make_id("e", fid, "delivered"),
                    order_id=oid,
                    kind=OrderEventKind.DELIVERED,
                    at=delivered,
                    detail=f"delivered {what}".strip(),
                )
            )

    open_return = False
    received_return = False
    for ret in returns:
        events.extend(return_events(ret, mid, oid))
        status = text(ret.get("status"), "return.status")
        if status in ("requested", "open"):
            open_return = True
        elif status in ("received", "partially_received"):
            received_return = True
    for claim in claims:
        events.append(claim_event(claim, oid))
    for exchange in exchanges:
        events.append(exchange_event(exchange, oid))
    for at, refund in refunds:
        amount = to_minor(decimal(refund.get("amount"), "refund.amount"), currency)
        note = text(refund.get("note"), "refund.note")
        events.append(
            p.OrderEventRecord(
                id=make_id("e", text(refund.get("id"), "refund.id")),
                order_id=oid,
                kind=OrderEventKind.REFUNDED,
                at=at,
                detail=f"{format_money(amount, currency)} refunded" + (f": {note}" if note else ""),
            )
        )
    canceled_at = maybe_when(order.get("canceled_at"), "order.canceled_at")
    status_raw = text(order.get("status"), "order.status")
    if status_raw == "canceled":
        events.append(
            p.OrderEventRecord(
                id=make_id("e", mid, "cancelled"),
                order_id=oid,
                kind=OrderEventKind.CANCELLED,
                at=canceled_at or updated,
                detail="order cancelled",
            )
        )

    record = p.OrderRecord(
        id=oid,
        number=label,
        customer_id=customer_of(order).id,
        status=order_status(
            status_raw,
            text(order.get("payment_status"), "order.payment_status"),
            text(order.get("fulfillment_status"), "order.fulfillment_status"),
            open_return=open_return,
            received_return=received_return,
        ),
        items=items,
        total_minor=max(total, 0),
        currency=currency,
        carrier=carrier,
        tracking_number=tracking,
        shipping_address=_address_text(order.get("shipping_address")),
        placed_at=placed,
        paid_at=captures[0][0] if captures else None,
        shipped_at=min(shipped_times) if shipped_times else None,
        delivered_at=max(delivered_times) if delivered_times else None,
        updated_at=updated,
    )
    remarks = remarks_of(order, oid)
    return record, events, remarks


def order_status(
    status: str,
    payment: str,
    fulfilment: str,
    *,
    open_return: bool = False,
    received_return: bool = False,
) -> OrderStatus:
    """Medusa's three statuses and its returns as one console status (see module doc)."""
    if status == "canceled":
        return OrderStatus.CANCELLED
    if payment == "refunded":
        return OrderStatus.REFUNDED
    if open_return:
        return OrderStatus.RETURN_REQUESTED
    if received_return:
        return OrderStatus.RETURNED
    if status in ("completed", "archived"):
        return OrderStatus.COMPLETED
    if fulfilment == "delivered":
        return OrderStatus.DELIVERED
    if fulfilment in ("shipped", "partially_shipped", "partially_delivered"):
        return OrderStatus.SHIPPED
    if payment in (
        "authorized",
        "partially_authorized",
        "captured",
        "partially_captured",
        "partially_refunded",
    ):
        return OrderStatus.AWAITING_SHIPMENT
    return OrderStatus.AWAITING_PAYMENT


def _item(item: Json, currency: str) -> p.OrderItem:
    product = text(item.get("product_title"), "item.product_title") or text(
        item.get("title"), "item.title"
    )
    variant = text(item.get("variant_title"), "item.variant_title")
    name = f"{product} / {variant}" if variant and variant != product else product
    quantity = decimal(item.get("quantity", 0), "item.quantity")
    return p.OrderItem(
        sku=text(item.get("variant_sku"), "item.variant_sku")[: p.MAX_NAME_CHARS],
        name=(name or "item")[: p.MAX_NAME_CHARS],
        quantity=max(int(quantity), 0),
        unit_price_minor=max(
            to_minor(decimal(item.get("unit_price", 0), "item.unit_price"), currency), 0
        ),
    )


def _carrier(fulfilment: Json) -> str | None:
    """Medusa has no carrier field: the shipping option's name (shops name options after
    the carrier, "DHL Express"), else the fulfilment provider's id."""
    option = fulfilment.get("shipping_option")
    if isinstance(option, Mapping):
        name = text(option.get("name"), "shipping_option.name")
        if name:
            return name[: p.MAX_NAME_CHARS]
    provider = text(fulfilment.get("provider_id"), "fulfillment.provider_id")
    return provider[: p.MAX_NAME_CHARS] or None


def _address_text(value: object) -> str:
    if not isinstance(value, Mapping):
        return ""

    def get(key: str) -> str:
        return text(value.get(key), f"shipping_address.{key}").strip()

    lines = [
        _full_name(value),
        get("company"),
        get("address_1"),
        get("address_2"),
        " ".join(x for x in (get("postal_code"), get("city")) if x),
        get("province"),
        get("country_code").upper(),
        get("phone"),
    ]
    return "\n".join(line for line in lines if line)[: p.MAX_BODY_CHARS]
