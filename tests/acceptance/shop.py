"""The demo shop as a test fixture: the server ``cs-console demo`` starts, in-process.

``cs-console demo`` runs ``cs-console serve --demo`` in a child process and the console
against it (``ui/launch.py: run_demo``). Here the same ``ServerState`` and ``load_demo``
run in this process behind ``tests.inprocess.InProcessServer`` (the server's ASGI app
reached through an httpx transport: the same requests, no socket), so the tests can
read the server's state directly; the console is built with the settings ``run_demo``
gives it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from cs_console import protocol as p
from cs_console.demo.stories import RETURN_ADDRESS, SHOP_NAME
from cs_console.domain import MessageKind
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.channels.widget_tokens import read_identity_secret
from cs_console.server.demo import Buyer, Simulator, demo_buyers, demo_identity_secret, load_demo
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState
from cs_console.settings import Settings
from cs_console.ui.app import ConsoleApp, make_app
from tests.inprocess import InProcessServer, InProcessTransport

#: Sync as often as the other UI tests do: the demo's 3 s would only make waits longer.
SYNC_INTERVAL_S = 0.2


@dataclass(frozen=True)
class DemoShop:
    """The demo server, running, and the agents' tokens."""

    state: ServerState
    server: InProcessServer
    tokens: dict[str, str]
    #: The demo shop's logged-in buyers, as the simulator writes as them.
    buyers: list[Buyer]

    def simulator(self) -> Simulator:
        """The demo's simulated customers, writing through the widget's public endpoint
        (call ``step()``; close ``client`` after)."""
        client = httpx.Client(transport=InProcessTransport(self.server), base_url=self.url)
        return Simulator(client, self.buyers, every=0)

    @property
    def url(self) -> str:
        """Where the server answers."""
        return self.server.url


@contextmanager
def demo_shop(directory: Path) -> Iterator[DemoShop]:
    """Start the demo shop in this process; stop it afterwards. Its data holds
    the morning shift's handover, so the console opens on the shift-start screen.

    Args:
        directory: Where the server's SQLite file goes.
    """
    state = ServerState(f"sqlite:///{directory / 'server.db'}")
    server: InProcessServer | None = None
    try:
        tokens = load_demo(state)
        # As `serve --demo` has it: the demo page, and the shop's signed buyers.
        secret = demo_identity_secret(directory)
        settings = ServerSettings.model_validate(
            {"channels": {"widget": {"demo_page": True, "identity_secret_file": str(secret)}}}
        )
        server = InProcessServer(state, settings).start()
        buyers = demo_buyers(state, read_identity_secret(secret))
        yield DemoShop(state=state, server=server, tokens=tokens, buyers=buyers)
    finally:
        if server is not None:
            server.close()
        state.close()


def post_operation(shop: DemoShop, agent: str, operation: p.Operation) -> None:
    """Apply one operation as ``agent`` through ``POST /api/v1/operations``."""
    envelope = p.OperationEnvelope(operation=operation)
    with httpx.Client(transport=InProcessTransport(shop.server), base_url=shop.url) as client:
        response = client.post(
            "/api/v1/operations",
            content=envelope.model_dump_json(),
            headers={
                "Authorization": f"Bearer {shop.tokens[agent]}",
                "Idempotency-Key": uuid.uuid4().hex,
                "Content-Type": "application/json",
            },
            timeout=10,
        )
    response.raise_for_status()


def demo_settings(
    home: Path,
    shop: DemoShop,
    *,
    agent: str = "Lan",
    language: str = "en",
    undo_seconds: float = 5.0,
    sync_interval_s: float = SYNC_INTERVAL_S,
) -> Settings:
    """The settings ``run_demo`` gives the console, for ``agent``.

    ``language`` is what ``[agent] language`` in config.toml sets: the interface and the
    agent's own reply language. The undo window is the product's default unless asked.
    """
    return Settings(
        paths=Paths(home),
        token=Secret(shop.tokens[agent]),
        backend={"url": shop.url},
        agent={"language": language},
        ui={"language": language},
        shift={"undo_seconds": undo_seconds, "sync_interval_s": sync_interval_s},
        shop={"name": SHOP_NAME, "return_address": RETURN_ADDRESS},
    )


def demo_app(shop: DemoShop, settings: Settings) -> ConsoleApp:
    """The console as ``cs-console demo`` runs it (the demo's sub-title included)."""
    return make_app(shop.server.session(settings), demo=True)


# --- what the server holds ----------------------------------------------------------


def everything(state: ServerState) -> p.ChangePage:
    """Every record the server holds, current version of each."""
    page = state.changes(0, 100_000)
    assert not page.has_more
    return page


def messages_with_body(state: ServerState, body: str) -> list[p.MessageRecord]:
    """The server's messages whose text is exactly ``body``."""
    return [m for m in everything(state).messages if m.body == body]


def server_counts(state: ServerState) -> dict[str, int]:
    """How many records of each kind the server holds: a write sent twice shows here."""
    page = everything(state)
    return {
        "messages": len(page.messages),
        "agent replies": sum(m.kind is MessageKind.AGENT for m in page.messages),
        "notes": sum(m.kind is MessageKind.NOTE for m in page.messages),
        "remarks": len(page.remarks),
        "cases": len(page.cases),
        "case events": len(page.case_events),
        "handovers": len(page.handovers),
        "order events": len(page.order_events),
    }
