"""Vendure's records (:mod:`vendure_wire`) to cs-console's (pure functions, no I/O).

Everything Vendure sends is untrusted: every record leaves through the strict protocol
models, whose ``Text``/``Line`` types sanitise; text is only cut to size here. A value
the protocol refuses becomes :class:`BadResponse`.

Ids are namespaced so they never clash with the conversation source's:
``vendure:c<id>`` customers, ``vendure:o<id>`` orders, ``vendure:h<id>`` history
entries, ``vendure:n<id>`` notes used as remarks, ``vendure:r<id>`` refunds not yet
settled. History, note and refund ids are zero-padded to 12 digits because the store
orders events of the same second by id as text, and Vendure's history has one-second
resolution.

Choices, and why:

* **Order status** (``_status``): AddingItems, ArrangingPayment,
  ArrangingAdditionalPayment and PaymentAuthorized are ``awaiting-payment`` (nothing is
  captured yet); PaymentSettled and Modifying (a paid order being edited) are
  ``awaiting-shipment``; PartiallyShipped, Shipped and PartiallyDelivered are
  ``shipped`` (something is still on its way); Delivered is ``delivered``; Cancelled is
  ``cancelled``. An order whose settled refunds cover its settled payments is
  ``refunded`` whatever its state, since Vendure leaves a fully refunded order in its
  previous state and the agent needs to know the money went back. Custom states map
  to ``awaiting-shipment`` once the order is placed, else ``awaiting-payment``. Draft
  orders and orders without a customer are not orders a customer made: skipped.
* **Timeline** (``_events``): the first transition into ArrangingPayment is *placed*;
  a payment settling is *paid*; a fulfilment reaching Shipped is *shipped* (detail:
  carrier = its method, and tracking code) and Delivered *delivered*; a refund
  settling is *refunded* and failing *refund-declined* (detail: amount and reason); a
  refund not yet settled (Vendure logs no history entry for its creation) is
  *refund-approved*, from the refund itself; a cancellation is *cancelled* (detail:
  reason). A public note becomes a "Note: ..." line in the detail of the event before
  it (the protocol has no event kind for notes).
* **Remarks**: a private note written by the console starts with
  ``[cs:<flag> id=<remark id> key=<idempotency key>]``; on pull it becomes a remark
  with that flag and the console's own remark id (so the local copy is confirmed,
  not doubled). Any other private note becomes a remark flagged **yellow** ("follow
  up"): somebody wrote it for a reason, and nothing is hidden. Refunds and
  cancellations the console makes end their reason with ``[cs:<idempotency key>]``,
  so a retry finds the first one.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from cs_console import protocol as p
from cs_console.backends import vendure_wire as vw
from cs_console.backends.base import BadResponse, Refused
from cs_console.domain import FlagColour, OrderEventKind, OrderStatus, Role
from cs_console.money import format_money

CUSTOMER_PREFIX = "vendure:c"
ORDER_PREFIX = "vendure:o"
HISTORY_PREFIX = "vendure:h"
NOTE_PREFIX = "vendure:n"
REFUND_PREFIX = "vendure:r"

#: The flag of a private note that the console did not write.
DEFAULT_REMARK_FLAG = FlagColour.YELLOW

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_VENDURE_ID = re.compile(r"^[A-Za-z0-9-]{1,56}$")
_NOTE_TAG = re.compile(
    r"^\[cs:(?P<flag>[a-z]+)"
    r"(?: id=(?P<id>[A-Za-z0-9_.:-]{1,64}))?"
    r"(?: key=(?P<key>[A-Za-z0-9_.:-]{1,64}))?\] ?"
)
_REASON_KEY = re.compile(r"\[cs:(?P<key>[A-Za-z0-9_.:-]{1,64})\]")

_PAYMENT_WAIT = frozenset(
    {"AddingItems", "ArrangingPayment", "ArrangingAdditionalPayment", "PaymentAuthorized"}
)
_STATUS = {
    "PaymentSettled": OrderStatus.AWAITING_SHIPMENT,
    "Modifying": OrderStatus.AWAITING_SHIPMENT,
    "PartiallyShipped": OrderStatus.SHIPPED,
    "Shipped": OrderStatus.SHIPPED,
    "PartiallyDelivered": OrderStatus.SHIPPED,
    "Delivered": OrderStatus.DELIVERED,
    "Cancelled": OrderStatus.CANCELLED,
}
_SKIPPED_STATES = frozenset({"Created", "Draft"})


# --- text, ids and tags -----------------------------------------------------------------


def line(value: str | None) -> str:
    """Single-line text cut to the protocol's limit (the model sanitises it)."""
    return " ".join((value or "").split())[: p.MAX_NAME_CHARS]


