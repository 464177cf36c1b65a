"""Vendure (Admin GraphQL, API-key auth) as an order source.

Vendure holds a shop's customers, orders and each order's history; it has no chats.
This adapter turns them into the protocol's records: orders with their timeline
(from the order history), customers as referenced by orders, and private order notes
as flagged remarks. Ids are namespaced so they never clash with the conversation
source's: ``vendure:c<id>`` customers, ``vendure:o<id>`` orders, ``vendure:h<id>``
history entries, ``vendure:n<id>`` notes used as remarks, ``vendure:r<id>`` refunds
not yet settled. History, note and refund ids are zero-padded to 12 digits because the
store orders events of the same second by id as text, and Vendure's history has
one-second resolution.

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
  up"): somebody wrote it for a reason, and nothing is hidden.
* **Incremental pull**: orders by ``updatedAt`` (one-second resolution on SQLite; ties
  are fetched whole and ordered by id in Python, since Vendure ignores a second sort
  key). Adding a note or a refund does not touch ``Order.updatedAt``, so after the
  last page of orders the adapter re-checks orders updated in the last
  ``recheck_days`` for history entries newer than the previous check (server time,
  from the ``Date`` header). A note or refund on an order untouched for longer shows
  once the order itself changes.
* **Cursor**: ``v1|<updatedAt>|<order id>|<last check>|<last history id>``, printable.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from cs_console import protocol as p
from cs_console.backends import vendure_queries as q
from cs_console.backends.base import (
    AuthFailed,
    BackendError,
    BadResponse,
    Capabilities,
    Refused,
    Unavailable,
)
from cs_console.backends.http import REQUEST_DEADLINE_S, capped_request
from cs_console.backends.reference import check_url, parse_retry_after
from cs_console.domain import FlagColour, OrderEventKind, OrderStatus, Role
from cs_console.money import format_money
from cs_console.secret import Secret
from cs_console.timeutil import utcnow

CUSTOMER_PREFIX = "vendure:c"
ORDER_PREFIX = "vendure:o"
HISTORY_PREFIX = "vendure:h"
NOTE_PREFIX = "vendure:n"
REFUND_PREFIX = "vendure:r"

#: The flag of a private note that the console did not write.
DEFAULT_REMARK_FLAG = FlagColour.YELLOW

M = TypeVar("M", bound=BaseModel)

ORDERS_PER_REQUEST = 50
HISTORY_PER_REQUEST = 500
RECHECK_ORDERS_PER_REQUEST = 100
RECHECK_MAX_ORDERS = 5_000
NOTES_PER_REQUEST = 200
#: History entries within this long before the last check are looked at again: a
#: write stamped just before the check may become visible just after it.
RECHECK_SLACK = timedelta(seconds=2)

_AUTH_CODES = frozenset({"FORBIDDEN", "UNAUTHORIZED", "UNAUTHENTICATED"})
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_VENDURE_ID = re.compile(r"^[A-Za-z0-9-]{1,56}$")
_PREFIX = re.compile(
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


# --- what Vendure sends (lax: Vendure's JSON, checked for shape, not trusted) -------


class _Lax(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Customer(_Lax):
    id: str
    firstName: str = ""
    lastName: str = ""
    emailAddress: str | None = None
    phoneNumber: str | None = None
    updatedAt: datetime


class _Address(_Lax):
    fullName: str | None = None
    company: str | None = None
    streetLine1: str | None = None
    streetLine2: str | None = None
    city: str | None = None
    province: str | None = None
    postalCode: str | None = None
    country: str | None = None
    phoneNumber: str | None = None


class _Variant(_Lax):
    sku: str = ""
    name: str = ""


class _Line(_Lax):
    id: str
    quantity: int
    unitPriceWithTax: int
    productVariant: _Variant | None = None


class _Fulfilment(_Lax):
    id: str
    state: str
    method: str | None = None
    trackingCode: str | None = None
    createdAt: datetime
    updatedAt: datetime


class _Refund(_Lax):
    id: str
    state: str
    total: int
    reason: str | None = None
    createdAt: datetime | None = None


class _Payment(_Lax):
    id: str
    state: str
    amount: int
    method: str | None = None
    refunds: list[_Refund] = []


class _Admin(_Lax):
    firstName: str = ""
    lastName: str = ""


class _History(_Lax):
    id: str
    createdAt: datetime
    type: str
    isPublic: bool = True
    data: dict[str, Any] = {}
    administrator: _Admin | None = None


class _HistoryList(_Lax):
    totalItems: int
    items: list[_History]


class _Order(_Lax):
    id: str
    code: str
    state: str
    createdAt: datetime
    updatedAt: datetime
    orderPlacedAt: datetime | None = None
    currencyCode: str
    totalWithTax: int
    customer: _Customer | None = None
    shippingAddress: _Address | None = None
    lines: list[_Line] = []
    fulfillments: list[_Fulfilment] | None = None
    payments: list[_Payment] | None = None
    history: _HistoryList


class _OrderList(_Lax):
    totalItems: int
    items: list[_Order]


# --- the cursor ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Cursor:
    """Where a pull stands: the last order emitted, and the last history re-check."""

    order_time: datetime | None = None
    order_id: str = ""
    checked_at: datetime | None = None
    history_id: str = ""

    def encode(self) -> str:
        return "|".join(
            [
                "v1",
                _iso(self.order_time) if self.order_time else "",
                self.order_id,
                _iso(self.checked_at) if self.checked_at else "",
                self.history_id,
            ]
        )

    @classmethod
    def decode(cls, text: str) -> _Cursor:
        if not text:
            return cls()
        parts = text.split("|")
        if len(parts) != 5 or parts[0] != "v1":
            raise BadResponse("the stored Vendure sync position is not one this version wrote")
        try:
            order_time = datetime.fromisoformat(parts[1]) if parts[1] else None
            checked_at = datetime.fromisoformat(parts[3]) if parts[3] else None
        except ValueError:
            raise BadResponse("the stored Vendure sync position is damaged") from None
        return cls(order_time, parts[2], checked_at, parts[4])


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _id_key(value: str) -> tuple[int, int, str]:
    """Numeric ids compare as numbers (9 < 10); others (UUID strategy) as text."""
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def _order_key(order: _Order) -> tuple[datetime, tuple[int, int, str]]:
    return (order.updatedAt, _id_key(order.id))


# --- the adapter ----------------------------------------------------------------------


@dataclass(slots=True)
class _Answer:
    data: dict[str, Any]
    server_time: datetime | None = None


@dataclass(slots=True)
class _Page:
    orders: list[_Order] = field(default_factory=list)
    has_more: bool = False


class VendureBackend:
    """Orders, customers, order history and private-note remarks from a Vendure shop."""

    name = "vendure"
    capabilities = Capabilities(
        conversations=False,
        send_messages=False,
        internal_notes=False,
        assign=False,
        statuses=False,
        orders=True,
        remarks=True,
        returns=False,
        cases=False,
        notes=(
            ("conversations", "Vendure holds orders, not chats: configure a conversation source"),
            ("returns", "Vendure has no returns: refund or cancel the order instead"),
            ("cases", "Vendure cannot keep the after-sales register"),
        ),
    )

    def __init__(
        self,
        url: str,
        api_key: Secret,
        *,
        channel_token: str | None = None,
        insecure: bool = False,
        timeout: float = 10.0,
        deadline: float = REQUEST_DEADLINE_S,
        recheck_days: float = 30.0,
    ) -> None:
        self.url = check_url(url, insecure=insecure)
        self._api_key = api_key
        self._deadline = deadline
        self._recheck = timedelta(days=recheck_days)
        # Orders this console refunded or cancelled: a refund leaves no history entry and
        # does not move updatedAt, so the next pull reads them again by id.
        self._touched: set[str] = set()
        self.server_id = (
            "vendure-"
            + hashlib.sha256(f"{self.url}|{channel_token or ''}".encode()).hexdigest()[:12]
        )
        headers = {
            "vendure-api-key": api_key.reveal(),
            "User-Agent": "cs-console",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if channel_token:
            headers["vendure-token"] = channel_token
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers=headers,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # --- identity ---------------------------------------------------------------

    def me(self) -> p.Me:
        """The key's administrator (or the key's own name) on this Vendure channel.

        Vendure answers ``activeAdministrator`` only for logged-in sessions, not for API
        keys; then the key's name and owner are used. The role is always ``agent``:
        Vendure permissions say nothing about who approves cases in the console."""
        data = self._gql(q.ME).data
        admin = data.get("activeAdministrator")
        name = ""
        if isinstance(admin, dict):
            name = " ".join(
                str(admin.get(part) or "") for part in ("firstName", "lastName")
            ).strip()
        if not name:
            name = self._key_owner()
        agent = self._record(p.AgentRecord, name=_line(name or "Vendure API key"), role=Role.AGENT)
        return self._record(
            p.Me, server_id=self.server_id, agent=agent, protocol=p.PROTOCOL_VERSION
        )

    def _key_owner(self) -> str:
        lookup = self._api_key.reveal().split(":", 1)[0]
        try:
            data = self._gql(q.API_KEY_OWNER, lookupId=lookup).data
        except (AuthFailed, BadResponse):
            return ""  # the key may not read API keys: its name is a nicety
        items = (data.get("apiKeys") or {}).get("items") or []
        if not items or not isinstance(items[0], dict):
            return ""
        key_name = str(items[0].get("name") or "")
        owner = str((items[0].get("owner") or {}).get("identifier") or "")
        if key_name and owner:
            return f"{key_name} ({owner})"
        return key_name or owner

    # --- pull -------------------------------------------------------------------

    def pull(self, cursor: str, limit: int = p.DEFAULT_PAGE) -> p.ChangePage:
        """Orders changed after ``cursor``, with their customers, timelines and remarks."""
        position = _Cursor.decode(cursor)
        take = max(1, min(limit, ORDERS_PER_REQUEST))
        if position.order_time is None:
            page, started = self._orders_from_start(take)
            checked_at = position.checked_at or started
            history_id = position.history_id
        else:
            page = self._orders_after(position, take)
            checked_at, history_id = position.checked_at, position.history_id
        emitted = {o.id for o in page.orders}
        order_time, order_id = position.order_time, position.order_id
        if page.orders:
            last = max(page.orders, key=_order_key)
            order_time, order_id = last.updatedAt, last.id
        orders = list(page.orders)
        if not page.has_more:
            rechecked, checked_at, history_id = self._recheck_history(
                checked_at, history_id, emitted
            )
            orders += rechecked
            emitted |= {o.id for o in rechecked}
            for vendure_id in sorted(self._touched - emitted):
                order = self._order(vendure_id)
                if order is not None:
                    orders.append(order)
            self._touched.clear()
        next_cursor = _Cursor(order_time, order_id, checked_at, history_id).encode()
        if page.has_more and next_cursor == cursor:
            raise BadResponse("Vendure's order list did not move on; refusing to loop")
        return self._page(orders, cursor=next_cursor, has_more=page.has_more)

    def _orders_from_start(self, take: int) -> tuple[_Page, datetime | None]:
        answer = self._gql(q.ORDERS_FROM_START, take=take, historyTake=HISTORY_PER_REQUEST)
        batch = self._order_list(answer.data, "orders")
        return self._complete(batch, take), answer.server_time

    def _orders_after(self, position: _Cursor, take: int) -> _Page:
        assert position.order_time is not None
        after = (position.order_time, _id_key(position.order_id))
        ties = [o for o in self._orders_within(position.order_time) if _order_key(o) > after]
        batch = self._order_list(
            self._gql(
                q.ORDERS_AFTER,
                after=_iso(position.order_time),
                take=take,
                historyTake=HISTORY_PER_REQUEST,
            ).data,
            "orders",
        )
        page = self._complete(batch, take)
        tie_ids = {o.id for o in ties}
        page.orders = sorted(ties + [o for o in page.orders if o.id not in tie_ids], key=_order_key)
        return page

    def _complete(self, batch: _OrderList, take: int) -> _Page:
        """Make a page end on a whole second: a full batch may have cut its last second
        short, so that second is dropped (or, if it is all there is, fetched whole)."""
        orders = sorted(batch.items, key=_order_key)
        full = len(orders) >= take or batch.totalItems > len(orders)
        if not full or not orders:
            return _Page(orders, has_more=False)
        last_time = orders[-1].updatedAt
        earlier = [o for o in orders if o.updatedAt < last_time]
        if earlier:
            return _Page(earlier, has_more=True)
        return _Page(sorted(self._orders_within(last_time), key=_order_key), has_more=True)

    def _orders_within(self, moment: datetime) -> list[_Order]:
        """Every order updated in the second that starts at ``moment``."""
        found: list[_Order] = []
        while True:
            batch = self._order_list(
                self._gql(
                    q.ORDERS_WITHIN,
                    after=_iso(moment - timedelta(milliseconds=1)),
                    before=_iso(moment + timedelta(milliseconds=999)),
                    skip=len(found),
                    take=ORDERS_PER_REQUEST,
                    historyTake=HISTORY_PER_REQUEST,
                ).data,
                "orders",
            )
            found += batch.items
            if not batch.items or len(found) >= batch.totalItems:
                return found

    def _recheck_history(
        self, checked_at: datetime | None, history_id: str, emitted: set[str]
    ) -> tuple[list[_Order], datetime | None, str]:
        """Orders with history entries (notes, refunds) newer than the last check."""
        if self._recheck <= timedelta(0):
            return [], checked_at, history_id
        now = utcnow()
        newer_than = (checked_at or now) - RECHECK_SLACK
        since = (checked_at or now) - self._recheck
        changed: list[str] = []
        best = history_id
        server_time: datetime | None = None
        skip = 0
        while skip < RECHECK_MAX_ORDERS:
            answer = self._gql(
                q.RECENT_HISTORY,
                since=_iso(since),
                newerThan=_iso(newer_than),
                skip=skip,
                take=RECHECK_ORDERS_PER_REQUEST,
            )
            server_time = server_time or answer.server_time
            items = _path(answer.data, "orders", "items")
            total = _path(answer.data, "orders", "totalItems")
            if not isinstance(items, list) or not isinstance(total, int):
                raise BadResponse("Vendure's order list has an unexpected shape")
            for item in items:
                entries = _path(item, "history", "items")
                if not isinstance(entries, list):
                    raise BadResponse("Vendure's order history has an unexpected shape")
                fresh = [
                    str(e.get("id"))
                    for e in entries
                    if isinstance(e, dict)
                    and _id_key(str(e.get("id"))) > _id_key(history_id or "0")
                ]
                if fresh:
                    best = max([best or "0", *fresh], key=_id_key)
                    if str(item.get("id")) not in emitted:
                        changed.append(str(item.get("id")))
            skip += len(items)
            if not items or skip >= total:
                break
        orders = [order for oid in changed if (order := self._order(oid)) is not None]
        return orders, server_time or now, best

    def _order(self, vendure_id: str) -> _Order | None:
        data = self._gql(q.ORDER_BY_ID, id=vendure_id, historyTake=HISTORY_PER_REQUEST).data
        raw = data.get("order")
        if raw is None:
            return None
        return self._full_history(self._parse(_Order, raw, "order"))

    def _order_list(self, data: dict[str, Any], key: str) -> _OrderList:
        parsed = self._parse(_OrderList, data.get(key), "order list")
        return _OrderList(
            totalItems=parsed.totalItems, items=[self._full_history(o) for o in parsed.items]
        )

    def _full_history(self, order: _Order) -> _Order:
        if order.history.totalItems <= len(order.history.items):
            return order
        entries = list(order.history.items)
        while len(entries) < order.history.totalItems:
            data = self._gql(
                q.ORDER_HISTORY_PAGE, id=order.id, skip=len(entries), take=HISTORY_PER_REQUEST
            ).data
            more = self._parse(_HistoryList, _path(data, "order", "history"), "order history")
            if not more.items:
                break
            entries += more.items
        history = _HistoryList(totalItems=order.history.totalItems, items=entries)
        return order.model_copy(update={"history": history})

    def _page(self, orders: list[_Order], *, cursor: str, has_more: bool) -> p.ChangePage:
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
                server_id=self.server_id,
                cursor=cursor,
                has_more=has_more,
                customers=list(customers.values()),
                orders=records,
                order_events=events,
                remarks=remarks,
            )
        except ValidationError as exc:
            raise BadResponse(f"Vendure sent data we cannot accept ({_first_error(exc)})") from None

    # --- push -------------------------------------------------------------------

    def push(self, key: str, operation: p.Operation) -> p.OperationResult:
        """Add a remark as a private order note or make a refund, once per ``key``;
        refuse the rest."""
        if isinstance(operation, p.RefundOrder):
            return self.refund_order(
                operation.order_id, operation.amount_minor, operation.reason, key
            )
        if not isinstance(operation, p.AddRemark):
            raise Refused(
                f"Vendure is an order source: it cannot take '{operation.op}' "
                "(only order remarks are written there)",
                status=501,
            )
        order_id = _vendure_order_id(operation.order_id)
        tag = _safe_key(key)
        existing = self._find_note(order_id, tag, operation.id)
        result = {"remark_id": operation.id}
        if existing is not None:
            return p.OperationResult(key=key, applied=True, result={**result, "note_id": existing})
        text = f"[cs:{operation.flag.value} id={operation.id} key={tag}] {operation.text}"
        data = self._gql(q.ADD_NOTE, input={"id": order_id, "note": text, "isPublic": False}).data
        if not isinstance(data.get("addNoteToOrder"), dict):
            raise Refused(f"Vendure has no order {operation.order_id}", status=404)
        note_id = self._find_note(order_id, tag, operation.id)
        if note_id is not None:
            result["note_id"] = note_id
        return p.OperationResult(key=key, applied=True, result=result)

    def _find_note(self, order_id: str, key: str, remark_id: str) -> str | None:
        """The id of a note on the order that already carries ``key`` or ``remark_id``."""
        skip = 0
        while True:
            data = self._gql(q.ORDER_NOTES, id=order_id, skip=skip, take=NOTES_PER_REQUEST).data
            order = data.get("order")
            if order is None:
                raise Refused(f"Vendure has no order {ORDER_PREFIX}{order_id}", status=404)
            history = self._parse(_HistoryList, _path(data, "order", "history"), "order notes")
            for entry in history.items:
                found = _PREFIX.match(str(entry.data.get("note") or ""))
                if found and (found["key"] == key or found["id"] == remark_id):
                    return entry.id
            skip += len(history.items)
            if not history.items or skip >= history.totalItems:
                return None

    def refund_order(
        self, order_id: str, amount_minor: int, reason: str, key: str
    ) -> p.OperationResult:
        """Refund ``amount_minor`` of a settled payment of the order, once per ``key``.

        The key travels in the refund's reason (``[cs:KEY]``), so a retry after a timeout
        finds the first refund instead of making a second. Vendure's ErrorResults (e.g.
        more than is refundable) become :class:`Refused` with Vendure's message."""
        if amount_minor <= 0:
            raise Refused("a refund must be more than zero", status=422)
        vendure_id = _vendure_order_id(order_id)
        self._touched.add(vendure_id)
        tag = _safe_key(key)
        data = self._gql(q.ORDER_PAYMENTS, id=vendure_id).data
        order = data.get("order")
        if not isinstance(order, dict):
            raise Refused(f"Vendure has no order {order_id}", status=404)
        payments = [self._parse(_Payment, raw, "payment") for raw in (order.get("payments") or [])]
        for payment in payments:
            for refund in payment.refunds:
                found = _REASON_KEY.search(refund.reason or "")
                if found and found["key"] == tag:
                    return p.OperationResult(
                        key=key,
                        applied=True,
                        result={"refund_id": refund.id, "state": refund.state},
                    )
        settled = [pay for pay in payments if pay.state == "Settled"]
        if not settled:
            raise Refused(f"order {order_id} has no settled payment to refund", status=409)

        def refundable(pay: _Payment) -> int:
            return pay.amount - sum(r.total for r in pay.refunds if r.state != "Failed")

        payment = max(settled, key=refundable)
        made = self._gql(
            q.REFUND_ORDER,
            input={
                "paymentId": payment.id,
                "amount": amount_minor,
                # Vendure's SQLite schema still needs the deprecated fields.
                "shipping": 0,
                "adjustment": 0,
                "reason": f"{_plain(reason)} [cs:{tag}]",
            },
        ).data
        created = _mutation_result(made, "refundOrder")
        return p.OperationResult(
            key=key,
            applied=True,
            result={"refund_id": str(created.get("id")), "state": str(created.get("state"))},
        )

    def cancel_order(self, order_id: str, reason: str, key: str) -> p.OperationResult:
        """Cancel the whole order (and its shipping), once per ``key``."""
        vendure_id = _vendure_order_id(order_id)
        self._touched.add(vendure_id)
        tag = _safe_key(key)
        data = self._gql(q.ORDER_CANCELLATIONS, id=vendure_id).data
        order = data.get("order")
        if not isinstance(order, dict):
            raise Refused(f"Vendure has no order {order_id}", status=404)
        entries = _path(data, "order", "history", "items")
        for entry in entries if isinstance(entries, list) else []:
            found = _REASON_KEY.search(str(_path(entry, "data", "reason") or ""))
            if found and found["key"] == tag:
                return p.OperationResult(
                    key=key, applied=True, result={"state": str(order.get("state"))}
                )
        made = self._gql(
            q.CANCEL_ORDER,
            input={
                "orderId": vendure_id,
                "reason": f"{_plain(reason)} [cs:{tag}]",
                "cancelShipping": True,
            },
        ).data
        result = _mutation_result(made, "cancelOrder")
        return p.OperationResult(key=key, applied=True, result={"state": str(result.get("state"))})

    # --- HTTP and GraphQL -----------------------------------------------------------

    def _gql(self, query: str, **variables: Any) -> _Answer:
        status, headers, body = self._request(
            json.dumps({"query": query, "variables": variables}).encode()
        )
        retry_after = parse_retry_after(headers.get("retry-after"))
        if status == 429:
            raise Unavailable("Vendure asks us to slow down (429)", retry_after=retry_after)
        if status in (401, 403):
            raise AuthFailed(f"Vendure refused the API key ({status})")
        if 300 <= status < 400:
            raise BadResponse(f"Vendure redirected us ({status}); check the backend URL")
        if status == 404:
            raise BadResponse(f"no Vendure Admin API at {self.url}/admin-api (404)")
        if status >= 500:
            raise Unavailable(f"Vendure had a problem ({status})", retry_after=retry_after)
        try:
            answer = json.loads(body)
        except ValueError:
            raise BadResponse(
                f"Vendure answered {status} with something that is not JSON"
            ) from None
        if not isinstance(answer, dict):
            raise BadResponse("Vendure's answer is not a GraphQL response")
        errors = answer.get("errors")
        if errors:
            raise _graphql_error(errors)
        if status != 200:
            raise BadResponse(f"Vendure answered {status}")
        data = answer.get("data")
        if not isinstance(data, dict):
            raise BadResponse("Vendure's answer has no data")
        return _Answer(data, _server_time(headers.get("date")))

    def _request(self, body: bytes) -> tuple[int, httpx.Headers, bytes]:
        try:
            return capped_request(
                self._client,
                "POST",
                "/admin-api",
                content=body,
                who="Vendure",
                deadline=self._deadline,
            )
        finally:
            # A session cookie would outlive a revoked key: authenticate by key alone.
            self._client.cookies.clear()

    def _parse(self, model: type[M], raw: object, what: str) -> M:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise BadResponse(
                f"Vendure's {what} has an unexpected shape ({_first_error(exc)})"
            ) from None

    def _record(self, model: type[M], **fields: Any) -> M:
        try:
            return model(**fields)
        except ValidationError as exc:
            raise BadResponse(f"Vendure sent data we cannot accept ({_first_error(exc)})") from None


