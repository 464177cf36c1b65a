"""The Medusa order source: against a real Medusa 2.21.2 (``real_backend``), and its
mapping and error paths against a tiny HTTP server on 127.0.0.1 with canned answers."""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from cs_console import protocol as p
from cs_console.backends import medusa_mapping as mm
from cs_console.backends.base import AuthFailed, BadResponse, Refused, Unavailable
from cs_console.backends.medusa import MedusaBackend
from cs_console.domain import DeliveryState, FlagColour, OrderEventKind, OrderStatus
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.services import orders as order_service
from cs_console.services.context import AgentContext
from cs_console.settings import Settings
from cs_console.store import orders as order_store
from cs_console.store.db import Database
from cs_console.store.models import CUSTOMER, ORDER
from cs_console.sync.engine import SyncEngine
from cs_console.views import OrderRow
from tests.realbackends import medusa_server as ms

# --- against the real Medusa ------------------------------------------------------------


@dataclass
class Console:
    """One agent's store synced with Medusa through the real sync engine."""

    db: Database
    engine: SyncEngine
    backend: MedusaBackend
    ctx: AgentContext

    def orders(self, email: str) -> list[OrderRow]:
        """Every order of the customer with this email, as the store shows them."""
        found: list[OrderRow] = []
        with self.db.read() as conn:
            rows = conn.execute(select(CUSTOMER.c.id).where(CUSTOMER.c.email == email)).all()
        for (customer_id,) in rows:
            found.extend(order_store.orders_for_customer(self.db, customer_id))
        return found

    def order(self, medusa_id: str) -> OrderRow:
        """One order by its Medusa id."""
        with self.db.read() as conn:
            row = conn.execute(
                select(ORDER.c.customer_id).where(ORDER.c.id == mm.order_id(medusa_id))
            ).first()
        assert row is not None, f"order {medusa_id} is not in the store"
        return next(
            o
            for o in order_store.orders_for_customer(self.db, row[0])
            if o.order_id == mm.order_id(medusa_id)
        )


@pytest.fixture
def console(tmp_path: Path, medusa_shop: ms.MedusaShop) -> Iterator[Console]:
    db = Database(tmp_path / "store.db")
    backend = MedusaBackend(medusa_shop.url, Secret(medusa_shop.secret_key), agent_name="Lan")
    engine = SyncEngine(db, backend)
    ctx = AgentContext(settings=Settings(paths=Paths(tmp_path)), db=db)
    yield Console(db, engine, backend, ctx)
    backend.close()
    db.close()


def kinds(order: OrderRow) -> list[OrderEventKind]:
    return [event.kind for event in order.events]


@pytest.mark.real_backend
def test_first_sync_brings_orders_customers_and_timelines(
    console: Console,
    medusa_shop: ms.MedusaShop,
) -> None:
    report = console.engine.run_once()
    assert report.pulled > 0

    delivered = console.order(medusa_shop.orders["delivered"])
    assert delivered.status is OrderStatus.DELIVERED
    assert delivered.currency == "EUR"
    assert delivered.total_minor == 2 * 2450 + 490  # two shirts at 24.50 and 4.90 postage
    assert [(i.sku, i.quantity, i.unit_price_minor) for i in delivered.items] == [
        ("SHIRT-M", 2, 2450)
    ]
    assert delivered.carrier == "DHL Paket"
    assert delivered.tracking_number == "00340434161094042557"
    assert "Hauptstr. 5" in delivered.shipping_address
    assert "50667 Köln" in delivered.shipping_address
    assert delivered.paid_at is not None
    assert delivered.shipped_at is not None
    assert delivered.delivered_at is not None
    assert kinds(delivered)[:4] == [
        OrderEventKind.PLACED,
        OrderEventKind.PAID,
        OrderEventKind.SHIPPED,
        OrderEventKind.DELIVERED,
    ]
    assert "00340434161094042557" in delivered.events[2].detail

    returned = console.order(medusa_shop.orders["returned"])
    assert returned.status is OrderStatus.RETURNED
    assert OrderEventKind.RETURN_REQUESTED in kinds(returned)
    assert OrderEventKind.RETURN_RECEIVED in kinds(returned)

    cancelled = console.order(medusa_shop.orders["cancelled"])
    assert cancelled.status is OrderStatus.CANCELLED
    assert kinds(cancelled) == [OrderEventKind.PLACED, OrderEventKind.CANCELLED]

    lena = console.orders("lena@example.com")
    assert {o.order_id for o in lena} >= {
        mm.order_id(medusa_shop.orders["delivered"]),
        mm.order_id(medusa_shop.orders["shipped"]),
    }
    with console.db.read() as conn:
        name = conn.execute(
            select(CUSTOMER.c.name).where(CUSTOMER.c.email == "lena@example.com")
        ).scalar_one()
    assert name == "Lena Vogel"

    again = console.engine.run_once()
    assert again.pulled == 0