def _text(value: str | None) -> str:
    return (value or "")[: p.MAX_BODY_CHARS]


def plain(value: str) -> str:
    """Text we send to Vendure: one line, no brackets that could fake our own tags."""
    return line(value).replace("[", "(").replace("]", ")")


def safe_key(key: str) -> str:
    """The idempotency key as it can travel in a note: itself if tidy, else its hash."""
    if re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def vendure_order_id(order_id: str) -> str:
    """The Vendure id behind a console order id; :class:`Refused` (404) for a stranger."""
    raw = order_id.removeprefix(ORDER_PREFIX)
    if raw == order_id or not _VENDURE_ID.match(raw):
        raise Refused(f"{order_id!r} is not a Vendure order", status=404)
    return raw


def remark_note(flag: FlagColour, remark_id: str, tag: str, body: str) -> str:
    """The private note that carries a console remark (``tag`` from :func:`safe_key`)."""
    return f"[cs:{flag.value} id={remark_id} key={tag}] {body}"


def note_is_remark(note: str, tag: str, remark_id: str) -> bool:
    """Whether a note carries the remark ``remark_id`` or was written under ``tag``."""
    found = _NOTE_TAG.match(note)
    return bool(found and (found["key"] == tag or found["id"] == remark_id))


def tagged_reason(reason: str, tag: str) -> str:
    """A refund's or cancellation's reason that carries the idempotency ``tag``."""
    return f"{plain(reason)} [cs:{tag}]"


def reason_has_tag(reason: str, tag: str) -> bool:
    """Whether a reason was written by :func:`tagged_reason` with ``tag``."""
    found = _REASON_KEY.search(reason)
    return bool(found and found["key"] == tag)


# --- identity ---------------------------------------------------------------------------


def administrator_name(admin: object) -> str:
    """The name in an ``activeAdministrator`` answer; "" when there is none (an API key)."""
    if not isinstance(admin, dict):
        return ""
    return " ".join(str(admin.get(part) or "") for part in ("firstName", "lastName")).strip()


def key_owner(data: dict[str, Any]) -> str:
    """ "<key name> (<owner>)" from an ``apiKeys`` answer, or whichever of them is known."""
    items = (data.get("apiKeys") or {}).get("items") or []
    if not items or not isinstance(items[0], dict):
        return ""
    key_name = str(items[0].get("name") or "")
    owner = str((items[0].get("owner") or {}).get("identifier") or "")
    if key_name and owner:
        return f"{key_name} ({owner})"
    return key_name or owner


def me_record(server_id: str, name: str) -> p.Me:
    """Who the console acts as on this channel: always an agent (see ``VendureBackend.me``)."""
    try:
        agent = p.AgentRecord(name=line(name or "Vendure API key"), role=Role.AGENT)
        return p.Me(server_id=server_id, agent=agent, protocol=p.PROTOCOL_VERSION)
    except ValidationError as exc:
        raise BadResponse(f"Vendure sent data we cannot accept ({vw.first_error(exc)})") from None


# --- records ----------------------------------------------------------------------------


def change_page(
    server_id: str, orders: list[vw.Order], *, cursor: str, has_more: bool
) -> p.ChangePage:
    """The orders a customer made, with their customers, timelines and remarks."""
    customers: dict[str, p.CustomerRecord] = {}
    records: list[p.OrderRecord] = []
    events: list[p.OrderEventRecord] = []
    remarks: list[p.RemarkRecord] = []
    try:
        for order in orders:
            if order.state in _SKIPPED_STATES or order.customer is None:
                continue
            customer = _customer(order.customer)
            customers[customer.id] = customer
            records.append(_order(order))
            events += _events(order)
            remarks += _remarks(order)
        return p.ChangePage(
            server_id=server_id,
            cursor=cursor,
            has_more=has_more,
            customers=list(customers.values()),
            orders=records,
            order_events=events,
            remarks=remarks,
        )
    except ValidationError as exc:
        raise BadResponse(f"Vendure sent data we cannot accept ({vw.first_error(exc)})") from None