# --- mapping (pure functions) ------------------------------------------------------------


def _line(value: str | None) -> str:
    """Single-line text cut to the protocol's limit (the model sanitises it)."""
    return " ".join((value or "").split())[: p.MAX_NAME_CHARS]


def _text(value: str | None) -> str:
    return (value or "")[: p.MAX_BODY_CHARS]


def _plain(value: str) -> str:
    """Text we send to Vendure: one line, no brackets that could fake our own tags."""
    return _line(value).replace("[", "(").replace("]", ")")


def _safe_key(key: str) -> str:
    """The idempotency key as it can travel in a note: itself if tidy, else its hash."""
    if re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", key):
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _vendure_order_id(order_id: str) -> str:
    raw = order_id.removeprefix(ORDER_PREFIX)
    if raw == order_id or not _VENDURE_ID.match(raw):
        raise Refused(f"{order_id!r} is not a Vendure order", status=404)
    return raw


def _customer(customer: _Customer) -> p.CustomerRecord:
    name = _line(f"{customer.firstName} {customer.lastName}") or _line(customer.emailAddress)
    return p.CustomerRecord(
        id=CUSTOMER_PREFIX + customer.id,
        name=name or "(no name)",
        email=_line(customer.emailAddress) or None,
        phone=_line(customer.phoneNumber) or None,
        updated_at=customer.updatedAt,
    )