@pytest.mark.real_backend
def test_remark_reaches_medusa_metadata_once_and_comes_back(
    console: Console,
    medusa_shop: ms.MedusaShop,
    tmp_path: Path,
) -> None:
    console.engine.run_once()
    medusa_id = medusa_shop.orders["delivered"]
    text = f"parcel left at the neighbour's {uuid.uuid4().hex[:6]}"
    queued = order_service.add_remark(console.ctx, mm.order_id(medusa_id), FlagColour.RED, text)
    console.engine.run_once()

    entries = [
        e for e in mm.remark_entries(medusa_shop.order(medusa_id)["metadata"]) if e["text"] == text
    ]
    assert len(entries) == 1
    assert entries[0]["flag"] == "red"
    assert entries[0]["author"] == "Lan"
    mine = [r for r in console.order(medusa_id).remarks if r.text == text]
    assert len(mine) == 1  # the pulled remark replaced the local one
    assert mine[0].delivery is DeliveryState.SENT

    # A retry with the same key (after a lost answer) must not add it twice.
    op = p.AddRemark(
        id=mine[0].remark_id, order_id=mm.order_id(medusa_id), flag=FlagColour.RED, text=text
    )
    result = console.backend.push(queued.key, op)
    assert result.applied
    assert result.result.get("repeated") is True
    entries = [
        e for e in mm.remark_entries(medusa_shop.order(medusa_id)["metadata"]) if e["text"] == text
    ]
    assert len(entries) == 1

    # Another agent's store gets it from Medusa, flag and author included.
    other_db = Database(tmp_path / "other" / "store.db")
    other = MedusaBackend(medusa_shop.url, Secret(medusa_shop.secret_key))
    try:
        SyncEngine(other_db, other).run_once()
        theirs = [
            r
            for o in order_store.orders_for_customer(other_db, console.order(medusa_id).customer_id)
            for r in o.remarks
            if r.text == text
        ]
        assert [(r.flag, r.author) for r in theirs] == [(FlagColour.RED, "Lan")]
    finally:
        other.close()
        other_db.close()


@pytest.mark.real_backend
def test_return_refund_and_cancellation_made_in_medusa_appear_after_next_pull(
    console: Console,
    medusa_shop: ms.MedusaShop,
) -> None:
    console.engine.run_once()
    assert console.engine.run_once().pulled == 0
    shipped, still_open = medusa_shop.orders["shipped"], medusa_shop.orders["open"]
    assert console.order(shipped).status is OrderStatus.SHIPPED
    assert console.order(still_open).status is OrderStatus.AWAITING_SHIPMENT

    admin = medusa_shop.admin
    ms.request_return(admin, medusa_shop.catalogue, shipped, receive=False)
    ms.cancel(admin, still_open)
    payment = admin.call(
        "GET", f"/admin/orders/{shipped}", params={"fields": "id,*payment_collections.payments"}
    )["order"]["payment_collections"][0]["payments"][0]["id"]
    admin.call("POST", f"/admin/payments/{payment}/refund", json={"amount": 5, "note": "late"})

    report = console.engine.run_once()
    assert report.pulled > 0
    after = console.order(shipped)
    assert after.status is OrderStatus.RETURN_REQUESTED
    assert OrderEventKind.RETURN_REQUESTED in kinds(after)
    refunds = [e for e in after.events if e.kind is OrderEventKind.REFUNDED]
    assert [e.detail for e in refunds] == ["€5.00 refunded: late"]
    cancelled = console.order(still_open)
    assert cancelled.status is OrderStatus.CANCELLED
    assert kinds(cancelled)[-1] is OrderEventKind.CANCELLED
    assert console.engine.run_once().pulled == 0


