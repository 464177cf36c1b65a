"""Presence through the outbox, idleness, and priority and tags from the server to the
queue's filters: a session on the in-process server, a real store."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cs_console import protocol as p
from cs_console.domain import Role
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.state import Caller
from cs_console.services import presence, queue
from cs_console.services.context import AgentContext
from cs_console.settings import Settings
from cs_console.store import agents, outbox
from cs_console.views import QueueFilter
from tests.inprocess import InProcessServer


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _session(tmp_path: Path, server: InProcessServer, token: str) -> tuple[object, AgentContext]:
    settings = Settings(
        paths=Paths(tmp_path),
        token=Secret(token),
        backend={"url": server.url},
        shift={"sync_interval_s": 0.05, "undo_seconds": 0.0},
    )
    session = server.session(settings)
    ctx = session.open()
    assert ctx is not None
    return session, ctx


def test_presence_goes_through_the_outbox_once_and_comes_back(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    session, ctx = _session(tmp_path, inproc_server, tokens["Lan"])
    worker = threading.Thread(target=session.run_sync)  # type: ignore[attr-defined]
    worker.start()
    try:
        _wait(lambda: agents.presence_of(ctx.db, "Lan") is not None, "the first pull")
        presence.set_presence(ctx, "online")
        session.kick_sync()  # type: ignore[attr-defined]
        _wait(lambda: outbox.depth(ctx.db) == 0, "the outbox to empty")
        found = {a.name: a for a in inproc_server.state.changes(0, 10_000).agents}
        assert found["Lan"].presence is p.Presence.ONLINE
        _wait(lambda: presence.current(ctx) == "online", "the feed's copy in the store")
        # The pool's after-sale customer went to Lan, and the feed brought it back.
        _wait(
            lambda: any(
                r.conversation_id == "conv-1"
                for r in queue.page(ctx, QueueFilter(scope="mine", me="Lan"), 0, 50)
            ),
            "conv-1 assigned to Lan in the store",
        )
    finally:
        session.close()  # type: ignore[attr-defined]
        worker.join(timeout=5)


def test_a_bad_presence_is_refused_before_the_outbox(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    session, ctx = _session(tmp_path, inproc_server, tokens["Lan"])
    try:
        try:
            presence.set_presence(ctx, "asleep")
        except presence.PresenceError:
            pass
        else:
            raise AssertionError("asleep was accepted")
        assert outbox.depth(ctx.db) == 0
    finally:
        session.close()  # type: ignore[attr-defined]


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_idleness_turns_an_online_agent_away_and_a_key_brings_them_back() -> None:
    clock = _Clock()
    watch = presence.IdleWatch(clock, away_after_s=600)
    assert watch.tick("online") is None
    clock.now += timedelta(seconds=601)
    assert watch.tick("away") is None  # away by hand: left alone
    assert watch.tick("online") == "away"
    assert watch.tick("away") is None  # said once
    assert watch.touch() == "online"
    assert watch.touch() is None
    clock.now += timedelta(seconds=601)
    assert watch.tick("offline") is None


def test_priority_and_tags_reach_the_queue_and_filter_it(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    state = inproc_server.state
    sofia = Caller("Sofia", Role.SUPERVISOR)
    state.apply(
        sofia, uuid.uuid4().hex, p.SetPriority(conversation_id="conv-2", priority=p.Priority.HIGH)
    )
    state.apply(sofia, uuid.uuid4().hex, p.SetTags(customer_id="cus-1", tags=["vip"]))
    state.apply(
        sofia, uuid.uuid4().hex, p.SetTags(conversation_id="conv-2", tags=["repeat-complainer"])
    )
    session, ctx = _session(tmp_path, inproc_server, tokens["Lan"])
    worker = threading.Thread(target=session.run_sync)  # type: ignore[attr-defined]
    worker.start()
    try:
        _wait(lambda: queue.count(ctx, QueueFilter()) > 0, "the first pull")
        rows = {r.conversation_id: r for r in queue.page(ctx, QueueFilter(), 0, 50)}
        assert rows["conv-2"].priority == "high"
        assert rows["conv-1"].tags == ("vip",)  # the customer's tag
        assert rows["conv-2"].tags == ("repeat-complainer",)

        def ids(flt: QueueFilter) -> set[str]:
            return {r.conversation_id for r in queue.page(ctx, flt, 0, 50)}

        assert ids(QueueFilter(min_priority="high")) == {"conv-2"}
        assert ids(QueueFilter(min_priority="urgent")) == set()
        assert ids(QueueFilter(tag="vip")) == {"conv-1"}
        assert queue.count(ctx, QueueFilter(tag="vip")) == 1
        assert queue.known_tags(ctx) == ["repeat-complainer", "vip"]
        assert ids(QueueFilter(tag="v%")) == set()  # a wildcard is a character
    finally:
        session.close()  # type: ignore[attr-defined]
        worker.join(timeout=5)
