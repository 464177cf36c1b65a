"""Medusa v2 as an order source, over its Admin REST API.

Medusa holds orders, customers, fulfilments with tracking, returns, claims, exchanges
and refunds; it holds no conversations. This adapter pulls orders (with their customer,
timeline and remarks) incrementally and writes order remarks into the order's
``metadata`` (Medusa has no notes endpoint). Mapping lives in :mod:`medusa_mapping`.

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
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from cs_console import protocol as p
from cs_console.backends import medusa_mapping as mm
from cs_console.backends.base import (
    AuthFailed,
    BadResponse,
    Capabilities,
    Refused,
    Unavailable,
)
from cs_console.backends.http import (
    REQUEST_DEADLINE_S,
    capped_request,
    check_url,
    parse_retry_after,
)
from cs_console.domain import Role
from cs_console.sanitize import sanitize_line
from cs_console.secret import Secret
from cs_console.timeutil import utcnow

#: Orders per request; each carries its items, fulfilments, returns and payments.
MAX_ORDERS_PER_PAGE = 100
#: Fingerprints of rows at the cursor's time kept in the cursor (12 hex chars each).
MAX_SEEN = 48
#: Read-modify-write attempts for a remark before giving up until the next cycle.
REMARK_ATTEMPTS = 3
CANCELLATION_KEY = "cs_console_cancellation"
EPOCH = "1970-01-01T00:00:00.000Z"

ORDER_FIELDS = ",".join(
    [
        "id",
        "display_id",
        "status",
        "email",
        "currency_code",
        "total",
        "original_total",
        "created_at",
        "updated_at",
        "canceled_at",
        "metadata",
        "customer_id",
        "payment_status",
        "fulfillment_status",
        "customer.id",
        "customer.email",
        "customer.first_name",
        "customer.last_name",
        "customer.phone",
        "customer.updated_at",
        # Item fields one by one leave out ``quantity`` (Medusa computes it): take all.
        "*items",
        "*shipping_address",
        "*fulfillments",
        "*fulfillments.labels",
        "fulfillments.shipping_option.name",
        "*returns",
        "*returns.items",
        "*payment_collections",
        "*payment_collections.payments",
        "*payment_collections.payments.captures",
        "*payment_collections.payments.refunds",
    ]
)
PAYMENT_FIELDS = "id,updated_at,payment_collection.order.id"

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
    notes=(
        ("conversations", "Medusa holds orders, not chats: configure a conversation source"),
        ("cases", "Medusa cannot keep the after-sales register"),
    ),
)


@dataclass(slots=True)
class _Mark:
    """How far one stream (orders or payments) has been read."""

    at: str = ""  # Medusa's own ISO text of the newest updated_at delivered
    seen: list[str] = field(default_factory=list)  # fingerprints of rows at exactly ``at``
    #: Set while reading one crowded millisecond (``at``) in id order: rows read so far.
    tie: int | None = None

    def advance(self, rows: list[Mapping[str, Any]]) -> None:
        """Move past ``rows`` (sorted by updated_at, as Medusa returned them)."""
        if not rows:
            return
        newest = mm.text(max(rows, key=_time).get("updated_at"), "updated_at")
        newest_time = mm.when(newest, "updated_at")
        same = [_fingerprint(row) for row in rows if _time(row) == newest_time]
        if self.at and mm.when(self.at, "cursor") == newest_time:
            same = [*self.seen, *(f for f in same if f not in self.seen)]
        self.at = newest
        # Oldest fingerprints go first: forgetting one only means pulling that row again.
        self.seen = same[-MAX_SEEN:]

    def fresh(self, rows: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """``rows`` without those already delivered at the cursor's time."""
        if not self.at:
            return rows
        at = mm.when(self.at, "cursor")
        return [r for r in rows if not (_time(r) == at and _fingerprint(r) in self.seen)]


def _time(row: Mapping[str, Any]) -> datetime:
    return mm.when(row.get("updated_at"), "updated_at")


def _fingerprint(row: Mapping[str, Any]) -> str:
    return hashlib.sha256(str(row.get("id")).encode()).hexdigest()[:12]


def encode_cursor(orders: _Mark, payments: _Mark) -> str:
    """Both marks as compact JSON (printable ASCII, well under 1000 chars)."""

    def state(mark: _Mark) -> list[Any]:
        return [mark.at, mark.seen] if mark.tie is None else [mark.at, mark.seen, mark.tie]

    return json.dumps({"v": 1, "o": state(orders), "p": state(payments)}, separators=(",", ":"))