@pytest.mark.real_backend
def test_claim_and_exchange_made_in_medusa_appear_in_the_timeline(
    console: Console, medusa_shop: ms.MedusaShop
) -> None:
    admin, catalogue = medusa_shop.admin, medusa_shop.catalogue
    order = ms.place_order(admin, catalogue, "max@example.com", (2,))
    ms.capture(admin, order)
    ms.ship(admin, catalogue, order, "00340434161094077777")
    console.engine.run_once()
    item = admin.call("GET", f"/admin/orders/{order}", params={"fields": "id,*items"})["order"][
        "items"
    ][0]["id"]

    claim = admin.call("POST", "/admin/claims", json={"type": "replace", "order_id": order})
    claim_id = claim["claim"]["id"]
    admin.call(
        "POST",
        f"/admin/claims/{claim_id}/claim-items",
        json={"items": [{"id": item, "quantity": 1, "reason": "production_failure"}]},
    )
    admin.call(
        "POST",
        f"/admin/claims/{claim_id}/outbound/items",
        json={"items": [{"variant_id": catalogue.variants[0], "quantity": 1}]},
    )
    admin.call("POST", f"/admin/claims/{claim_id}/request", json={})
    exchange = admin.call("POST", "/admin/exchanges", json={"order_id": order})
    exchange_id = exchange["exchange"]["id"]
    admin.call(
        "POST",
        f"/admin/exchanges/{exchange_id}/inbound/items",
        json={"items": [{"id": item, "quantity": 1}]},
    )
    admin.call(
        "POST",
        f"/admin/exchanges/{exchange_id}/outbound/items",
        json={"items": [{"variant_id": catalogue.variants[1], "quantity": 1}]},
    )
    admin.call("POST", f"/admin/exchanges/{exchange_id}/request", json={})

    assert console.engine.run_once().pulled > 0
    events = console.order(order).events
    claims = [e for e in events if e.kind is OrderEventKind.REISSUED]
    exchanges = [e for e in events if e.kind is OrderEventKind.EXCHANGE_SHIPPED]
    assert len(claims) == 1
    assert claims[0].detail.startswith("claim #")
    assert claims[0].detail.endswith(": replacement")
    assert len(exchanges) == 1
    assert exchanges[0].detail.startswith("exchange #")


@pytest.mark.real_backend
def test_capture_alone_is_pulled(console: Console, medusa_shop: ms.MedusaShop) -> None:
    """A capture changes the payment, not the order's updated_at: still seen."""
    order = ms.place_order(medusa_shop.admin, medusa_shop.catalogue, "max@example.com", (1,))
    console.engine.run_once()
    assert console.order(order).paid_at is None
    ms.capture(medusa_shop.admin, order)
    assert console.engine.run_once().pulled > 0
    assert console.order(order).paid_at is not None
    assert OrderEventKind.PAID in kinds(console.order(order))


@pytest.mark.real_backend
def test_refund_and_cancel_from_the_console_happen_once(
    console: Console,
    medusa_shop: ms.MedusaShop,
) -> None:
    admin = medusa_shop.admin
    paid = ms.place_order(admin, medusa_shop.catalogue, "ada@example.com", (1,))
    ms.capture(admin, paid)
    key = uuid.uuid4().hex
    first = console.backend.refund_order(mm.order_id(paid), 300, "goodwill", key)
    second = console.backend.refund_order(mm.order_id(paid), 300, "goodwill", key)
    assert first.applied
    assert second.result.get("repeated") is True
    payments = admin.call(
        "GET",
        f"/admin/orders/{paid}",
        params={"fields": "id,*payment_collections.payments.refunds"},
    )["order"]["payment_collections"][0]["payments"]
    assert [r["amount"] for pay in payments for r in pay["refunds"]] == [3]
    with pytest.raises(Refused):
        console.backend.refund_order(mm.order_id(paid), 1_000_000, "too much", uuid.uuid4().hex)

    unpaid = ms.place_order(admin, medusa_shop.catalogue, "ada@example.com", (1,))
    console.backend.cancel_order(mm.order_id(unpaid), "customer changed their mind", "k1")
    again = console.backend.cancel_order(mm.order_id(unpaid), "customer changed their mind", "k1")
    assert again.result.get("repeated") is True
    assert medusa_shop.order(unpaid)["status"] == "canceled"

    console.engine.run_once()
    assert console.order(unpaid).status is OrderStatus.CANCELLED
    assert [e.detail for e in console.order(paid).events if e.kind is OrderEventKind.REFUNDED] == [
        f"€3.00 refunded: goodwill [cs-console {key}]"
    ]


