"""The demo's simulated customers write through the widget's public endpoint, as the
demo shop's signed buyers: over a real server on 127.0.0.1, no side door."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from cs_console.server.channels.widget_tokens import read_identity_secret
from cs_console.server.demo import Simulator, demo_buyers, demo_identity_secret, load_demo
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState
from cs_console.store.models import CONVERSATION, MESSAGE
from tests.harness import LiveServer


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[ServerState, str, Path]]:
    state = ServerState(f"sqlite:///{tmp_path / 'server.db'}")
    load_demo(state)
    secret = demo_identity_secret(tmp_path)
    settings = ServerSettings.model_validate(
        {"channels": {"widget": {"demo_page": True, "identity_secret_file": str(secret)}}}
    )
    server = LiveServer(state, settings=settings).start()
    try:
        yield state, server.url, secret
    finally:
        server.stop()
        state.close()


def count(state: ServerState, table: object) -> int:
    with state.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_simulated_customers_write_as_signed_buyers_in_their_own_chats(
    shop: tuple[ServerState, str, Path],
) -> None:
    state, url, secret = shop
    buyers = demo_buyers(state, read_identity_secret(secret))
    assert buyers
    conversations = count(state, CONVERSATION)
    messages = count(state, MESSAGE)
    with httpx.Client(base_url=url, timeout=10) as client:
        simulator = Simulator(client, buyers, every=0, seed=3)
        sent = sum(simulator.step() for _ in range(8))
    assert sent == 8
    assert count(state, MESSAGE) == messages + 8  # each exactly once
    # A buyer with a chat still open goes on in it; one whose chats are resolved starts
    # a new one: never more new conversations than buyers.
    assert count(state, CONVERSATION) - conversations <= len(buyers)
    # The demo's email customer is never written as through the widget.
    with state.read() as conn:
        email = conn.execute(
            select(func.count()).select_from(CONVERSATION).where(CONVERSATION.c.channel == "email")
        ).scalar_one()
    assert email <= 1


def test_the_demo_page_is_served(shop: tuple[ServerState, str, Path]) -> None:
    _state, url, _secret = shop
    page = httpx.get(url + "/widget/demo")
    assert page.status_code == 200
    assert 'src="/widget.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