def decode_cursor(cursor: str) -> tuple[_Mark, _Mark]:
    """The marks in ``cursor``; a fresh start for "" (BadResponse for anything else)."""
    if not cursor:
        return _Mark(), _Mark()
    try:
        data = json.loads(cursor)
        marks = []
        for name in ("o", "p"):
            at, seen, *tie = data[name]
            if not isinstance(at, str) or not all(isinstance(s, str) for s in seen):
                raise TypeError(name)
            if tie and (not isinstance(tie[0], int) or tie[0] < 0 or not at):
                raise TypeError(name)
            if at:
                mm.when(at, "cursor")
            marks.append(_Mark(at, list(seen), tie[0] if tie else None))
    except (ValueError, TypeError, KeyError, mm.MappingError):
        raise BadResponse("the stored Medusa cursor is not one of ours") from None
    return marks[0], marks[1]


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
        except mm.MappingError as exc:
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
            stores = mm.objects(
                self._get("/admin/stores", fields="id,name").get("stores"), "stores"
            )
            store = mm.text(stores[0].get("name"), "store.name") if stores else "Medusa"
            return f"{store} (API key)"
        user = mm.obj(body.get("user"), "user")
        full = " ".join(mm.text(user.get(k), k).strip() for k in ("first_name", "last_name"))
        return full.strip() or mm.text(user.get("email"), "email")

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
            orders = {mm.text(o.get("id"), "order.id"): o for o in fresh_orders}
            wanted = sorted(
                {oid for pay in payments if (oid := _order_of_payment(pay)) and oid not in orders}
            )
            for chunk in _chunks(wanted, MAX_ORDERS_PER_PAGE):
                body = self._get("/admin/orders", fields=ORDER_FIELDS, id=chunk, limit=len(chunk))
                for order in mm.objects(body.get("orders"), "orders"):
                    orders[mm.text(order.get("id"), "order.id")] = order
            page = self._page(list(orders.values()))
        except mm.MappingError as exc:
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
            order = mm.obj(self._get(f"/admin/orders/{mid}", fields=fields).get("order"), "order")
            currency = mm.text(order.get("currency_code"), "currency_code").upper()
            tag = f"[cs-console {key}]"
            payable: str | None = None
            for collection in mm.objects(order.get("payment_collections"), "payment_collections"):
                for pay in mm.objects(collection.get("payments"), "payments"):
                    refunds = mm.objects(pay.get("refunds"), "refunds")
                    for refund in refunds:
                        if tag in mm.text(refund.get("note"), "refund.note"):
                            return p.OperationResult(
                                key=key,
                                applied=True,
                                result={"refund_id": refund.get("id"), "repeated": True},
                            )
                    captured = sum(
                        (
                            mm.decimal(c.get("amount"), "capture.amount")
                            for c in mm.objects(pay.get("captures"), "captures")
                        ),
                        start=Decimal(0),
                    )
                    refunded = sum(
                        (mm.decimal(r.get("amount"), "refund.amount") for r in refunds),
                        start=Decimal(0),
                    )
                    if (
                        payable is None
                        and mm.to_minor(captured - refunded, currency) >= amount_minor
                    ):
                        payable = mm.text(pay.get("id"), "payment.id")
        except mm.MappingError as exc:
            raise BadResponse(f"Medusa sent data we cannot accept ({exc})") from None
        if payable is None:
            raise Refused(
                "no captured payment of this order has that much left to refund", status=422
            )
        note = f"{sanitize_line(reason)[:150]} {tag}".strip()
        body = self._send(
            "POST",
            f"/admin/payments/{payable}/refund",
            json={"amount": float(mm.to_major(amount_minor, currency)), "note": note},
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
        self, path: str, name: str, fields: str, mark: _Mark, page_size: int
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
        times = {_time(row) for row in rows}
        if full and len(times) == 1 and len(rows) > MAX_SEEN:
            # More rows share one millisecond than the cursor can remember: read that
            # millisecond alone, in id order, by offset (re-reading some is harmless).
            crowded = mm.text(rows[0].get("updated_at"), "updated_at")
            mark.at, mark.seen, mark.tie = crowded, [], 0
            return fresh, True
        mark.advance(rows)
        return fresh, full

    def _read_crowded(
        self, path: str, name: str, fields: str, mark: _Mark, page_size: int
    ) -> tuple[list[Mapping[str, Any]], bool]:
        assert mark.tie is not None
        start = mm.when(mark.at, "cursor")
        after = _iso(start + timedelta(milliseconds=1))
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
        rows = mm.objects(self._get(path, **params).get(name), name)
        for row in rows:
            _time(row)  # every row must carry a usable updated_at before the mark moves
        return rows

    def _newest_payment(self) -> _Mark:
        body = self._get("/admin/payments", fields="id,updated_at", order="-updated_at", limit=1)
        rows = mm.objects(body.get("payments"), "payments")
        mark = _Mark(at=EPOCH)  # no payment yet: every one to come is news
        mark.advance(rows)
        return mark

    def _page(self, orders: list[Mapping[str, Any]]) -> p.ChangePage:
        ids = [mm.text(o.get("id"), "order.id") for o in orders]
        claims = self._related("/admin/claims", "claims", ids)
        exchanges = self._related("/admin/exchanges", "exchanges", ids)
        customers: dict[str, p.CustomerRecord] = {}
        records: list[p.OrderRecord] = []
        events: list[p.OrderEventRecord] = []
        remarks: list[p.RemarkRecord] = []
        for order in orders:
            mid = mm.text(order.get("id"), "order.id")
            customer = mm.customer_of(order)
            known = customers.get(customer.id)
            if known is None or known.updated_at < customer.updated_at:
                customers[customer.id] = customer
            record, timeline, notes = mm.map_order(
                order, claims=claims.get(mid, []), exchanges=exchanges.get(mid, [])
            )
            records.append(record)
            events.extend(timeline)
            remarks.extend(notes)
        return p.ChangePage(
            server_id=self.server_id,
            cursor="",
            has_more=False,
            customers=list(customers.values()),
            orders=records,
            order_events=events,
            remarks=remarks,
        )

    def _related(
        self, path: str, name: str, order_ids: list[str]
    ) -> dict[str, list[Mapping[str, Any]]]:
        """Claims or exchanges of these orders, by Medusa order id."""
        found: dict[str, list[Mapping[str, Any]]] = {}
        for chunk in _chunks(order_ids, 50):
            offset = 0
            while True:
                body = self._get(path, order_id=chunk, limit=100, offset=offset)
                rows = mm.objects(body.get(name), name)
                for row in rows:
                    found.setdefault(mm.text(row.get("order_id"), f"{name}.order_id"), []).append(
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
                json={"metadata": {mm.REMARKS_KEY: [*entries, entry]}},
            )
            if any(e.get("key") == key for e in self._remarks(mid)):
                return p.OperationResult(key=key, applied=True, result={"remark_id": op.id})
        raise Unavailable("another writer keeps replacing this order's remarks in Medusa")

    def _remarks(self, mid: str) -> list[dict[str, Any]]:
        body = self._get(f"/admin/orders/{mid}", fields="id,metadata")
        order = body.get("order")
        if not isinstance(order, Mapping):
            raise BadResponse("Medusa sent an order we cannot read")
        return mm.remark_entries(order.get("metadata"))

    def _medusa_id(self, order_id: str) -> str:
        mid = mm.medusa_order_id(order_id)
        if mid is None or not all(c.isascii() and (c.isalnum() or c in "_-") for c in mid):
            raise Refused(f"{order_id} is not a Medusa order", status=404)
        return mid

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._send("GET", path, params=params)

    def _send(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        status, headers, body = self._request(method, path, **kwargs)
        if 200 <= status < 300:
            try:
                data = json.loads(body)
            except ValueError:
                raise BadResponse("Medusa sent something that is not JSON") from None
            if not isinstance(data, dict):
                raise BadResponse("Medusa sent JSON of an unexpected shape")
            return data
        detail = _error_text(body)
        if status == 401:
            raise AuthFailed(f"Medusa refused the secret key ({detail or 'unauthorized'})")
        if status == 429:
            raise Unavailable(
                "Medusa asks us to slow down (429)",
                retry_after=parse_retry_after(headers.get("retry-after")),
            )
        if 300 <= status < 400:
            raise BadResponse(f"Medusa redirected us ({status}); check the backend URL")
        if 400 <= status < 500:
            raise Refused(f"Medusa refused this ({status}: {detail or 'refused'})", status=status)
        raise Unavailable(
            f"Medusa had a problem ({status}{': ' + detail if detail else ''})",
            retry_after=parse_retry_after(headers.get("retry-after")),
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[int, httpx.Headers, bytes]:
        return capped_request(
            self._client, method, path, **kwargs, who="Medusa", deadline=self._deadline
        )


def _order_of_payment(payment: Mapping[str, Any]) -> str | None:
    collection = payment.get("payment_collection")
    if not isinstance(collection, Mapping):
        return None
    order = collection.get("order")
    if not isinstance(order, Mapping):
        return None
    oid = order.get("id")
    return oid if isinstance(oid, str) and oid else None


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _error_text(body: bytes) -> str:
    """Medusa's error message (``{"type": ..., "message": ...}``), sanitised and short."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return sanitize_line(message)[:200] if isinstance(message, str) else ""


def _iso(at: datetime) -> str:
    """Medusa's time format: UTC, milliseconds, ``Z``."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _iso_now() -> str:
    return _iso(utcnow())