def _customer(customer: vw.Customer) -> p.CustomerRecord:
    name = line(f"{customer.firstName} {customer.lastName}") or line(customer.emailAddress)
    return p.CustomerRecord(
        id=CUSTOMER_PREFIX + customer.id,
        name=name or "(no name)",
        email=line(customer.emailAddress) or None,
        phone=line(customer.phoneNumber) or None,
        updated_at=customer.updatedAt,
    )


def _status(order: vw.Order) -> OrderStatus:
    payments = order.payments or []
    paid = sum(pay.amount for pay in payments if pay.state == "Settled")
    refunded = sum(r.total for pay in payments for r in pay.refunds if r.state == "Settled")
    if paid > 0 and refunded >= paid:
        return OrderStatus.REFUNDED
    if order.state in _PAYMENT_WAIT:
        return OrderStatus.AWAITING_PAYMENT
    if order.state in _STATUS:
        return _STATUS[order.state]
    return OrderStatus.AWAITING_SHIPMENT if order.orderPlacedAt else OrderStatus.AWAITING_PAYMENT


def _address(address: vw.Address | None) -> str:
    if address is None:
        return ""
    city = " ".join(part for part in (address.postalCode, address.city) if part)
    parts = [
        address.fullName,
        address.company,
        address.streetLine1,
        address.streetLine2,
        city,
        address.province,
        address.country,
        address.phoneNumber,
    ]
    return _text("\n".join(line(part) for part in parts if part and part.strip()))


def _fulfilment_times(order: vw.Order) -> dict[str, dict[str, datetime]]:
    """When each fulfilment first reached each state, from the history."""
    times: dict[str, dict[str, datetime]] = {}
    for entry in order.history.items:
        if entry.type == "ORDER_FULFILLMENT_TRANSITION":
            fid = str(entry.data.get("fulfillmentId", ""))
            times.setdefault(fid, {}).setdefault(str(entry.data.get("to", "")), entry.createdAt)
    return times


def _order(order: vw.Order) -> p.OrderRecord:
    assert order.customer is not None
    fulfilments = sorted(order.fulfillments or [], key=lambda f: (f.createdAt, vw.id_key(f.id)))
    latest = fulfilments[-1] if fulfilments else None
    when = _fulfilment_times(order)
    shipped = [t["Shipped"] for t in when.values() if "Shipped" in t]
    delivered = [t["Delivered"] for t in when.values() if "Delivered" in t]
    paid = [
        e.createdAt
        for e in order.history.items
        if e.type == "ORDER_PAYMENT_TRANSITION" and e.data.get("to") == "Settled"
    ]
    items = [
        p.OrderItem(
            sku=line(item.productVariant.sku if item.productVariant else ""),
            name=line(item.productVariant.name if item.productVariant else "") or "(item)",
            quantity=max(0, item.quantity),
            unit_price_minor=max(0, item.unitPriceWithTax),
        )
        for item in order.lines[:200]
    ]
    return p.OrderRecord(
        id=ORDER_PREFIX + order.id,
        number=line(order.code),
        customer_id=CUSTOMER_PREFIX + order.customer.id,
        status=_status(order),
        items=items,
        total_minor=max(0, order.totalWithTax),
        currency=order.currencyCode,
        carrier=(line(latest.method) or None) if latest else None,
        tracking_number=(line(latest.trackingCode) or None) if latest else None,
        shipping_address=_address(order.shippingAddress),
        placed_at=order.orderPlacedAt or order.createdAt,
        paid_at=min(paid) if paid else None,
        shipped_at=min(shipped) if shipped else None,
        delivered_at=max(delivered) if delivered and len(delivered) == len(when) else None,
        updated_at=order.updatedAt,
    )


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency) if _CURRENCY.match(currency) else str(amount)


