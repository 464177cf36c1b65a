"""The Vendure adapter against a real Vendure 3.7 (see ``vendure_server.py``).

The console's own sync engine and store run against it: what arrives is read back
through the store's read functions, and what the console writes is checked in
Vendure itself.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cs_console import protocol as p
from cs_console.backends.base import (
    AuthFailed,
    BackendError,
    BadResponse,
    Refused,
    Unavailable,
)
from cs_console.backends.vendure import VendureBackend
from cs_console.domain import (
    ConversationStatus,
    DeliveryState,
    FlagColour,
    OrderEventKind,
    OrderStatus,
)
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.services import orders as order_service
from cs_console.services.context import AgentContext
from cs_console.settings import Settings
from cs_console.store import orders as order_store
from cs_console.store.db import Database
from cs_console.store.models import ORDER
from cs_console.sync.engine import SyncEngine
from cs_console.views import OrderRow
from tests.realbackends import vendure_server as vs


@dataclass
class Console:
    """A console store synced with the test Vendure."""

    db: Database
    engine: SyncEngine
    backend: VendureBackend
    ctx: AgentContext

    def order(self, seeded: vs.SeededOrder) -> OrderRow:
        """The order as the console shows it."""
        order_id = f"vendure:o{seeded.vendure_id}"
        with self.db.read() as conn:
            row = conn.execute(select(ORDER.c.customer_id).where(ORDER.c.id == order_id)).first()
        assert row is not None, f"order {order_id} is not in the store"
        return next(
            o for o in order_store.orders_for_customer(self.db, row[0]) if o.order_id == order_id
        )


@pytest.fixture
def console(tmp_path: Path, vendure_shop: vs.VendureShop) -> Iterator[Console]:
    db = Database(tmp_path / "store.db")
    backend = VendureBackend(vendure_shop.url, Secret(vendure_shop.api_key))
    ctx = AgentContext(settings=Settings(paths=Paths(tmp_path)), db=db)
    yield Console(db, SyncEngine(db, backend), backend, ctx)
    backend.close()
    db.close()


def kinds(order: OrderRow) -> list[OrderEventKind]:
    return [event.kind for event in order.events]


def notes_in_vendure(shop: vs.VendureShop, seeded: vs.SeededOrder) -> list[dict[str, Any]]:
    admin = shop.admin()
    try:
        data = admin.gql(
            "query($o: ID!) { order(id: $o) { history(options: {take: 500}) "
            "{ items { id type isPublic data } } } }",
            o=seeded.vendure_id,
        )
    finally:
        admin.close()
    return [e for e in data["order"]["history"]["items"] if e["type"] == "ORDER_NOTE"]


@pytest.mark.real_backend
def test_first_sync_brings_orders_customers_and_timelines(
    console: Console, vendure_shop: vs.VendureShop
) -> None:
    report = console.engine.run_once()

    assert report.pulled > 0
    orders = vendure_shop.orders
    delivered = console.order(orders["delivered"])
    assert delivered.customer_id == f"vendure:c{orders['delivered'].customer_vendure_id}"
    assert delivered.status is OrderStatus.DELIVERED
    assert delivered.number == orders["delivered"].code
    assert (delivered.carrier, delivered.tracking_number) == ("Royal Mail", "RM123456789GB")
    assert delivered.total_minor == orders["delivered"].total_minor
    assert delivered.currency == "USD"
    assert [(i.sku, i.quantity) for i in delivered.items] == [("L2201308", 1)]
    assert "1 Test Street" in delivered.shipping_address
    assert kinds(delivered) == [
        OrderEventKind.PLACED,
        OrderEventKind.PAID,
        OrderEventKind.SHIPPED,
        OrderEventKind.DELIVERED,
    ]
    shipped_event = delivered.events[2]
    assert shipped_event.detail == "Royal Mail RM123456789GB"
    assert "Note: Left with the neighbour at no. 3" in delivered.events[-1].detail
    assert delivered.paid_at is not None
    assert delivered.delivered_at is not None
    # A private note written in Vendure is a remark with the neutral flag.
    assert [(r.flag, r.text, r.author) for r in delivered.remarks] == [
        (FlagColour.YELLOW, "Customer called twice about the box", "Super Admin")
    ]

    assert console.order(orders["shipped"]).status is OrderStatus.SHIPPED
    assert console.order(orders["paid"]).status is OrderStatus.AWAITING_SHIPMENT
    assert console.order(orders["unpaid"]).status is OrderStatus.AWAITING_PAYMENT
    refunded = console.order(orders["refunded"])
    assert refunded.status is OrderStatus.REFUNDED
    assert kinds(refunded)[-1] is OrderEventKind.REFUNDED
    assert "Arrived broken" in refunded.events[-1].detail
    cancelled = console.order(orders["cancelled"])
    assert cancelled.status is OrderStatus.CANCELLED
    assert kinds(cancelled)[-1] is OrderEventKind.CANCELLED
    assert cancelled.events[-1].detail == "Customer changed their mind"

    # The same customer's two orders are under one customer, found by the read side.
    ada = order_service.for_customer(console.ctx, delivered.customer_id)
    assert {o.order_id for o in ada} == {
        f"vendure:o{orders['delivered'].vendure_id}",
        f"vendure:o{orders['unpaid'].vendure_id}",
    }


@pytest.mark.real_backend
def test_remark_from_the_console_lands_in_vendure_and_comes_back_with_its_flag(
    console: Console, vendure_shop: vs.VendureShop
) -> None:
    console.engine.run_once()
    seeded = vendure_shop.orders["remark"]
    order_id = f"vendure:o{seeded.vendure_id}"

    entry = order_service.add_remark(console.ctx, order_id, FlagColour.RED, "Courier lost it")
    report = console.engine.run_once()

    assert report.pushed == 1
    assert report.refused == 0
    notes = notes_in_vendure(vendure_shop, seeded)
    assert len(notes) == 1
    assert notes[0]["isPublic"] is False
    assert re.match(r"^\[cs:red id=\w+ key=\w+\] Courier lost it$", notes[0]["data"]["note"])
    remarks = console.order(seeded).remarks
    # Pulled back under the console's own id: confirmed, not doubled.
    assert [(r.flag, r.text, r.delivery) for r in remarks] == [
        (FlagColour.RED, "Courier lost it", DeliveryState.SENT)
    ]
    assert entry.key in notes[0]["data"]["note"]

    # A second console, with an empty store, sees the same flag.
    other = Database(console.db.path.parent / "other.db")
    try:
        SyncEngine(other, VendureBackend(vendure_shop.url, Secret(vendure_shop.api_key))).run_once()
        row = next(
            o
            for o in order_store.orders_for_customer(
                other, f"vendure:c{seeded.customer_vendure_id}"
            )
            if o.order_id == order_id
        )
        assert [(r.flag, r.text) for r in row.remarks] == [(FlagColour.RED, "Courier lost it")]
    finally:
        other.close()


@pytest.mark.real_backend
def test_a_retried_push_with_the_same_key_does_not_double_the_note(
    console: Console, vendure_shop: vs.VendureShop
) -> None:
    seeded = vendure_shop.orders["shipped"]
    operation = p.AddRemark(
        id="retry-remark-1",
        order_id=f"vendure:o{seeded.vendure_id}",
        flag=FlagColour.BLUE,
        text="Parcel re-routed",
    )

    first = console.backend.push("key-retry-1", operation)
    again = console.backend.push("key-retry-1", operation)

    mine = [n for n in notes_in_vendure(vendure_shop, seeded) if "key-retry-1" in n["data"]["note"]]
    assert len(mine) == 1
    assert first.result["remark_id"] == again.result["remark_id"] == "retry-remark-1"
    assert first.result["note_id"] == again.result["note_id"] == mine[0]["id"]


@pytest.mark.real_backend
def test_refund_and_cancellation_made_in_vendure_appear_after_the_next_pull(
    console: Console, vendure_shop: vs.VendureShop
) -> None:
    console.engine.run_once()
    to_refund = vendure_shop.orders["vendure_refund"]
    to_cancel = vendure_shop.orders["vendure_cancel"]
    assert OrderEventKind.REFUNDED not in kinds(console.order(to_refund))

    admin = vendure_shop.admin()
    try:
        vs.refund(admin, to_refund, 500, "Scratched lid")
        vs.cancel(admin, to_cancel, "Out of stock")
    finally:
        admin.close()
    console.engine.run_once()

    refunded = console.order(to_refund)
    assert kinds(refunded)[-1] is OrderEventKind.REFUNDED
    assert "Scratched lid" in refunded.events[-1].detail
    assert refunded.status is OrderStatus.AWAITING_SHIPMENT  # a partial refund
    cancelled = console.order(to_cancel)
    assert cancelled.status is OrderStatus.CANCELLED
    assert kinds(cancelled)[-1] is OrderEventKind.CANCELLED
    assert cancelled.events[-1].detail == "Out of stock"


@pytest.mark.real_backend
def test_an_incremental_pull_after_no_change_returns_nothing(
    vendure_shop: vs.VendureShop,
) -> None:
    backend = VendureBackend(vendure_shop.url, Secret(vendure_shop.api_key))
    try:
        cursor, pages, seen = "", 0, 0
        while True:
            page = backend.pull(cursor, limit=3)  # small pages: ties and has_more at work
            pages += 1
            seen += len(page.orders)
            cursor = page.cursor
            if not page.has_more:
                break
        assert pages > 1
        assert seen >= len(vendure_shop.orders)

        again = backend.pull(cursor)

        assert again.count() == 0
        assert again.has_more is False
    finally:
        backend.close()


@pytest.mark.real_backend
def test_a_bad_api_key_gives_auth_failed(vendure_shop: vs.VendureShop) -> None:
    backend = VendureBackend(vendure_shop.url, Secret("not-a-key"))
    try:
        with pytest.raises(AuthFailed):
            backend.me()
        with pytest.raises(AuthFailed):
            backend.pull("")
    finally:
        backend.close()


@pytest.mark.real_backend
def test_me_names_the_key_and_is_stable(vendure_shop: vs.VendureShop) -> None:
    first = VendureBackend(vendure_shop.url, Secret(vendure_shop.api_key))
    second = VendureBackend(vendure_shop.url + "/", Secret(vendure_shop.api_key))
    other_channel = VendureBackend(
        vendure_shop.url, Secret(vendure_shop.api_key), channel_token="elsewhere"
    )
    try:
        me = first.me()
        assert me.server_id == second.me().server_id
        assert me.server_id != other_channel.server_id
        assert me.agent.name == "cs-console (superadmin)"
        assert me.protocol == p.PROTOCOL_VERSION
    finally:
        for backend in (first, second, other_channel):
            backend.close()


@pytest.mark.real_backend
def test_an_error_result_gives_refused_with_vendures_message(
    console: Console, vendure_shop: vs.VendureShop
) -> None:
    seeded = vendure_shop.orders["paid"]
    with pytest.raises(Refused) as caught:
        console.backend.refund_order(
            f"vendure:o{seeded.vendure_id}", seeded.total_minor * 10, "Too much", "key-too-much"
        )
    assert "exceeds the refundable amount" in str(caught.value)


@pytest.mark.real_backend
def test_refund_and_cancel_from_the_console_happen_once_per_key(
    console: Console, vendure_shop: vs.VendureShop
) -> None:
    to_refund = vendure_shop.orders["console_refund"]
    to_cancel = vendure_shop.orders["console_cancel"]
    console.engine.run_once()

    # The agent's refund goes through the outbox (services -> sync -> push), as from a case.
    entry = order_service.refund(console.ctx, console.order(to_refund), 300, "Late delivery")
    assert console.engine.run_once().pushed == 1
    again = console.backend.refund_order(  # a retry with the same key: no second refund
        f"vendure:o{to_refund.vendure_id}", 300, "Late delivery", entry.key
    )
    console.backend.cancel_order(f"vendure:o{to_cancel.vendure_id}", "Duplicate", "case-8-cancel")
    console.backend.cancel_order(f"vendure:o{to_cancel.vendure_id}", "Duplicate", "case-8-cancel")

    assert again.result.get("refund_id")
    admin = vendure_shop.admin()
    try:
        data = admin.gql(
            "query($o: ID!) { order(id: $o) { payments { refunds { id total reason } } } }",
            o=to_refund.vendure_id,
        )
    finally:
        admin.close()
    refunds = [r for pay in data["order"]["payments"] for r in pay["refunds"]]
    assert [(r["total"], r["reason"]) for r in refunds] == [
        (300, f"Late delivery [cs:{entry.key}]")
    ]

    console.engine.run_once()
    assert console.order(to_cancel).status is OrderStatus.CANCELLED
    assert kinds(console.order(to_refund))[-1] is OrderEventKind.REFUND_APPROVED

    with pytest.raises(Refused) as caught:  # cancelled already, under another key
        console.backend.cancel_order(f"vendure:o{to_cancel.vendure_id}", "Again", "case-9")
    assert "Vendure refused" in str(caught.value)


def test_other_operations_are_refused_as_not_implemented() -> None:
    backend = VendureBackend("http://127.0.0.1:9", Secret("k"))
    operation = p.SetStatus(conversation_id="c1", status=ConversationStatus.RESOLVED)
    with pytest.raises(Refused) as caught:
        backend.push("k1", operation)
    assert caught.value.status == 501
    assert "order source" in str(caught.value)


# --- contract tests: canned GraphQL answers from a real HTTP server on 127.0.0.1 ---------


Canned = tuple[int, dict[str, str], bytes]


class CannedVendure:
    """Answers each GraphQL operation (by its name) with a canned response."""

    def __init__(self) -> None:
        self.answers: dict[str, Canned] = {}
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length))
                owner.requests.append((dict(self.headers), body))
                name = re.search(r"(?:query|mutation) (\w+)", body["query"])
                status, headers, payload = owner.answers.get(
                    name[1] if name else "", (200, {}, json.dumps({"data": {}}).encode())
                )
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, operation: str, data: object, *, status: int = 200, **headers: str) -> None:
        payload = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.answers[operation] = (status, headers, payload)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned() -> Iterator[CannedVendure]:
    server = CannedVendure()
    yield server
    server.stop()


@pytest.fixture
def canned_backend(canned: CannedVendure) -> Iterator[VendureBackend]:
    backend = VendureBackend(canned.url, Secret("lookup:secret"), channel_token="ch-1")
    yield backend
    backend.close()


def _history(hid: int, kind: str, at: str, **data: object) -> dict[str, object]:
    return {
        "id": str(hid),
        "createdAt": at,
        "type": kind,
        "isPublic": bool(data.pop("public", True)),
        "data": data,
        "administrator": {"firstName": "Mei", "lastName": "\x1b]52;c;aGk=\x07Lin"},
    }


def _order(oid: str, state: str, *, history: list[dict[str, object]], **extra: object) -> object:
    order: dict[str, object] = {
        "id": oid,
        "code": f"CODE{oid}",
        "state": state,
        "createdAt": "2026-11-01T10:00:00.000Z",
        "updatedAt": "2026-11-02T10:00:00.000Z",
        "orderPlacedAt": "2026-11-01T10:05:00.000Z",
        "currencyCode": "EUR",
        "totalWithTax": 1999,
        "customer": {
            "id": "9",
            "firstName": "Hostile\x1b[2J",
            "lastName": "[@click=app.quit]",
            "emailAddress": "h@example.com",
            "phoneNumber": None,
            "updatedAt": "2026-11-01T10:00:00.000Z",
        },
        "shippingAddress": {"fullName": "H", "streetLine1": "Road 1", "country": "Germany"},
        "lines": [
            {
                "id": "1",
                "quantity": 2,
                "unitPriceWithTax": 999,
                "productVariant": {"sku": "S-1", "name": "N" * 500},
            }
        ],
        "fulfillments": [],
        "payments": [],
        "history": {"totalItems": len(history), "items": history},
    }
    order.update(extra)
    return order


def _orders(*orders: object) -> dict[str, object]:
    return {"data": {"orders": {"totalItems": len(orders), "items": list(orders)}}}


def test_contract_mapping_sanitises_and_reads_the_flag_prefix(
    canned: CannedVendure, canned_backend: VendureBackend
) -> None:
    at = "2026-11-01T10:05:00.000Z"
    canned.answer(
        "CsOrdersFromStart",
        _orders(
            _order(
                "5",
                "PartiallyShipped",
                history=[
                    _history(
                        10,
                        "ORDER_STATE_TRANSITION",
                        at,
                        **{"from": "Draft", "to": "ArrangingPayment"},
                    ),
                    _history(
                        11,
                        "ORDER_NOTE",
                        at,
                        note="[cs:purple id=r-1 key=k-1] Change size",
                        public=False,
                    ),
                    _history(12, "ORDER_NOTE", at, note="[cs:pink] not ours\x1b[31m", public=False),
                    _history(13, "ORDER_NOTE", at, note="Gift wrap please", public=True),
                ],
            ),
            _order("6", "SomeCustomState", history=[]),
            _order("7", "Draft", history=[]),
        ),
    )
    canned.answer("CsRecentHistory", _orders())

    page = canned_backend.pull("")

    assert [o.id for o in page.orders] == ["vendure:o5", "vendure:o6"]  # drafts are skipped
    first, custom = page.orders
    assert first.status is OrderStatus.SHIPPED
    assert custom.status is OrderStatus.AWAITING_SHIPMENT
    assert len(first.items[0].name) == p.MAX_NAME_CHARS
    assert "\x1b" not in page.customers[0].name
    assert page.customers[0].id == "vendure:c9"
    assert [(e.id, e.kind, e.detail) for e in page.order_events] == [
        ("vendure:h000000000010", OrderEventKind.PLACED, "Note: Gift wrap please")
    ]
    assert [(r.id, r.flag, r.text) for r in page.remarks] == [
        ("r-1", FlagColour.PURPLE, "Change size"),
        ("vendure:n000000000012", FlagColour.YELLOW, "[cs:pink] not ours␛[31m"),
    ]
    assert all("\x1b" not in r.author for r in page.remarks)
    headers = canned.requests[0][0]
    assert headers["vendure-api-key"] == "lookup:secret"
    assert headers["vendure-token"] == "ch-1"


def test_contract_an_order_refunded_in_full_is_refunded(
    canned: CannedVendure, canned_backend: VendureBackend
) -> None:
    payment = {
        "id": "3",
        "state": "Settled",
        "amount": 1999,
        "method": "card",
        "refunds": [
            {"id": "4", "state": "Settled", "total": 1999, "reason": "broken"},
        ],
    }
    canned.answer(
        "CsOrdersFromStart", _orders(_order("5", "Delivered", history=[], payments=[payment]))
    )
    canned.answer("CsRecentHistory", _orders())

    assert canned_backend.pull("").orders[0].status is OrderStatus.REFUNDED


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "words"),
    [
        (
            200,
            {"errors": [{"message": "Cannot query field"}], "data": None},
            {},
            BadResponse,
            "Cannot query field",
        ),
        (
            200,
            {"errors": [{"message": "nope", "extensions": {"code": "FORBIDDEN"}}]},
            {},
            AuthFailed,
            "refused the API key",
        ),
        (429, {}, {"Retry-After": "7"}, Unavailable, "slow down"),
        (502, b"<html>bad gateway</html>", {}, Unavailable, "502"),
        (404, b"not here", {}, BadResponse, "no Vendure Admin API"),
        (302, b"", {"Location": "http://127.0.0.1:1/"}, BadResponse, "redirected"),
        (200, b"<html>", {}, BadResponse, "not JSON"),
        (200, {"data": {"activeChannel": None}, "extra": 1}, {}, None, ""),
    ],
)
def test_contract_failures_become_backend_errors(
    canned: CannedVendure,
    canned_backend: VendureBackend,
    status: int,
    body: object,
    headers: dict[str, str],
    error: type[BackendError] | None,
    words: str,
) -> None:
    canned.answer("CsMe", body, status=status, **headers)
    if error is None:
        assert canned_backend.me().agent.name == "Vendure API key"
        return
    with pytest.raises(error) as caught:
        canned_backend.me()
    assert words in str(caught.value)
    if status == 429:
        assert caught.value.retry_after == 7.0


def test_contract_an_error_result_becomes_refused(
    canned: CannedVendure, canned_backend: VendureBackend
) -> None:
    canned.answer(
        "CsOrderCancellations",
        {"data": {"order": {"id": "5", "state": "Delivered", "history": {"items": []}}}},
    )
    canned.answer(
        "CsCancel",
        {
            "data": {
                "cancelOrder": {
                    "errorCode": "CANCEL_ACTIVE_ORDER_ERROR",
                    "message": 'Cannot cancel lines from an Order in the "Delivered" state',
                }
            }
        },
    )

    with pytest.raises(Refused) as caught:
        canned_backend.cancel_order("vendure:o5", "why [not]", "key 1")

    assert 'Cannot cancel lines from an Order in the "Delivered" state' in str(caught.value)
    sent = canned.requests[-1][1]["variables"]["input"]
    assert sent["reason"].startswith("why (not) [cs:")  # our tag cannot be faked


def test_contract_a_damaged_cursor_and_a_foreign_order_id_are_refused(
    canned_backend: VendureBackend,
) -> None:
    with pytest.raises(BadResponse):
        canned_backend.pull("v9|garbage")
    with pytest.raises(Refused) as caught:
        canned_backend.refund_order("chatwoot:o1", 100, "x", "k")
    assert caught.value.status == 404