@pytest.mark.real_backend
def test_medusa_accepts_the_crowded_millisecond_query(
    console: Console, medusa_shop: ms.MedusaShop
) -> None:
    """The canned server shows the logic; this shows Medusa takes the query (id order,
    offset, an updated_at window) and answers with the rows of that millisecond."""
    medusa_id = medusa_shop.orders["cancelled"]
    at = medusa_shop.order(medusa_id, "id,updated_at")["updated_at"]
    later = "2100-01-01T00:00:00.000Z"  # no payment stream in the way
    cursor = json.dumps({"v": 1, "o": [at, [], 0], "p": [later, []]}, separators=(",", ":"))
    page = console.backend.pull(cursor, limit=5)
    assert mm.order_id(medusa_id) in {o.id for o in page.orders}
    for order in page.orders:
        found = mm.medusa_order_id(order.id)
        assert found is not None
        assert medusa_shop.order(found, "id,updated_at")["updated_at"] == at
    assert page.has_more
    after = json.loads(page.cursor)["o"]
    assert len(after) == 2  # the millisecond is read: back to the ordinary mark
    assert datetime.fromisoformat(after[0]) > datetime.fromisoformat(at)


@pytest.mark.real_backend
def test_bad_key_gives_auth_failed(
    console: Console,
    medusa_shop: ms.MedusaShop,
    tmp_path: Path,
) -> None:
    me = console.backend.me()
    assert me.server_id.startswith("medusa-")
    assert me.protocol == p.PROTOCOL_VERSION
    wrong = MedusaBackend(medusa_shop.url, Secret("sk_" + "0" * 64))
    try:
        with pytest.raises(AuthFailed):
            wrong.me()
        with pytest.raises(AuthFailed):
            wrong.pull("")
        db = Database(tmp_path / "wrong" / "store.db")
        try:
            with pytest.raises(AuthFailed):
                SyncEngine(db, wrong).run_once()
        finally:
            db.close()
    finally:
        wrong.close()


# --- a canned Medusa on 127.0.0.1 -------------------------------------------------------

Handler = Callable[[str, dict[str, list[str]], bytes], tuple[int, dict[str, str], bytes]]


