"""The change feed's long-poll: a customer's message reaches a console within a second,
over a real server on 127.0.0.1, while the console's poll interval is a minute."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cs_console.backends.reference import ReferenceBackend
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.inbox import Contact
from cs_console.server.state import ServerState
from cs_console.services.session import Session
from cs_console.settings import Settings
from cs_console.store.threads import latest_messages
from tests.harness import LiveServer


def test_an_empty_long_poll_is_held_then_answered_at_the_first_write(
    server_state: ServerState, tokens: dict[str, str], live_server: LiveServer
) -> None:
    backend = ReferenceBackend(live_server.url, Secret(tokens["Lan"]))
    try:
        head = backend.pull("").cursor
        while (page := backend.pull(head)).count():
            head = page.cursor
        started = time.monotonic()
        assert backend.wait_for_change(head, 0.5) is False
        assert time.monotonic() - started >= 0.45  # held, not answered at once

        def customer_writes() -> None:
            time.sleep(0.3)
            conv = server_state.channels.open_conversation("web", Contact(name="Ana"))
            server_state.channels.customer_writes(conv, "¿Hay talla M?")

        writer = threading.Thread(target=customer_writes)
        started = time.monotonic()
        writer.start()
        assert backend.wait_for_change(head, 10) is True
        elapsed = time.monotonic() - started
        writer.join()
        assert elapsed < 1.5, f"answered after {elapsed:.2f} s"
    finally:
        backend.close()


def test_wait_out_of_range_is_refused(live_server: LiveServer, tokens: dict[str, str]) -> None:
    headers = {"Authorization": f"Bearer {tokens['Lan']}"}
    for wait in ("26", "-1", "soon"):
        answer = httpx.get(
            f"{live_server.url}/api/v1/changes", params={"wait": wait}, headers=headers
        )
        assert answer.status_code == 422, wait


@pytest.fixture
def console(tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]) -> Iterator[Session]:
    settings = Settings(
        paths=Paths(tmp_path / "console"),
        backend={"url": live_server.url},
        token=Secret(tokens["Lan"]),
        # A minute between polls: only the long-poll can bring the message in time.
        shift={"undo_seconds": 0.0, "sync_interval_s": 60.0},
    )
    session = Session(settings)
    assert session.open() is not None
    worker = threading.Thread(target=session.run_sync, daemon=True)
    worker.start()
    try:
        yield session
    finally:
        session.close()
        worker.join(timeout=5)


def test_a_customer_message_reaches_the_console_within_a_second(
    console: Session, server_state: ServerState
) -> None:
    ctx = console.context
    assert ctx is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        loop = console._loop
        if loop is not None and loop.engine.cursor():  # the first pull is done
            break
        time.sleep(0.05)
    time.sleep(0.5)  # the watcher is holding its request now
    conv = server_state.channels.open_conversation("web", Contact(name="Minh"))
    started = time.monotonic()
    server_state.channels.customer_writes(conv, "Shop ơi, còn hàng không ạ?")
    while time.monotonic() - started < 5:
        bodies = [m.body for m in latest_messages(ctx.db, conv, 10)]
        if "Shop ơi, còn hàng không ạ?" in bodies:
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - started
    print(f"customer message in the console's store after {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
