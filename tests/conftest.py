"""Shared fixtures: a reference server with a tiny shop (live on a port, or in-process),
and a client store."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cs_console.server.state import ServerState
from tests.harness import LiveServer, shop_system, tiny_shop
from tests.inprocess import InProcessServer, in_process


@pytest.fixture
def server_state(tmp_path: Path) -> Iterator[ServerState]:
    state = ServerState(f"sqlite:///{tmp_path / 'server.db'}")
    yield state
    state.close()


@pytest.fixture
def tokens(server_state: ServerState) -> dict[str, str]:
    return tiny_shop(server_state)


@pytest.fixture
def live_server(server_state: ServerState, tokens: dict[str, str]) -> Iterator[LiveServer]:
    server = LiveServer(server_state).start()
    yield server
    server.stop()


@pytest.fixture
def inproc_server(server_state: ServerState, tokens: dict[str, str]) -> Iterator[InProcessServer]:
    """The same server and shop as ``live_server``, in this process: for UI tests that
    are not about HTTP (no uvicorn, no port)."""
    with in_process(server_state) as server:
        yield server


@pytest.fixture
def shop_server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A second server holding only orders (see ``harness.shop_system``), and its token."""
    state = ServerState(f"sqlite:///{tmp_path / 'shop.db'}")
    token = shop_system(state)
    server = LiveServer(state).start()
    yield server, token
    server.stop()
    state.close()


@pytest.fixture
def utc() -> Iterator[None]:
    """Render local times in UTC, and put the machine's zone back afterwards."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()
