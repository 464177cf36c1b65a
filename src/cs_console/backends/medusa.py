"""Medusa v2 as an order source, over its Admin REST API.

Medusa holds orders, customers, fulfilments with tracking, returns, claims, exchanges
and refunds; it holds no conversations. This adapter pulls orders (with their customer,
timeline and remarks) incrementally and writes order remarks into the order's
``metadata`` (Medusa has no notes endpoint). What Medusa sends is read in
:mod:`medusa_wire` and turned into the protocol's records in :mod:`medusa_mapping`
(returns, claims and exchanges in :mod:`medusa_returns`, remarks in
:mod:`medusa_remarks`); the cursor is in :mod:`medusa_cursor`.

Auth: a secret API key, sent as HTTP Basic with the key as user name and no password
(Medusa answers 401 to the same key as a Bearer token).

Incremental pull: orders by ``updated_at``, plus payments by ``updated_at`` because a
capture changes the payment but not the order. Both are queried with ``$gte`` the last
time seen, so rows sharing that millisecond are never skipped; the cursor also holds
short fingerprints of the rows already delivered at exactly that time, so an unchanged
pull comes back empty. ``limit`` is raised by the number of fingerprints, which keeps
progress when a few rows share one millisecond; when more share it than the cursor can
remember (a bulk import writes many rows in one transaction), that millisecond is read
on its own, in id order, by offset, and the cursor moves past it afterwards.

What this cannot see: a row committed with an ``updated_at`` older than rows already
pulled (a transaction that took its time before committing). Medusa writes
``updated_at`` in the application, so such a row is only seen at its next change.

A first pull starts the payment stream at the newest payment (orders carry their
payments), so an initial sync does not fetch every order twice.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx

from cs_console import protocol as p
from cs_console.backends import medusa_mapping as mm
from cs_console.backends import medusa_remarks as mr
from cs_console.backends import medusa_wire as mw
from cs_console.backends.base import BadResponse, Capabilities, Refused, Unavailable
from cs_console.backends.http import REQUEST_DEADLINE_S, capped_request, check_url
from cs_console.backends.medusa_cursor import (
    EPOCH,
    MAX_SEEN,
    Mark,
    decode_cursor,
    encode_cursor,
    row_time,
)
from cs_console.backends.medusa_wire import ORDER_FIELDS, PAYMENT_FIELDS
from cs_console.domain import Role
from cs_console.sanitize import sanitize_line
from cs_console.secret import Secret
from cs_console.timeutil import utcnow

# The cursor and the field lists live beside the adapter; importers of this module
# keep finding them here.
__all__ = [
    "CANCELLATION_KEY",
    "CAPABILITIES",
    "EPOCH",
    "MAX_ORDERS_PER_PAGE",
    "MAX_SEEN",
    "ORDER_FIELDS",
    "PAYMENT_FIELDS",
    "REMARK_ATTEMPTS",
    "MedusaBackend",
    "decode_cursor",
    "encode_cursor",
]

#: Orders per request; each carries its items, fulfilments, returns and payments.
MAX_ORDERS_PER_PAGE = 100
#: Read-modify-write attempts for a remark before giving up until the next cycle.
REMARK_ATTEMPTS = 3
CANCELLATION_KEY = "cs_console_cancellation"

CAPABILITIES = Capabilities(
    conversations=False,
    send_messages=False,
    internal_notes=False,
    assign=False,
    statuses=False,
    orders=True,
    remarks=True,
    returns=True,
    cases=False,
    presence=False,
    notes=(
        ("conversations", "Medusa holds orders, not chats: configure a conversation source"),
        ("cases", "Medusa cannot keep the after-sales register"),
    ),
)


class MedusaBackend:
    """Orders, customers, timelines and remarks from a Medusa v2 shop."""

    name = "Medusa"
    capabilities = CAPABILITIES

    def __init__(
        self,
        url: str,
        secret_key: Secret,
        *,
        agent_name: str | None = None,
        insecure: bool = False,
        timeout: float = 10.0,
        deadline: float = REQUEST_DEADLINE_S,
    ) -> None:
        self.url = check_url(url, insecure=insecure)
        self.server_id = "medusa-" + hashlib.sha256(self.url.encode()).hexdigest()[:16]
        self._agent_name = agent_name
        self._deadline = deadline
        basic = base64.b64encode(f"{secret_key.reveal()}:".encode()).decode("ascii")
        self._client = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
            headers={
                "Authorization": f"Basic {basic}",
                "User-Agent": "cs-console",
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # --- Backend protocol -----------------------------------------------------------

    def me(self) -> p.Me:
        """The user the key acts for when Medusa says so; else the store's API key."""
        try:
            name = self._actor_name()
        except mw.MappingError as exc:
            raise BadResponse(f"Medusa sent data we cannot accept ({exc})") from None
        self._agent_name = self._agent_name or name
        return p.Me(
            server_id=self.server_id,
            agent=p.AgentRecord(name=(name or "Medusa")[: p.MAX_NAME_CHARS], role=Role.AGENT),
            protocol=p.PROTOCOL_VERSION,
        )

    def _actor_name(self) -> str:
        try:
            body = self._get("/admin/users/me", fields="id,email,first_name,last_name")
        except Refused:
            # A secret key's actor is the key itself, not a user: Medusa answers 404.
            stores = mw.objects(
                self._get("/admin/stores", fields="id,name").get("stores"), "stores"
            )
            store = mw.text(stores[0].get("name"), "store.name") if stores else "Medusa"
            return f"{store} (API key)"
        user = mw.obj(body.get("user"), "user")
        full = " ".join(mw.text(user.get(k), k).strip() for k in ("first_name", "last_name"))
        return full.strip() or mw.text(user.get("email"), "email")

    def pull(self, cursor: str, limit: int = p.DEFAULT_PAGE) -> p.ChangePage:
        """Orders (and their customers, timelines, remarks) changed since ``cursor``."""
        orders_mark, payments_mark = decode_cursor(cursor)
        page_size = max(1, min(limit, MAX_ORDERS_PER_PAGE))
        try:
            if payments_mark.at:
                payments, more_payments = self._read(
                    "/admin/payments", "payments", PAYMENT_FIELDS, payments_mark, page_size
                )
            else:
                # A first pull fetches every order with its payments anyway: the payment
                # stream only has to catch what changes from now on. Asked before the
                # orders, so a capture in between is caught by one or the other.
                payments, more_payments = [], False
                payments_mark = self._newest_payment()
            fresh_orders, more_orders = self._read(
                "/admin/orders", "orders", ORDER_FIELDS, orders_mark, page_size
            )
            more = more_orders or more_payments
            orders = {mw.text(o.get("id"), "order.id"): o for o in fresh_orders}
            wanted = sorted(
                {oid for pay in payments if (oid := mw.order_of_payment(pay)) and oid not in orders}
            )
            for chunk in _chunks(wanted, MAX_ORDERS_PER_PAGE):
                body = self._get("/admin/orders", fields=ORDER_FIELDS, id=chunk, limit=len(chunk))
                for order in mw.objects(body.get("orders"), "orders"):
                    orders[mw.text(order.get("id"), "order.id")] = order
            page = self._page(list(orders.values()))
        except mw.MappingError as exc:
            raise BadResponse(f"Medusa sent data we cannot accept ({exc})") from None
        return page.model_copy(
            update={"cursor": encode_cursor(orders_mark, payments_mark), "has_more": more}
        )

    def push(self, key: str, operation: p.Operation) -> p.OperationResult:
        """Add a remark (into the order's metadata) or make a refund; Medusa keeps nothing
        else we send."""
        if isinstance(operation, p.AddRemark):
            return self._add_remark(key, operation)
        if isinstance(operation, p.RefundOrder):
            return self.refund_order(
                operation.order_id, operation.amount_minor, operation.reason, key
            )
        raise Refused(
            f"Medusa is an order source: it cannot take '{operation.op}' "
            "(only order remarks are written to it)",
            status=501,
        )

    # --- order actions ----------------------------------------------------------------

    def refund_order(
        self, order_id: str, amount_minor: int, reason: str, key: str
    ) -> p.OperationResult:
        """Refund ``amount_minor`` of a captured payment of the order, once per ``key``.

        Medusa refunds carry no idempotency key, so the key travels in the refund's note
        (``[cs-console KEY]``) and a repeat finds it there instead of refunding again.
        """
        if amount_minor <= 0:
            raise Refused("a refund needs an amount above zero", status=422)
        mid = self._medusa_id(order_id)
        fields = (
            "id,currency_code,*payment_collections,*payment_collections.payments,"
            "*payment_collections.payments.captures,*payment_collections.payments.refunds"
        )
        try:
            order = mw.obj(self._get(f"/admin/orders/{mid}", fields=fields).get("order"), "order")
            currency = mw.text(order.get("currency_code"), "currency_code").upper()
            tag = f"[cs-console {key}]"
            payable: str | None = None
            for collection in mw.objects(order.get("payment_collections"), "payment_collections"):
                for pay in mw.objects(collection.get("payments"), "payments"):
                    refunds = mw.objects(pay.get("refunds"), "refunds")
                    for refund in refunds:
                        if tag in mw.text(refund.get("note"), "refund.note"):
                            return p.OperationResult(
                                key=key,
                                applied=True,
                                result={"refund_id": refund.get("id"), "repeated": True},
                            )
                    captured = sum(
                        (
                            mw.decimal(c.get("amount"), "capture.amount")
                            for c in mw.objects(pay.get("captures"), "captures")
                        ),
                        start=Decimal(0),
                    )
                    refunded = sum(
                        (mw.decimal(r.get("amount"), "refund.amount") for r in refunds),
                        start=Decimal(0),
                    )
                    if (
                        payable is None
                        and mw.to_minor(captured - refunded, currency) >= amount_minor
                    ):
                        payable = mw.text(pay.get("id"), "payment.id")
        except mw.MappingError as exc:
            raise BadResponse(f"Medusa sent data we cannot accept ({exc})") from None
        if payable is None:
            raise Refused(
                "no captured payment of this order has that much left to refund", status=422
            )
        note = f"{sanitize_line(reason)[:150]} {tag}".strip()
        body = self._send(
            "POST",
            f"/admin/payments/{payable}/refund",
            json={"amount": float(mw.to_major(amount_minor, currency)), "note": note},
        )
        if not isinstance(body.get("payment"), Mapping):
            raise BadResponse("Medusa's answer to the refund has no payment in it")
        return p.OperationResult(key=key, applied=True, result={"payment_id": payable})

    def cancel_order(self, order_id: str, reason: str, key: str) -> p.OperationResult:
        """Cancel the order (Medusa refuses once something is fulfilled); repeats are no-ops.

        Medusa's cancel takes no reason, so the reason and key go into the order's
        metadata first.
        """
        mid = self._medusa_id(order_id)
        order = self._get(f"/admin/orders/{mid}", fields="id,status").get("order")
        if not isinstance(order, Mapping):
            raise BadResponse("Medusa sent an order we cannot read")
        status = order.get("status")
        if status == "canceled":
            return p.OperationResult(key=key, applied=True, result={"repeated": True})
        note = {"key": key, "reason": sanitize_line(reason)[:200], "at": _iso_now()}
        self._send("POST", f"/admin/orders/{mid}", json={"metadata": {CANCELLATION_KEY: note}})
        self._send("POST", f"/admin/orders/{mid}/cancel", json={})
        return p.OperationResult(key=key, applied=True, result={"status": "cancelled"})

    # --- helpers ------------------------------------------------------------------------

    def _read(
        self, path: str, name: str, fields: str, mark: Mark, page_size: int
    ) -> tuple[list[Mapping[str, Any]], bool]:
        """Rows changed since ``mark`` (which moves past them), and whether more remain."""
        if mark.tie is not None:
            return self._read_crowded(path, name, fields, mark, page_size)
        limit = page_size + len(mark.seen)
        params: dict[str, Any] = {"fields": fields, "order": "updated_at", "limit": limit}
        if mark.at:
            params["updated_at[$gte]"] = mark.at
        rows = self._rows(path, name, params)
        fresh = mark.fresh(rows)
        full = len(rows) >= limit
        times = {row_time(row) for row in rows}
        if full and len(times) == 1 and len(rows) > MAX_SEEN:
            # More rows share one millisecond than the cursor can remember: read that
            # millisecond alone, in id order, by offset (re-reading some is harmless).
            crowded = mw.text(rows[0].get("updated_at"), "updated_at")
            mark.at, mark.seen, mark.tie = crowded, [], 0
            return fresh, True
        mark.advance(rows)
        return fresh, full

    def _read_crowded(
        self, path: str, name: str, fields: str, mark: Mark, page_size: int
    ) -> tuple[list[Mapping[str, Any]], bool]:
        assert mark.tie is not None
        start = mw.when(mark.at, "cursor")
        after = mw.iso(start + timedelta(milliseconds=1))
        params: dict[str, Any] = {
            "fields": fields,
            "order": "id",
            "limit": page_size,
            "offset": mark.tie,
            "updated_at[$gte]": mark.at,
            "updated_at[$lt]": after,
        }
        rows = self._rows(path, name, params)
        if len(rows) < page_size:
            # The millisecond is read: go on after it.
            mark.at, mark.seen, mark.tie = after, [], None
        else:
            mark.tie += len(rows)
        return rows, True

    def _rows(self, path: str, name: str, params: dict[str, Any]) -> list[Mapping[str, Any]]:
        rows = mw.objects(self._get(path, **params).get(name), name)
        for row in rows:
            row_time(row)  # every row must carry a usable updated_at before the mark moves
        return rows

    def _newest_payment(self) -> Mark:
        body = self._get("/admin/payments", fields="id,updated_at", order="-updated_at", limit=1)
        rows = mw.objects(body.get("payments"), "payments")
        mark = Mark(at=EPOCH)  # no payment yet: every one to come is news
        mark.advance(rows)
        return mark

    def _page(self, orders: list[Mapping[str, Any]]) -> p.ChangePage:
        ids = [mw.text(o.get("id"), "order.id") for o in orders]
        claims = self._related("/admin/claims", "claims", ids)
        exchanges = self._related("/admin/exchanges", "exchanges", ids)
        return mm.change_page(self.server_id, orders, claims=claims, exchanges=exchanges)

    def _related(
        self, path: str, name: str, order_ids: list[str]
    ) -> dict[str, list[Mapping[str, Any]]]:
        """Claims or exchanges of these orders, by Medusa order id."""
        found: dict[str, list[Mapping[str, Any]]] = {}
        for chunk in _chunks(order_ids, 50):
            offset = 0
            while True:
                body = self._get(path, order_id=chunk, limit=100, offset=offset)
                rows = mw.objects(body.get(name), name)
                for row in rows:
                    found.setdefault(mw.text(row.get("order_id"), f"{name}.order_id"), []).append(
                        row
                    )
                offset += len(rows)
                count = body.get("count")
                if not rows or not isinstance(count, int) or offset >= count:
                    break
        return found

    def _add_remark(self, key: str, op: p.AddRemark) -> p.OperationResult:
        """Append the remark to the order's metadata list, once per key.

        Medusa has no compare-and-set on metadata: another writer who read the list
        before our write and writes after it can drop our entry. We re-read after
        writing and start again if the entry is missing (up to three times); a writer
        slower than that re-read still wins, which is the best Medusa's API allows.
        """
        mid = self._medusa_id(op.order_id)
        author = self._agent_name or self.me().agent.name
        for _ in range(REMARK_ATTEMPTS):
            entries = self._remarks(mid)
            if any(e.get("key") == key or e.get("id") == op.id for e in entries):
                return p.OperationResult(
                    key=key, applied=True, result={"remark_id": op.id, "repeated": True}
                )
            entry = {
                "id": op.id,
                "key": key,
                "flag": op.flag.value,
                "text": op.text,
                "author": author,
                "created_at": _iso_now(),
            }
            # Medusa merges metadata key by key, so only our key is written.
            self._send(
                "POST",
                f"/admin/orders/{mid}",
                json={"metadata": {mr.REMARKS_KEY: [*entries, entry]}},
            )
            if any(e.get("key") == key for e in self._remarks(mid)):
                return p.OperationResult(key=key, applied=True, result={"remark_id": op.id})
        raise Unavailable("another writer keeps replacing this order's remarks in Medusa")

    def _remarks(self, mid: str) -> list[dict[str, Any]]:
        body = self._get(f"/admin/orders/{mid}", fields="id,metadata")
        order = body.get("order")
        if not isinstance(order, Mapping):
            raise BadResponse("Medusa sent an order we cannot read")
        return mr.remark_entries(order.get("metadata"))

    def _medusa_id(self, order_id: str) -> str:
        mid = mw.medusa_order_id(order_id)
        if mid is None or not all(c.isascii() and (c.isalnum() or c in "_-") for c in mid):
            raise Refused(f"{order_id} is not a Medusa order", status=404)
        return mid

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._send("GET", path, params=params)

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return mw.read_answer(*self._request(method, path, **kwargs))

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, httpx.Headers, bytes]:
        return capped_request(
            self._client, method, path, **kwargs, who="Medusa", deadline=self._deadline
        )


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _iso_now() -> str:
    return mw.iso(utcnow())