def _status(order: _Order) -> OrderStatus:
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


def _address(address: _Address | None) -> str:
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
    return _text("\n".join(_line(part) for part in parts if part and part.strip()))


def _fulfilment_times(order: _Order) -> dict[str, dict[str, datetime]]:
    """When each fulfilment first reached each state, from the history."""
    times: dict[str, dict[str, datetime]] = {}
    for entry in order.history.items:
        if entry.type == "ORDER_FULFILLMENT_TRANSITION":
            fid = str(entry.data.get("fulfillmentId", ""))
            times.setdefault(fid, {}).setdefault(str(entry.data.get("to", "")), entry.createdAt)
    return times


def _order(order: _Order) -> p.OrderRecord:
    assert order.customer is not None
    fulfilments = sorted(order.fulfillments or [], key=lambda f: (f.createdAt, _id_key(f.id)))
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
            sku=_line(line.productVariant.sku if line.productVariant else ""),
            name=_line(line.productVariant.name if line.productVariant else "") or "(item)",
            quantity=max(0, line.quantity),
            unit_price_minor=max(0, line.unitPriceWithTax),
        )
        for line in order.lines[:200]
    ]
    return p.OrderRecord(
        id=ORDER_PREFIX + order.id,
        number=_line(order.code),
        customer_id=CUSTOMER_PREFIX + order.customer.id,
        status=_status(order),
        items=items,
        total_minor=max(0, order.totalWithTax),
        currency=order.currencyCode,
        carrier=(_line(latest.method) or None) if latest else None,
        tracking_number=(_line(latest.trackingCode) or None) if latest else None,
        shipping_address=_address(order.shippingAddress),
        placed_at=order.orderPlacedAt or order.createdAt,
        paid_at=min(paid) if paid else None,
        shipped_at=min(shipped) if shipped else None,
        delivered_at=max(delivered) if delivered and len(delivered) == len(when) else None,
        updated_at=order.updatedAt,
    )


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency) if _CURRENCY.match(currency) else str(amount)


