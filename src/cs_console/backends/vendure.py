"""Vendure (Admin GraphQL, API-key auth) as an order source.

Vendure holds a shop's customers, orders and each order's history; it has no chats.
This adapter pulls orders (with their customers, timelines from the order history, and
private order notes as flagged remarks) and writes remarks as private notes, refunds
and cancellations. What Vendure sends is read in :mod:`vendure_wire`, turned into the
protocol's records in :mod:`vendure_mapping` (ids, statuses, timelines, remark tags);
the GraphQL documents are in :mod:`vendure_queries`, the cursor in :mod:`vendure_cursor`.

Incremental pull: orders by ``updatedAt`` (one-second resolution on SQLite; ties are
fetched whole and ordered by id in Python, since Vendure ignores a second sort key).
Adding a note or a refund does not touch ``Order.updatedAt``, so after the last page
of orders the adapter re-checks orders updated in the last ``recheck_days`` for
history entries newer than the previous check (server time, from the ``Date``
header). A note or refund on an order untouched for longer shows once the order
itself changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from cs_console import protocol as p
from cs_console.backends import vendure_mapping as vm
from cs_console.backends import vendure_queries as q
from cs_console.backends import vendure_wire as vw
from cs_console.backends.base import AuthFailed, BadResponse, Capabilities, Refused
from cs_console.backends.http import REQUEST_DEADLINE_S, capped_request, check_url
from cs_console.backends.vendure_cursor import Cursor, iso, order_key
from cs_console.secret import Secret
from cs_console.timeutil import utcnow

ORDERS_PER_REQUEST = 50
HISTORY_PER_REQUEST = 500
RECHECK_ORDERS_PER_REQUEST = 100
RECHECK_MAX_ORDERS = 5_000
NOTES_PER_REQUEST = 200
#: History entries within this long before the last check are looked at again: a
#: write stamped just before the check may become visible just after it.
RECHECK_SLACK = timedelta(seconds=2)


CAPABILITIES = Capabilities(
    conversations=False,
    send_messages=False,
    internal_notes=False,
    assign=False,
    statuses=False,
    orders=True,
    remarks=True,
    returns=False,
    cases=False,
    presence=False,
    notes=(
        ("conversations", "Vendure holds orders, not chats: configure a conversation source"),
        ("returns", "Vendure has no returns: refund or cancel the order instead"),
        ("cases", "Vendure cannot keep the after-sales register"),
    ),
)


@dataclass(slots=True)
class _Page:
    orders: list[vw.Order] = field(default_factory=list)
    has_more: bool = False


class VendureBackend:
    """Orders, customers, order history and private-note remarks from a Vendure shop."""

    name = "vendure"
    capabilities = CAPABILITIES

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
        name = vm.administrator_name(data.get("activeAdministrator")) or self._key_owner()
        return vm.me_record(self.server_id, name)

    def _key_owner(self) -> str:
        lookup = self._api_key.reveal().split(":", 1)[0]
        try:
            data = self._gql(q.API_KEY_OWNER, lookupId=lookup).data
        except (AuthFailed, BadResponse):
            return ""  # the key may not read API keys: its name is a nicety
        return vm.key_owner(data)

    # --- pull -------------------------------------------------------------------

    def pull(self, cursor: str, limit: int = p.DEFAULT_PAGE) -> p.ChangePage:
        """Orders changed after ``cursor``, with their customers, timelines and remarks."""
        position = Cursor.decode(cursor)
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
            last = max(page.orders, key=order_key)
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
        next_cursor = Cursor(order_time, order_id, checked_at, history_id).encode()
        if page.has_more and next_cursor == cursor:
            raise BadResponse("Vendure's order list did not move on; refusing to loop")
        return vm.change_page(self.server_id, orders, cursor=next_cursor, has_more=page.has_more)

    def _orders_from_start(self, take: int) -> tuple[_Page, datetime | None]:
        answer = self._gql(q.ORDERS_FROM_START, take=take, historyTake=HISTORY_PER_REQUEST)
        batch = self._order_list(answer.data, "orders")
        return self._complete(batch, take), answer.server_time

    def _orders_after(self, position: Cursor, take: int) -> _Page:
        assert position.order_time is not None
        after = (position.order_time, vw.id_key(position.order_id))
        ties = [o for o in self._orders_within(position.order_time) if order_key(o) > after]
        batch = self._order_list(
            self._gql(
                q.ORDERS_AFTER,
                after=iso(position.order_time),
                take=take,
                historyTake=HISTORY_PER_REQUEST,
            ).data,
            "orders",
        )
        page = self._complete(batch, take)
        tie_ids = {o.id for o in ties}
        page.orders = sorted(ties + [o for o in page.orders if o.id not in tie_ids], key=order_key)
        return page

    def _complete(self, batch: vw.OrderList, take: int) -> _Page:
        """Make a page end on a whole second: a full batch may have cut its last second
        short, so that second is dropped (or, if it is all there is, fetched whole)."""
        orders = sorted(batch.items, key=order_key)
        full = len(orders) >= take or batch.totalItems > len(orders)
        if not full or not orders:
            return _Page(orders, has_more=False)
        last_time = orders[-1].updatedAt
        earlier = [o for o in orders if o.updatedAt < last_time]
        if earlier:
            return _Page(earlier, has_more=True)
        return _Page(sorted(self._orders_within(last_time), key=order_key), has_more=True)

    def _orders_within(self, moment: datetime) -> list[vw.Order]:
        """Every order updated in the second that starts at ``moment``."""
        found: list[vw.Order] = []
        while True:
            batch = self._order_list(
                self._gql(
                    q.ORDERS_WITHIN,
                    after=iso(moment - timedelta(milliseconds=1)),
                    before=iso(moment + timedelta(milliseconds=999)),
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
    ) -> tuple[list[vw.Order], datetime | None, str]:
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
                since=iso(since),
                newerThan=iso(newer_than),
                skip=skip,
                take=RECHECK_ORDERS_PER_REQUEST,
            )
            server_time = server_time or answer.server_time
            items = vw.path(answer.data, "orders", "items")
            total = vw.path(answer.data, "orders", "totalItems")
            if not isinstance(items, list) or not isinstance(total, int):
                raise BadResponse("Vendure's order list has an unexpected shape")
            for item in items:
                entries = vw.path(item, "history", "items")
                if not isinstance(entries, list):
                    raise BadResponse("Vendure's order history has an unexpected shape")
                fresh = [
                    str(e.get("id"))
                    for e in entries
                    if isinstance(e, dict)
                    and vw.id_key(str(e.get("id"))) > vw.id_key(history_id or "0")
                ]
                if fresh:
                    best = max([best or "0", *fresh], key=vw.id_key)
                    if str(item.get("id")) not in emitted:
                        changed.append(str(item.get("id")))
            skip += len(items)
            if not items or skip >= total:
                break
        orders = [order for oid in changed if (order := self._order(oid)) is not None]
        return orders, server_time or now, best

    def _order(self, vendure_id: str) -> vw.Order | None:
        data = self._gql(q.ORDER_BY_ID, id=vendure_id, historyTake=HISTORY_PER_REQUEST).data
        raw = data.get("order")
        if raw is None:
            return None
        return self._full_history(vw.parse(vw.Order, raw, "order"))

    def _order_list(self, data: dict[str, Any], key: str) -> vw.OrderList:
        parsed = vw.parse(vw.OrderList, data.get(key), "order list")
        return vw.OrderList(
            totalItems=parsed.totalItems, items=[self._full_history(o) for o in parsed.items]
        )

    def _full_history(self, order: vw.Order) -> vw.Order:
        if order.history.totalItems <= len(order.history.items):
            return order
        entries = list(order.history.items)
        while len(entries) < order.history.totalItems:
            data = self._gql(
                q.ORDER_HISTORY_PAGE, id=order.id, skip=len(entries), take=HISTORY_PER_REQUEST
            ).data
            more = vw.parse(vw.HistoryList, vw.path(data, "order", "history"), "order history")
            if not more.items:
                break
            entries += more.items
        history = vw.HistoryList(totalItems=order.history.totalItems, items=entries)
        return order.model_copy(update={"history": history})

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
        order_id = vm.vendure_order_id(operation.order_id)
        tag = vm.safe_key(key)
        existing = self._find_note(order_id, tag, operation.id)
        result = {"remark_id": operation.id}
        if existing is not None:
            return p.OperationResult(key=key, applied=True, result={**result, "note_id": existing})
        text = vm.remark_note(operation.flag, operation.id, tag, operation.text)
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
                raise Refused(f"Vendure has no order {vm.ORDER_PREFIX}{order_id}", status=404)
            history = vw.parse(vw.HistoryList, vw.path(data, "order", "history"), "order notes")
            for entry in history.items:
                if vm.note_is_remark(str(entry.data.get("note") or ""), key, remark_id):
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
        vendure_id = vm.vendure_order_id(order_id)
        self._touched.add(vendure_id)
        tag = vm.safe_key(key)
        data = self._gql(q.ORDER_PAYMENTS, id=vendure_id).data
        order = data.get("order")
        if not isinstance(order, dict):
            raise Refused(f"Vendure has no order {order_id}", status=404)
        payments = [vw.parse(vw.Payment, raw, "payment") for raw in (order.get("payments") or [])]
        for payment in payments:
            for refund in payment.refunds:
                if vm.reason_has_tag(refund.reason or "", tag):
                    return p.OperationResult(
                        key=key,
                        applied=True,
                        result={"refund_id": refund.id, "state": refund.state},
                    )
        settled = [pay for pay in payments if pay.state == "Settled"]
        if not settled:
            raise Refused(f"order {order_id} has no settled payment to refund", status=409)

        def refundable(pay: vw.Payment) -> int:
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
                "reason": vm.tagged_reason(reason, tag),
            },
        ).data
        created = vw.mutation_result(made, "refundOrder")
        return p.OperationResult(
            key=key,
            applied=True,
            result={"refund_id": str(created.get("id")), "state": str(created.get("state"))},
        )

    def cancel_order(self, order_id: str, reason: str, key: str) -> p.OperationResult:
        """Cancel the whole order (and its shipping), once per ``key``."""
        vendure_id = vm.vendure_order_id(order_id)
        self._touched.add(vendure_id)
        tag = vm.safe_key(key)
        data = self._gql(q.ORDER_CANCELLATIONS, id=vendure_id).data
        order = data.get("order")
        if not isinstance(order, dict):
            raise Refused(f"Vendure has no order {order_id}", status=404)
        entries = vw.path(data, "order", "history", "items")
        for entry in entries if isinstance(entries, list) else []:
            if vm.reason_has_tag(str(vw.path(entry, "data", "reason") or ""), tag):
                return p.OperationResult(
                    key=key, applied=True, result={"state": str(order.get("state"))}
                )
        made = self._gql(
            q.CANCEL_ORDER,
            input={
                "orderId": vendure_id,
                "reason": vm.tagged_reason(reason, tag),
                "cancelShipping": True,
            },
        ).data
        result = vw.mutation_result(made, "cancelOrder")
        return p.OperationResult(key=key, applied=True, result={"state": str(result.get("state"))})

    # --- HTTP and GraphQL -----------------------------------------------------------

    def _gql(self, query: str, **variables: Any) -> vw.Answer:
        status, headers, body = self._request(
            json.dumps({"query": query, "variables": variables}).encode()
        )
        return vw.read_answer(status, headers, body, self.url)

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
