"""The headless session: opening the store, syncing, events, the backend registry.

Driven without a screen, as a script would, against the in-process reference server;
one test drives the TUI made from a session to show the app takes its events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.services import conversations
from cs_console.services.backends import DEFAULT_BACKENDS
from cs_console.services.events import (
    ReplyQueued,
    SessionEvent,
    StoreFailed,
    StoreOpened,
    Synced,
    SyncStateChanged,
)
from cs_console.services.session import Session
from cs_console.settings import Settings, SettingsError
from tests.inprocess import InProcessServer
from tests.ui_support import live_app, server_messages, wait_loaded, wait_until


def _settings(home: Path, server: InProcessServer, token: str) -> Settings:
    return Settings(
        paths=Paths(home),
        token=Secret(token),
        backend={"url": server.url},
        shift={"sync_interval_s": 0.05, "undo_seconds": 0.0},
    )


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _on_server(server: InProcessServer, body: str) -> bool:
    return any(m.body == body for m in server_messages(server.state, "conv-1"))


def _pulled(events: list[SessionEvent]) -> bool:
    return any(isinstance(e, Synced) and e.report.pulled for e in events)


def test_a_session_syncs_and_tells_what_happened(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    session = inproc_server.session(_settings(tmp_path, inproc_server, tokens["Lan"]))
    events: list[SessionEvent] = []
    session.subscribe(events.append)
    context = session.open()
    assert context is not None
    assert isinstance(events[0], StoreOpened)
    worker = threading.Thread(target=session.run_sync)
    worker.start()
    try:
        _wait(lambda: _pulled(events), "a pull")
        queued = conversations.send(context, "conv-1", "On its way today.", force=True)
        assert isinstance(queued, conversations.Queued)
        session.kick_sync()
        assert ReplyQueued("conv-1", queued.message_id) in events
        _wait(lambda: _on_server(inproc_server, queued.body), "the reply on the server")
    finally:
        session.close()
        worker.join(timeout=5)
    assert not worker.is_alive()
    bodies = [m.body for m in server_messages(inproc_server.state, "conv-1")]
    assert bodies.count("On its way today.") == 1


def test_a_stopped_server_is_reported_offline_and_nothing_is_lost(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    session = inproc_server.session(_settings(tmp_path, inproc_server, tokens["Lan"]))
    events: list[SessionEvent] = []
    session.subscribe(events.append)
    context = session.open()
    assert context is not None
    worker = threading.Thread(target=session.run_sync)
    worker.start()
    try:
        _wait(lambda: _pulled(events), "a pull")
        inproc_server.stop()
        queued = conversations.send(context, "conv-1", "Checking with the courier.", force=True)
        assert isinstance(queued, conversations.Queued)
        _wait(
            lambda: any(isinstance(e, SyncStateChanged) and not e.status.online for e in events),
            "an offline cycle",
        )
        inproc_server.start()
        session.kick_sync()
        _wait(lambda: _on_server(inproc_server, queued.body), "the reply after the outage")
    finally:
        session.close()
        worker.join(timeout=5)


def test_a_session_without_a_backend_says_so_and_stops(tmp_path: Path) -> None:
    session = Session(Settings(paths=Paths(tmp_path)))
    events: list[SessionEvent] = []
    session.subscribe(events.append)
    assert session.open() is not None
    session.run_sync()  # returns at once: nothing to sync with
    session.close()
    state = [e for e in events if isinstance(e, SyncStateChanged)]
    assert state
    assert "no backend configured" in (state[0].status.last_error or "")


def test_a_store_that_cannot_open_is_an_event_not_an_exception(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "store.db").mkdir()  # a folder where the file should be
    session = Session(Settings(paths=Paths(home)))
    events: list[SessionEvent] = []
    session.subscribe(events.append)
    assert session.open() is None
    assert [type(e) for e in events] == [StoreFailed]


def test_the_registry_names_what_it_knows(tmp_path: Path) -> None:
    valid = Settings(
        paths=Paths(tmp_path), token=Secret("t"), backend={"url": "http://127.0.0.1:1"}
    )
    # A kind the config file would refuse: the registry must still say what it knows.
    settings = valid.model_copy(update={"backend": valid.backend.model_copy(update={"kind": "x"})})
    with pytest.raises(
        SettingsError, match=r"backend\.kind 'x' is not one of: chatwoot, reference"
    ):
        DEFAULT_BACKENDS.backend_for(settings)


def test_a_swapped_factory_is_the_one_used(tmp_path: Path) -> None:
    built: list[str] = []

    def fake(settings: Settings) -> object:
        built.append(settings.backend.url or "")
        raise SettingsError("the fake refuses")

    registry = DEFAULT_BACKENDS.with_conversations("reference", fake)  # type: ignore[arg-type]
    settings = Settings(
        paths=Paths(tmp_path), token=Secret("t"), backend={"url": "http://127.0.0.1:1"}
    )
    with pytest.raises(SettingsError, match="the fake refuses"):
        registry.backend_for(settings)
    assert built == ["http://127.0.0.1:1"]
    assert DEFAULT_BACKENDS.conversations["reference"] is not fake


async def test_the_tui_made_from_a_session_shows_its_sync(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = live_app(tmp_path, inproc_server, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)  # the queue filled from events, online per the status bar
        inproc_server.stop()
        await wait_until(
            pilot, lambda: "offline" in str(app.screen.query_one("#status").render()).lower()
        )