def _events(order: _Order) -> list[p.OrderEventRecord]:
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
            detail=_text("\n".join(_line(d) for d in detail if d)),
        )
        for hid, kind, at, detail in found
    ]
    return events + _open_refunds(order)


def _open_refunds(order: _Order) -> list[p.OrderEventRecord]:
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
                    x for x in (_money(refund.total, order.currencyCode), _line(refund.reason)) if x
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


def _remarks(order: _Order) -> list[p.RemarkRecord]:
    remarks: list[p.RemarkRecord] = []
    for entry in order.history.items:
        if entry.type != "ORDER_NOTE" or entry.isPublic:
            continue
        note = str(entry.data.get("note") or "")
        found = _PREFIX.match(note)
        flag = DEFAULT_REMARK_FLAG
        remark_id = _sortable(NOTE_PREFIX, entry.id)
        if found and found["flag"] in FlagColour.__members__.values():
            flag = FlagColour(found["flag"])
            note = note[found.end() :]
            if found["id"] and not found["id"].startswith("vendure:"):
                remark_id = found["id"]
        admin = entry.administrator
        author = _line(f"{admin.firstName} {admin.lastName}") if admin else ""
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


def _path(value: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _graphql_error(errors: object) -> BackendError:
    first = errors[0] if isinstance(errors, list) and errors else {}
    message = str(first.get("message", "")) if isinstance(first, dict) else ""
    code = str(_path(first, "extensions", "code") or "")
    message = _line(message)[:300] or "unknown error"
    if code in _AUTH_CODES:
        return AuthFailed(f"Vendure refused the API key ({code.lower()}: {message})")
    return BadResponse(f"Vendure reported an error: {message}" + (f" ({code})" if code else ""))


def _mutation_result(data: dict[str, Any], field_name: str) -> dict[str, Any]:
    """A mutation's union answer: an ErrorResult becomes :class:`Refused`."""
    result = data.get(field_name)
    if not isinstance(result, dict):
        raise BadResponse(f"Vendure's {field_name} answer is missing")
    if "errorCode" in result:
        message = _line(str(result.get("message") or result["errorCode"]))
        raise Refused(f"Vendure refused: {message} ({result['errorCode']})", status=422)
    return result


def _server_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid"
    where = ".".join(str(x) for x in errors[0]["loc"])
    return f"{where}: {errors[0]['msg']}" if where else str(errors[0]["msg"])
