"""The command line beside a running console: two real processes on one real store.

The console side is a store opened the way the console opens it (it holds the store's
session) or the console itself under ``run_test()``; the other side is ``cs-console``
run as a subprocess, as an agent in a second tmux pane or a script would run it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from cs_console.server.app import create_app
from cs_console.server.settings import ServerSettings
from cs_console.server.state import ServerState
from cs_console.services import conversations
from cs_console.services.context import AgentContext, StoreInUse, open_context
from cs_console.services.sync import make_engine
from cs_console.store import db as store_db
from cs_console.store import queue
from cs_console.store.db import Database, StoreBusy
from cs_console.views import QueueFilter
from tests import harness
from tests.harness import LiveServer, client_context
from tests.ui_support import live_app, server_messages, wait_loaded, wait_until

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def cli(
    home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``cs-console ARGS`` in a process of its own, on the store in ``home``."""
    full_env = {**os.environ, "CS_CONSOLE_HOME": str(home), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cs_console", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def backend_env(server: LiveServer, token: str) -> dict[str, str]:
    return {"CS_CONSOLE_BACKEND_URL": server.url, "CS_CONSOLE_TOKEN": token}


def assert_plain(result: subprocess.CompletedProcess[str]) -> None:
    """Nothing of SQLite's or Python's own wording reaches the agent."""
    for text in (result.stdout, result.stderr):
        assert "database is locked" not in text
        assert "Traceback" not in text
        assert "close it first" not in text


@pytest.fixture
def console(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> Iterator[AgentContext]:
    """A store open as the console opens it (holding the session), synced once."""
    ctx = client_context(tmp_path / "client", live_server, tokens["Lan"])
    engine = make_engine(ctx)
    try:
        engine.run_once()
    finally:
        engine.backend.close()
    yield ctx
    ctx.close()


def sync_once(ctx: AgentContext) -> None:
    engine = make_engine(ctx)
    try:
        engine.run_once()
    finally:
        engine.backend.close()


# --- reading and queuing beside the console ------------------------------------------------


def test_cli_reads_and_queues_while_the_console_has_the_store(
    console: AgentContext, live_server: LiveServer
) -> None:
    home = console.settings.paths.home
    for args in (
        ("conversations",),
        ("messages", "conv-1"),
        ("orders", "cus-1"),
        ("outbox",),
        ("cases", "list"),
        ("report", "day"),
        ("customers", "find", "Alice"),
    ):
        result = cli(home, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert_plain(result)
    assert "conv-1" in cli(home, "conversations").stdout

    queued = cli(home, "reply", "conv-2", "Yes, the blue mug is in stock")
    assert queued.returncode == 0, queued.stderr
    assert_plain(queued)
    # The console's store sees the reply the other process queued, and its sync sends it.
    [entry] = conversations.outbox_entries(console)
    assert entry.conversation_id == "conv-2"
    sync_once(console)
    assert live_server.state.messages_with_body("Yes, the blue mug is in stock") == 1
    assert conversations.outbox_entries(console) == []


def test_a_write_by_another_process_refreshes_the_consoles_cached_counts(
    console: AgentContext,
) -> None:
    waiting = QueueFilter(me="Lan")
    before = queue.waiting_count(console.db, waiting)
    assert before == 2  # conv-1 and conv-2 wait for an answer
    generation = console.db.generation("conversation")
    assert queue.waiting_count(console.db, waiting) == before  # served from the cache

    queued = cli(console.settings.paths.home, "reply", "conv-1", "我们马上核实物流")
    assert queued.returncode == 0, queued.stderr
    # The console never wrote; only PRAGMA data_version can tell it the file changed.
    assert console.db.generation("conversation") != generation
    assert queue.waiting_count(console.db, waiting) == before - 1


def test_a_second_console_is_refused_at_start_naming_the_first(console: AgentContext) -> None:
    with pytest.raises(StoreInUse, match=f"pid {os.getpid()}, a console"):
        open_context(console.settings)
    started = cli(console.settings.paths.home, "run")
    assert started.returncode == 2
    assert f"pid {os.getpid()}" in started.stderr
    assert "cs-console reply" in started.stderr  # what does work beside it
    assert_plain(started)
    # Refused at start means nothing was taken: the first console still writes.
    conversations.save_draft(console, "conv-1", "reply", "still mine")
    assert conversations.draft(console, "conv-1", "reply") == "still mine"


def test_sync_beside_a_console_leaves_the_sending_to_it(
    console: AgentContext, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    home = console.settings.paths.home
    assert cli(home, "reply", "conv-1", "queued from a script").returncode == 0
    synced = cli(home, "sync", "--once", env=backend_env(live_server, tokens["Lan"]))
    assert synced.returncode == 0, synced.stderr
    assert f"the console (pid {os.getpid()}) is running on this store" in synced.stdout
    assert "sends the 1 operation(s) waiting" in synced.stdout
    assert_plain(synced)
    assert live_server.state.messages_with_body("queued from a script") == 0
    sync_once(console)
    assert live_server.state.messages_with_body("queued from a script") == 1


# --- two sync loops never push one row twice ----------------------------------------------


class CountingPushes:
    """The reference server's app, with every push counted by its idempotency key and
    slowed down, so that a second sync starts while the first is still pushing."""

    def __init__(self, app: App, delay_s: float) -> None:
        self.app = app
        self.delay_s = delay_s
        self.pushes: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pushing = scope["type"] == "http" and scope["method"] == "POST"
        if pushing and scope["path"].endswith("/operations"):
            headers = dict(scope["headers"])
            self.pushes[headers.get(b"idempotency-key", b"").decode()] += 1
            await asyncio.sleep(self.delay_s)
        await self.app(scope, receive, send)


def test_two_syncs_at_once_push_each_outbox_row_once(
    tmp_path: Path,
    server_state: ServerState,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counting: list[CountingPushes] = []

    def counted_app(state: ServerState, settings: ServerSettings | None = None) -> App:
        wrapper = CountingPushes(create_app(state, settings), delay_s=0.15)
        counting.append(wrapper)
        return wrapper

    monkeypatch.setattr(harness, "create_app", counted_app)
    server = LiveServer(server_state).start()
    try:
        home = tmp_path / "client"
        env = backend_env(server, tokens["Lan"])
        assert cli(home, "sync", "--once", env=env).returncode == 0
        bodies = [f"two-syncs-{i}" for i in range(8)]
        for body in bodies:
            assert cli(home, "reply", "conv-1", body).returncode == 0
        argv = [sys.executable, "-m", "cs_console", "sync", "--once"]
        full_env = {**os.environ, "CS_CONSOLE_HOME": str(home), **env}
        first = subprocess.Popen(
            argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        # The second starts once the first is pushing (8 pushes take over a second).
        assert wait_for(lambda: sum(counting[0].pushes.values()) >= 2, 30)
        second = subprocess.Popen(
            argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        out_first, err_first = first.communicate(timeout=60)
        out_second, err_second = second.communicate(timeout=60)
    finally:
        server.stop()
    assert first.returncode == 0, err_first
    assert second.returncode == 0, err_second  # it waited for the first, then synced
    assert "pushed 8" in out_first
    assert "pushed 0" in out_second
    pushes = counting[0].pushes
    assert len(pushes) == 8
    assert set(pushes.values()) == {1}, pushes
    for body in bodies:
        assert server_state.messages_with_body(body) == 1


def wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


# --- waits that run out say so ------------------------------------------------------------

HOLD_THE_WRITE_LOCK = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cs_console.store.db import Database
    db = Database(Path(sys.argv[1]), session=None)
    with db.write() as conn:
        conn.exec_driver_sql("INSERT INTO sync_state (key, value) VALUES ('held', '1')")
        print("holding", flush=True)
        time.sleep(60)
    """
)


def test_a_write_kept_waiting_too_long_says_so_and_names_the_holder(
    console: AgentContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(console.settings.paths.store)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 300)
        started = time.monotonic()
        with pytest.raises(StoreBusy) as caught:
            conversations.save_draft(console, "conv-1", "reply", "waits")
        assert time.monotonic() - started < 5  # bounded
        message = str(caught.value)
        assert f"pid {holder.pid}" in message
        assert "Nothing was written" in message
        assert "database is locked" not in message
    finally:
        holder.kill()
        holder.wait()
    # The kill released the lock with the process; the next write goes through.
    conversations.save_draft(console, "conv-1", "reply", "went through")
    assert conversations.draft(console, "conv-1", "reply") == "went through"


def test_sqlite_busy_is_worded_plainly_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A writer that does not know our lock (an older cs-console, the sqlite3 shell):
    # SQLite's own wait runs out, and the agent reads plain words all the same.
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "store.db"
    db = Database(path, session=None)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreBusy) as caught, db.write() as conn:
            conn.exec_driver_sql("INSERT INTO sync_state (key, value) VALUES ('k', 'v')")
        assert "stayed busy" in str(caught.value)
        assert "database is locked" not in str(caught.value)
    finally:
        other.rollback()
        other.close()
        db.close()


# --- kill -9 -------------------------------------------------------------------------------

KEEP_QUEUING = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cs_console.paths import Paths
    from cs_console.services import conversations
    from cs_console.services.context import open_context
    from cs_console.settings import Settings

    settings = Settings(paths=Paths(Path(sys.argv[1])), shift={"undo_seconds": 0.0})
    ctx = open_context(settings, session=None)
    for i in range(100_000):
        body = f"{sys.argv[2]}-{i:06d}"
        conversations.send(ctx, "conv-1", body, force=True, undo_seconds=0.0)
        print(body, flush=True)  # only after the commit returned
    """
)


def read_lines(process: subprocess.Popen[str], into: list[str]) -> None:
    assert process.stdout is not None
    into.extend(process.stdout)


def test_kill_9_at_any_moment_loses_nothing_committed(console: AgentContext) -> None:
    home = str(console.settings.paths.home)
    written: list[str] = []
    mine: list[str] = []
    for round_number in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", KEEP_QUEUING, home, f"kill-{round_number}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=read_lines, args=(child, lines), daemon=True)
        reader.start()
        # The console writes too, at the same time, until the child has written a few.
        deadline = time.monotonic() + 30
        while len(lines) < 5 + round_number * 7 and time.monotonic() < deadline:
            body = f"console-{round_number}-{len(mine):04d}"
            conversations.send(console, "conv-2", body, force=True, undo_seconds=0.0)
            mine.append(body)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        reader.join(timeout=30)
        written.extend(line.strip() for line in lines)
        # The killed writer's lock went with it: the console writes at once.
        started = time.monotonic()
        conversations.save_draft(console, "conv-1", "reply", f"after kill {round_number}")
        assert time.monotonic() - started < 2
    assert written, "the child never wrote"
    queued = {entry.conversation_id for entry in conversations.outbox_entries(console)}
    assert queued == {"conv-1", "conv-2"}
    bodies = {message.body for message in conversations.messages(console, "conv-1", 100_000)}
    bodies |= {message.body for message in conversations.messages(console, "conv-2", 100_000)}
    assert set(written) <= bodies  # every commit the child saw return is there
    assert set(mine) <= bodies
    console.db.quick_check()


# --- the WAL stays small with several writers (a guard: checkpoints still happen) -------------


def test_the_wal_is_checkpointed_while_processes_take_turns(console: AgentContext) -> None:
    wal = console.settings.paths.store.with_name("store.db-wal")
    body = "x" * 3000
    for i in range(2500):  # about 10 MB through the WAL, well past a checkpoint
        conversations.save_draft(console, f"conv-{i % 3 + 1}", "reply", f"{i} {body}")
    size = wal.stat().st_size
    # SQLite checkpoints after 1000 pages of 4 KiB, inside the commit, under our lock.
    assert size < 8 * 1024 * 1024, size
    other = cli(console.settings.paths.home, "reply", "conv-1", "after many drafts")
    assert other.returncode == 0, other.stderr
    console.db.quick_check()


# --- the console itself, and the command line in a second pane ----------------------------


async def test_cli_beside_the_running_console(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    home = tmp_path / "client"
    app = live_app(home, live_server.url, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        listed = await asyncio.to_thread(cli, home, "conversations")
        assert listed.returncode == 0, listed.stderr
        assert "conv-1" in listed.stdout
        queued = await asyncio.to_thread(cli, home, "reply", "conv-2", "from the second pane")
        assert queued.returncode == 0, queued.stderr
        assert_plain(queued)
        synced = await asyncio.to_thread(
            cli, home, "sync", "--once", env=backend_env(live_server, tokens["Lan"])
        )
        assert synced.returncode == 0, synced.stderr
        assert "not synced here" in synced.stdout

        # The console's own sync loop sends what the other process queued, once.
        def sent() -> bool:
            bodies = [m.body for m in server_messages(live_server.state, "conv-2")]
            return bodies.count("from the second pane") == 1

        await wait_until(pilot, sent, what="the console to send the queued reply")
        second = await asyncio.to_thread(cli, home, "run")
        assert second.returncode == 2
        assert "another console" in second.stderr
    assert live_server.state.messages_with_body("from the second pane") == 1
    # The console let go of its session on exit: a sync of its own now runs.
    after = cli(home, "sync", "--once", env=backend_env(live_server, tokens["Lan"]))
    assert after.returncode == 0, after.stderr
    assert "pushed" in after.stdout
