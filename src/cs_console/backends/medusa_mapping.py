"""Medusa v2 Admin API JSON to cs-console records (pure functions, no I/O).

Everything Medusa sends is untrusted: values are read defensively here and every
record is built through the strict protocol models, whose ``Text``/``Line`` types
sanitise. A value of the wrong shape raises :class:`MappingError`, which the adapter
turns into ``BadResponse``.

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
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from cs_console import protocol as p
from cs_console.domain import FlagColour, OrderEventKind, OrderStatus
from cs_console.money import currency_digits, format_money

PREFIX = "medusa:"
#: The order ``metadata`` key that holds the console's remarks (a JSON list).
REMARKS_KEY = "cs_console_remarks"
MAX_ID = 64

Json = Mapping[str, Any]


class MappingError(ValueError):
    """Medusa sent a value we cannot read; the message names the field."""


# --- small readers ----------------------------------------------------------------


def obj(value: object, where: str) -> Json:
    """``value`` as a JSON object, else :class:`MappingError`."""
    if not isinstance(value, Mapping):
        raise MappingError(f"{where}: expected an object")
    return value


def objects(value: object, where: str) -> list[Json]:
    """A list of JSON objects; null counts as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError(f"{where}: expected a list")
    return [obj(item, where) for item in value]


def text(value: object, where: str, default: str = "") -> str:
    """A string field; null gives ``default``."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise MappingError(f"{where}: expected text")
    return value


def when(value: object, where: str) -> datetime:
    """An ISO 8601 time with a zone."""
    raw = text(value, where)
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise MappingError(f"{where}: not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise MappingError(f"{where}: a time without a zone")
    return parsed


def maybe_when(value: object, where: str) -> datetime | None:
    """An optional time."""
    return None if value is None else when(value, where)


def decimal(value: object, where: str) -> Decimal:
    """A Medusa amount: a JSON number, or ``{"value": "12.5"}`` (its raw BigNumber form)."""
    if isinstance(value, Mapping):
        value = value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MappingError(f"{where}: expected an amount")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"{where}: not an amount") from None
    if not amount.is_finite():
        raise MappingError(f"{where}: not an amount")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """Major units (Medusa v2 stores ``24.5``) to minor units of ``currency`` (2450)."""
    scaled = amount.scaleb(currency_digits(currency)).quantize(Decimal(1), ROUND_HALF_UP)
    return int(scaled)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units back to the decimal major units Medusa expects."""
    return Decimal(minor).scaleb(-currency_digits(currency))


def make_id(kind: str, *parts: str) -> str:
    """A namespaced record id (``medusa:o<id>``); hashed when it would exceed 64 chars."""
    candidate = PREFIX + kind + ".".join(parts)
    if len(candidate) <= MAX_ID and all(
        c.isascii() and (c.isalnum() or c in "_.:-") for c in candidate
    ):
        return candidate
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]
    return PREFIX + kind + digest


def order_id(medusa_id: str) -> str:
    """The console id of a Medusa order."""
    return make_id("o", medusa_id)


def medusa_order_id(console_id: str) -> str | None:
    """The Medusa id behind a console order id, or None when it is not one of ours."""
    prefix = PREFIX + "o"
    if not console_id.startswith(prefix) or len(console_id) == len(prefix):
        return None
    return console_id[len(prefix) :]


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
        events.extend(_return_events(ret, mid, oid))
        status = text(ret.get("status"), "return.status")
        if status in ("requested", "open"):
            open_return = True
        elif status in ("received", "partially_received"):
            received_return = True
    for claim in claims:
        events.append(_claim_event(claim, oid))
    for exchange in exchanges:
        events.append(_exchange_event(exchange, oid))
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


def _count(items: list[Json], where: str) -> int:
    return sum(int(decimal(i.get("quantity", 0), where)) for i in items)


def _return_events(ret: Json, mid: str, oid: str) -> list[p.OrderEventRecord]:
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


def _claim_event(claim: Json, oid: str) -> p.OrderEventRecord:
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


def _exchange_event(exchange: Json, oid: str) -> p.OrderEventRecord:
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


# --- remarks ----------------------------------------------------------------------


def remark_entries(metadata: object) -> list[dict[str, Any]]:
    """The remark entries stored in an order's metadata (a JSON list, or a JSON string
    holding one); entries of the wrong shape are dropped, never fatal."""
    if not isinstance(metadata, Mapping):
        return []
    raw = metadata.get(REMARKS_KEY)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    if not isinstance(raw, list):
        return []
    return [dict(entry) for entry in raw if isinstance(entry, Mapping)]


def remarks_of(order: Json, oid: str) -> list[p.RemarkRecord]:
    """The console remarks kept in the order's metadata.

    An entry written by the console keeps the console's remark id, so the pulled remark
    replaces the one the agent's store wrote locally instead of showing twice; an entry
    without a usable id (written by hand) gets ``medusa:r<hash>``.
    """
    out: list[p.RemarkRecord] = []
    for index, entry in enumerate(remark_entries(order.get("metadata"))):
        try:
            flag = FlagColour(str(entry.get("flag")))
            created = when(entry.get("created_at"), "remark.created_at")
        except (ValueError, MappingError):
            continue
        raw_id = entry.get("id")
        if isinstance(raw_id, str) and raw_id and len(raw_id) <= MAX_ID and _safe_id(raw_id):
            rid = raw_id
        else:
            rid = make_id("r", hashlib.sha256(f"{oid}\n{index}\n{entry}".encode()).hexdigest()[:40])
        body = entry.get("text")
        author = entry.get("author")
        if not isinstance(body, str) or not body.strip():
            continue
        out.append(
            p.RemarkRecord(
                id=rid,
                order_id=oid,
                flag=flag,
                text=body[: p.MAX_BODY_CHARS],
                author=(author if isinstance(author, str) and author else "Medusa")[
                    : p.MAX_NAME_CHARS
                ],
                created_at=created,
            )
        )
    return out


def _safe_id(value: str) -> bool:
    return all(c.isascii() and (c.isalnum() or c in "_.:-") for c in value)
