"""Test helpers: a real reference server on 127.0.0.1 in a thread, and a tiny shop."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import uvicorn
from sqlalchemy import inspect, literal_column, select, table

from cs_console import protocol as p
from cs_console.domain import (
    ConversationStatus,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
    Role,
)
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.app import create_app
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState
from cs_console.services.context import AgentContext, open_context
from cs_console.settings import Settings
from cs_console.timeutil import utcnow

if TYPE_CHECKING:
    from tests.inprocess import InProcessServer


class LiveServer:
    """uvicorn serving a ServerState on a fixed loopback port; stop() and start() again.

    ``settings`` are the server's (``server.toml``: the widget, service hours); ``host``
    is where it listens (the widget's flood test binds 0.0.0.0 to be reached from two
    loopback addresses); its ``url`` is always 127.0.0.1.
    """

    def __init__(
        self,
        state: ServerState,
        port: int | None = None,
        *,
        settings: ServerSettings | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.state = state
        self.port = port or free_port()
        self.settings = settings
        self.host = host
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.state.bell.reopen()
        config = uvicorn.Config(
            create_app(self.state, self.settings),
            host=self.host,
            port=self.port,
            log_level="error",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.02)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self.state.bell.close()  # long-polls in flight answer; uvicorn waits for them
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tiny_shop(state: ServerState) -> dict[str, str]:
    """Two customers, three conversations, one order with a timeline; returns tokens."""
    now = utcnow()

    def t(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    customers = [
        p.CustomerRecord(id="cus-1", name="王芳", language="zh-CN", updated_at=t(600)),
        p.CustomerRecord(
            id="cus-2", name="Alice Brown", email="alice@example.com", updated_at=t(600)
        ),
    ]
    conversations = [
        p.ConversationRecord(
            id="conv-1",
            customer_id="cus-1",
            group=Group.AFTER_SALE,
            status=ConversationStatus.OPEN,
            waiting_since=t(5),
            last_activity_at=t(4),
            unread_count=2,
            updated_at=t(4),
        ),
        p.ConversationRecord(
            id="conv-2",
            customer_id="cus-2",
            group=Group.PRE_SALE,
            status=ConversationStatus.OPEN,
            waiting_since=t(1),
            last_activity_at=t(1),
            unread_count=1,
            updated_at=t(1),
        ),
        p.ConversationRecord(
            id="conv-3",
            customer_id="cus-2",
            group=Group.PRE_SALE,
            status=ConversationStatus.OPEN,
            assignee="Mei",
            last_activity_at=t(30),
            updated_at=t(30),
        ),
    ]
    messages = [
        p.MessageRecord(
            id="m-1",
            conversation_id="conv-1",
            kind=MessageKind.CUSTOMER,
            author="王芳",
            body="我的快递怎么8天没动了?",
            created_at=t(5),
        ),
        p.MessageRecord(
            id="m-2",
            conversation_id="conv-1",
            kind=MessageKind.CUSTOMER,
            author="王芳",
            body="在吗",
            created_at=t(4),
        ),
        p.MessageRecord(
            id="m-3",
            conversation_id="conv-2",
            kind=MessageKind.CUSTOMER,
            author="Alice Brown",
            body="Is the blue mug in stock?",
            created_at=t(1),
        ),
        p.MessageRecord(
            id="m-4",
            conversation_id="conv-3",
            kind=MessageKind.AGENT,
            author="Mei",
            body="Thanks, have a nice day!",
            created_at=t(30),
        ),
    ]
    orders = [
        p.OrderRecord(
            id="ord-1",
            number="20261115-0001",
            customer_id="cus-1",
            status=OrderStatus.SHIPPED,
            items=[p.OrderItem(sku="MUG-1", name="Ceramic mug", quantity=2, unit_price_minor=3900)],
            total_minor=7800,
            currency="CNY",
            carrier="ZTO",
            tracking_number="ZT123456789",
            placed_at=t(60 * 24 * 10),
            paid_at=t(60 * 24 * 10 - 5),
            shipped_at=t(60 * 24 * 9),
            updated_at=t(60 * 24 * 9),
        )
    ]
    events = [
        p.OrderEventRecord(
            id="e-1", order_id="ord-1", kind=OrderEventKind.PLACED, at=t(60 * 24 * 10)
        ),
        p.OrderEventRecord(
            id="e-2", order_id="ord-1", kind=OrderEventKind.PAID, at=t(60 * 24 * 10 - 5)
        ),
        p.OrderEventRecord(
            id="e-3",
            order_id="ord-1",
            kind=OrderEventKind.SHIPPED,
            at=t(60 * 24 * 9),
            detail="ZTO ZT123456789",
        ),
    ]
    state.load_records(
        {
            "customer": list(customers),
            "conversation": list(conversations),
            "message": list(messages),
            "order": list(orders),
            "order_event": list(events),
        }
    )
    return {
        "Lan": state.add_agent("Lan", Role.AGENT, "after-sale"),
        "Mei": state.add_agent("Mei", Role.AGENT, "pre-sale"),
        "Sofia": state.add_agent("Sofia", Role.SUPERVISOR, None),
    }


def client_context(
    home: Path, server: LiveServer | InProcessServer, token: str, **more: object
) -> AgentContext:
    """A store at ``home`` syncing with ``server``; ``more`` adds settings (e.g. ``orders``)."""
    settings = Settings(
        paths=Paths(home),
        backend={"url": server.url},
        token=Secret(token),
        shift={"undo_seconds": 0.0, "sync_interval_s": 0.2},
        **more,
    )
    return open_context(settings)


def shop_system(state: ServerState) -> str:
    """An order system (a second reference server standing in for Vendure or Medusa):
    Alice of :func:`tiny_shop` under another spelling of her email, and 王芳 under a
    phone number only, so she matches nothing until an agent links her. Returns a token."""
    now = utcnow()
    state.load_records(
        {
            "customer": [
                p.CustomerRecord(
                    id="shop-c1", name="A. Brown", email=" Alice@Example.COM ", updated_at=now
                ),
                p.CustomerRecord(
                    id="shop-c2", name="王芳", phone="+86 138-0000-1111", updated_at=now
                ),
            ],
            "order": [
                p.OrderRecord(
                    id="shop-o1",
                    number="V-1001",
                    customer_id="shop-c1",
                    status=OrderStatus.AWAITING_SHIPMENT,
                    total_minor=4500,
                    currency="USD",
                    placed_at=now - timedelta(hours=30),
                    paid_at=now - timedelta(hours=29),
                    updated_at=now,
                ),
                p.OrderRecord(
                    id="shop-o2",
                    number="V-1002",
                    customer_id="shop-c2",
                    status=OrderStatus.DELIVERED,
                    total_minor=7800,
                    currency="CNY",
                    placed_at=now - timedelta(days=9),
                    updated_at=now,
                ),
            ],
        }
    )
    return state.add_agent("console", Role.AGENT, None)


#: Every row of every table of a server database, by table name.
ServerSnapshot = dict[str, list[tuple[Any, ...]]]


def server_snapshot(state: ServerState) -> ServerSnapshot:
    """Every row of every table: what "nothing was written" is compared against."""
    found: ServerSnapshot = {}
    with state.read() as conn:
        for name in sorted(inspect(conn).get_table_names()):
            rows: list[Any] = list(
                conn.execute(select(literal_column("*")).select_from(table(name)))
            )
            found[name] = sorted((tuple(row) for row in rows), key=repr)
    return found