def _events(order: vw.Order) -> list[p.OrderEventRecord]:
    fulfilments = {f.id: f for f in order.fulfillments or []}
    refunds = {r.id: r for pay in order.payments or [] for r in pay.refunds}
    payments = {pay.id: pay for pay in order.payments or []}
    found: list[tuple[str, OrderEventKind, datetime, list[str]]] = []
    placed = False
    for entry in order.history.items:
        data = entry.data
        to = str(data.get("to", ""))
        kind: OrderEventKind | None = None
        detail: list[str] = []
        if entry.type == "ORDER_STATE_TRANSITION" and to == "ArrangingPayment" and not placed:
            kind, placed = OrderEventKind.PLACED, True
        elif entry.type == "ORDER_PAYMENT_TRANSITION" and to == "Settled":
            kind = OrderEventKind.PAID
            pay = payments.get(str(data.get("paymentId", "")))
            if pay is not None:
                detail.append(f"{_money(pay.amount, order.currencyCode)} by {pay.method or '?'}")
        elif entry.type == "ORDER_FULFILLMENT_TRANSITION" and to in ("Shipped", "Delivered"):
            kind = OrderEventKind.SHIPPED if to == "Shipped" else OrderEventKind.DELIVERED
            ful = fulfilments.get(str(data.get("fulfillmentId", "")))
            if ful is not None and to == "Shipped":
                detail.append(" ".join(x for x in (ful.method, ful.trackingCode) if x))
        elif entry.type == "ORDER_REFUND_TRANSITION" and to in ("Settled", "Failed"):
            kind = OrderEventKind.REFUNDED if to == "Settled" else OrderEventKind.REFUND_DECLINED
            refund = refunds.get(str(data.get("refundId", "")))
            if refund is not None:
                detail.append(_money(refund.total, order.currencyCode))
            reason = str(data.get("reason") or (refund.reason if refund else "") or "")
            if reason:
                detail.append(reason)
        elif entry.type == "ORDER_CANCELLATION":
            kind = OrderEventKind.CANCELLED
            if data.get("reason"):
                detail.append(str(data["reason"]))
        elif entry.type == "ORDER_NOTE" and entry.isPublic:
            note = f"Note: {data.get('note', '')}"
            if found:
                found[-1][3].append(note)
            else:
                found.append((entry.id, OrderEventKind.PLACED, entry.createdAt, [note]))
            continue
        if kind is not None:
            found.append((entry.id, kind, entry.createdAt, detail))
    events = [
        p.OrderEventRecord(
            id=_sortable(HISTORY_PREFIX, hid),
            order_id=ORDER_PREFIX + order.id,
            kind=kind,
            at=at,
            detail=_text("\n".join(line(d) for d in detail if d)),
        )
        for hid, kind, at, detail in found
    ]
    return events + _open_refunds(order)


def _open_refunds(order: vw.Order) -> list[p.OrderEventRecord]:
    """Vendure logs no history entry when a refund is created, only when it settles or
    fails: a refund still waiting to settle is shown as approved from the refund itself."""
    closed = {
        str(e.data.get("refundId", ""))
        for e in order.history.items
        if e.type == "ORDER_REFUND_TRANSITION" and e.data.get("to") in ("Settled", "Failed")
    }
    return [
        p.OrderEventRecord(
            id=_sortable(REFUND_PREFIX, refund.id),
            order_id=ORDER_PREFIX + order.id,
            kind=OrderEventKind.REFUND_APPROVED,
            at=refund.createdAt,
            detail=_text(
                "\n".join(
                    x for x in (_money(refund.total, order.currencyCode), line(refund.reason)) if x
                )
            ),
        )
        for pay in order.payments or []
        for refund in pay.refunds
        if refund.id not in closed and refund.state != "Failed" and refund.createdAt is not None
    ]


def _sortable(prefix: str, vendure_id: str) -> str:
    """Numeric ids zero-padded: the store orders same-second events by id, as text."""
    return prefix + (vendure_id.zfill(12) if vendure_id.isdigit() else vendure_id)


def _remarks(order: vw.Order) -> list[p.RemarkRecord]:
    remarks: list[p.RemarkRecord] = []
    for entry in order.history.items:
        if entry.type != "ORDER_NOTE" or entry.isPublic:
            continue
        note = str(entry.data.get("note") or "")
        found = _NOTE_TAG.match(note)
        flag = DEFAULT_REMARK_FLAG
        remark_id = _sortable(NOTE_PREFIX, entry.id)
        if found and found["flag"] in FlagColour.__members__.values():
            flag = FlagColour(found["flag"])
            note = note[found.end() :]
            if found["id"] and not found["id"].startswith("vendure:"):
                remark_id = found["id"]
        admin = entry.administrator
        author = line(f"{admin.firstName} {admin.lastName}") if admin else ""
        remarks.append(
            p.RemarkRecord(
                id=remark_id,
                order_id=ORDER_PREFIX + order.id,
                flag=flag,
                text=_text(note) or "(empty note)",
                author=author or "Vendure",
                created_at=entry.createdAt,
            )
        )
    return remarks