@dataclass
class Canned:
    """A tiny HTTP server: (method, path) -> handler; records what it was asked."""

    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, list[str]], dict[str, str]]] = field(
        default_factory=list
    )
    url: str = ""

    def json(self, method: str, path: str, body: object, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.routes[(method, path)] = lambda *_: (
            status,
            {"Content-Type": "application/json"},
            data,
        )


def _no_route(*_: object) -> tuple[int, dict[str, str], bytes]:
    return 404, {}, b'{"type":"not_found","message":"no route"}'


@pytest.fixture
def canned() -> Iterator[Canned]:
    state = Canned()

    class Handle(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append((self.command, parts.path, query, dict(self.headers)))
            route = state.routes.get((self.command, parts.path), _no_route)
            status, headers, data = route(parts.path, query, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def backend_for(canned: Canned) -> MedusaBackend:
    return MedusaBackend(canned.url, Secret("sk_test"), agent_name="Lan", timeout=2.0)


T0 = datetime.fromisoformat("2026-03-01T10:00:00.000+00:00")


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def medusa_order(number: int, updated: datetime, **extra: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": f"order_{number:026d}",
        "display_id": number,
        "status": "pending",
        "email": "kim@example.com",
        "currency_code": "jpy",
        "total": 3300,
        "original_total": 3300,
        "created_at": iso(T0),
        "updated_at": iso(updated),
        "canceled_at": None,
        "metadata": None,
        "customer_id": "cus_1",
        "customer": {
            "id": "cus_1",
            "email": "kim@example.com",
            "first_name": "Kim",
            "last_name": "Sato",
            "phone": None,
            "updated_at": iso(T0),
        },
        "payment_status": "authorized",
        "fulfillment_status": "not_fulfilled",
        "items": [
            {
                "id": "ordli_1",
                "product_title": "Tea",
                "variant_title": "500 g",
                "variant_sku": "TEA-500",
                "quantity": 3,
                "unit_price": 1100,
            }
        ],
        "shipping_address": None,
        "fulfillments": [],
        "returns": [],
        "payment_collections": [],
    }
    order.update(extra)
    return order


def serve_orders(canned: Canned, orders: list[dict[str, Any]]) -> None:
    """``GET /admin/orders`` as Medusa answers it: ``$gte``/``$lt`` on updated_at, sort,
    offset, limit; rows sharing a time come in a different order each time (Postgres
    promises none)."""

    def handler(
        _: str, query: dict[str, list[str]], __: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        rows = list(orders)
        random.shuffle(rows)
        key = query.get("order", ["created_at"])[0]
        rows.sort(key=lambda o: datetime.fromisoformat(o[key]) if key.endswith("_at") else o[key])
        if "updated_at[$gte]" in query:
            since = datetime.fromisoformat(query["updated_at[$gte]"][0])
            rows = [o for o in rows if datetime.fromisoformat(o["updated_at"]) >= since]
        if "updated_at[$lt]" in query:
            until = datetime.fromisoformat(query["updated_at[$lt]"][0])
            rows = [o for o in rows if datetime.fromisoformat(o["updated_at"]) < until]
        if "id" in query:
            rows = [o for o in rows if o["id"] in query["id"]]
        offset = int(query.get("offset", ["0"])[0])
        rows = rows[offset : offset + int(query.get("limit", ["20"])[0])]
        return 200, {}, json.dumps({"orders": rows, "count": len(rows)}).encode()

    canned.routes[("GET", "/admin/orders")] = handler
    canned.json("GET", "/admin/payments", {"payments": [], "count": 0})
    canned.json("GET", "/admin/claims", {"claims": [], "count": 0})
    canned.json("GET", "/admin/exchanges", {"exchanges": [], "count": 0})


def test_sends_secret_key_as_basic_auth(canned: Canned) -> None:
    serve_orders(canned, [])
    backend = backend_for(canned)
    backend.pull("")
    backend.close()
    headers = canned.requests[0][3]
    assert headers["Authorization"] == "Basic c2tfdGVzdDo="  # base64("sk_test:")


def test_orders_sharing_a_millisecond_are_neither_skipped_nor_repeated(canned: Canned) -> None:
    same = T0 + timedelta(minutes=5)
    orders = [medusa_order(n, same) for n in (1, 2, 3)] + [
        medusa_order(4, same + timedelta(milliseconds=1))
    ]
    serve_orders(canned, orders)
    backend = backend_for(canned)
    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = backend.pull(cursor, limit=1)
        seen.extend(o.id for o in page.orders)
        cursor = page.cursor
        if not page.has_more:
            break
    assert sorted(seen) == sorted(mm.order_id(o["id"]) for o in orders)
    assert len(seen) == len(set(seen))
    assert backend.pull(cursor).count() == 0
    orders[0]["updated_at"] = iso(same + timedelta(seconds=1))
    assert [o.id for o in backend.pull(cursor).orders] == [mm.order_id(orders[0]["id"])]
    backend.close()


def test_a_crowded_millisecond_is_read_whole_without_looping(canned: Canned) -> None:
    crowded = T0 + timedelta(minutes=9)
    orders = [medusa_order(n, crowded) for n in range(1, 81)] + [
        medusa_order(n, crowded + timedelta(seconds=n)) for n in range(81, 84)
    ]
    serve_orders(canned, orders)
    backend = backend_for(canned)
    seen: set[str] = set()
    cursor = ""
    for _ in range(100):
        page = backend.pull(cursor, limit=5)
        seen.update(o.id for o in page.orders)
        cursor = page.cursor
        if not page.has_more:
            break
    else:
        pytest.fail("the pull never came to an end")
    assert seen == {mm.order_id(o["id"]) for o in orders}
    assert backend.pull(cursor).count() == 0
    backend.close()


def test_mapping_of_money_claims_exchanges_and_remarks(canned: Canned) -> None:
    order = medusa_order(
        7,
        T0,
        metadata={
            mm.REMARKS_KEY: [
                {
                    "id": "r1",
                    "key": "k1",
                    "flag": "yellow",
                    "text": "call back \x1b]52;c;aGk=\x07",
                    "author": "Lan",
                    "created_at": iso(T0),
                },
                {"id": "r2", "flag": "not-a-colour", "text": "x", "created_at": iso(T0)},
            ]
        },
    )
    serve_orders(canned, [order])
    canned.json(
        "GET",
        "/admin/claims",
        {
            "claims": [
                {
                    "id": "claim_1",
                    "order_id": order["id"],
                    "display_id": 1,
                    "type": "replace",
                    "created_at": iso(T0),
                    "canceled_at": None,
                }
            ],
            "count": 1,
        },
    )
    canned.json(
        "GET",
        "/admin/exchanges",
        {
            "exchanges": [
                {
                    "id": "exchange_1",
                    "order_id": order["id"],
                    "display_id": 2,
                    "created_at": iso(T0),
                    "canceled_at": None,
                }
            ],
            "count": 1,
        },
    )
    page = backend_for(canned).pull("")
    [record] = page.orders
    assert record.currency == "JPY"
    assert record.total_minor == 3300  # yen have no minor unit
    assert record.items[0].name == "Tea / 500 g"
    assert record.status is OrderStatus.AWAITING_SHIPMENT
    assert [c.name for c in page.customers] == ["Kim Sato"]
    events = {e.kind: e.detail for e in page.order_events}
    assert events[OrderEventKind.REISSUED] == "claim #1: replacement"
    assert events[OrderEventKind.EXCHANGE_SHIPPED] == "exchange #2"
    [remark] = page.remarks
    assert remark.id == "r1"
    assert remark.flag is FlagColour.YELLOW
    assert "\x1b" not in remark.text


@pytest.mark.parametrize(
    ("status", "payment", "fulfilment", "expected"),
    [
        ("canceled", "canceled", "not_fulfilled", OrderStatus.CANCELLED),
        ("pending", "refunded", "delivered", OrderStatus.REFUNDED),
        ("completed", "captured", "delivered", OrderStatus.COMPLETED),
        ("pending", "captured", "delivered", OrderStatus.DELIVERED),
        ("pending", "captured", "partially_delivered", OrderStatus.SHIPPED),
        ("pending", "captured", "shipped", OrderStatus.SHIPPED),
        ("pending", "authorized", "not_fulfilled", OrderStatus.AWAITING_SHIPMENT),
        ("pending", "not_paid", "not_fulfilled", OrderStatus.AWAITING_PAYMENT),
    ],
)
def test_order_status_mapping(
    status: str, payment: str, fulfilment: str, expected: OrderStatus
) -> None:
    assert mm.order_status(status, payment, fulfilment) is expected


def test_open_return_wins_over_delivered() -> None:
    assert (
        mm.order_status("pending", "captured", "delivered", open_return=True)
        is OrderStatus.RETURN_REQUESTED
    )


@pytest.mark.parametrize(
    ("status", "headers", "body", "error"),
    [
        (401, {}, b'{"message":"Unauthorized"}', AuthFailed),
        (400, {}, b'{"type":"invalid_data","message":"Order is archived"}', Refused),
        (404, {}, b'{"type":"not_found","message":"nope"}', Refused),
        (429, {"Retry-After": "7"}, b"", Unavailable),
        (500, {}, b"boom", Unavailable),
        (503, {}, b"", Unavailable),
        (302, {"Location": "http://elsewhere/"}, b"", BadResponse),
        (200, {}, b"<html>not json</html>", BadResponse),
        (200, {}, b"[1, 2]", BadResponse),
        (200, {}, b'{"orders": [{"id": "order_1", "updated_at": 12}]}', BadResponse),
    ],
)
def test_errors_become_backend_errors(
    canned: Canned, status: int, headers: dict[str, str], body: bytes, error: type[Exception]
) -> None:
    canned.routes[("GET", "/admin/orders")] = lambda *_: (status, headers, body)
    canned.json("GET", "/admin/payments", {"payments": []})
    backend = backend_for(canned)
    with pytest.raises(error) as caught:
        backend.pull("")
    backend.close()
    if status == 400:
        assert "Order is archived" in str(caught.value)
    if status == 429:
        assert isinstance(caught.value, Unavailable)
        assert caught.value.retry_after == 7.0


def test_unreachable_is_unavailable() -> None:
    backend = MedusaBackend(f"http://127.0.0.1:{ms.free_port()}", Secret("sk_x"), timeout=1.0)
    with pytest.raises(Unavailable):
        backend.pull("")


def test_other_operations_are_refused_with_501(canned: Canned) -> None:
    backend = backend_for(canned)
    with pytest.raises(Refused) as caught:
        backend.push("k", p.MarkRead(conversation_id="c1"))
    assert caught.value.status == 501
    with pytest.raises(Refused) as caught:
        backend.push("k", p.AddRemark(id="r", order_id="ref:o1", flag=FlagColour.RED, text="x"))
    assert caught.value.status == 404
    assert canned.requests == []


def test_a_foreign_cursor_is_refused(canned: Canned) -> None:
    with pytest.raises(BadResponse):
        backend_for(canned).pull("42")
