"""The outbox survives a dead server, a dead client and a repeated push.

Everything here runs against a real reference server on 127.0.0.1 and real SQLite
files; nothing is mocked.

``test_sigkill_mid_sync_repeatedly`` kills a client process with SIGKILL at random
moments while it queues replies and syncs, then restarts it. It runs
``CS_RELIABILITY_ROUNDS`` kill rounds (default 15); raise it for a longer soak, e.g.::

    CS_RELIABILITY_ROUNDS=50 pytest tests/reliability/test_outbox_durability.py

``CS_RELIABILITY_SEED`` fixes the random kill delays (default 20240601), so a failing
run can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from cs_console.backends.base import Unavailable
from cs_console.server.state import ServerState
from cs_console.services import conversations, sync
from cs_console.store import outbox
from tests.harness import LiveServer, client_context

ROUNDS = int(os.environ.get("CS_RELIABILITY_ROUNDS", "15"))
SEED = int(os.environ.get("CS_RELIABILITY_SEED", "20240601"))
CONVERSATIONS = ("conv-1", "conv-2", "conv-3")


def server_bodies_in_order(state: ServerState, prefix: str) -> dict[str, list[str]]:
    """Per conversation, the server's messages whose body starts with ``prefix``, in the
    order the server created them."""
    found: dict[str, list[tuple[str, str]]] = {}
    cursor = 0
    while True:
        page = state.changes(cursor, 2000)
        for m in page.messages:
            if m.body.startswith(prefix):
                found.setdefault(m.conversation_id, []).append((m.created_at.isoformat(), m.body))
        cursor = int(page.cursor)
        if not page.has_more:
            break
    return {conv: [body for _, body in sorted(rows)] for conv, rows in found.items()}


def test_server_down_then_back(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "client", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    engine.run_once()
    assert engine.status().online

    live_server.stop()
    bodies = [f"down-then-back {i}" for i in range(5)]
    for i, body in enumerate(bodies):
        queued = conversations.send(ctx, ("conv-1", "conv-2")[i % 2], body, force=True)
        assert isinstance(queued, conversations.Queued)

    with pytest.raises(Unavailable):
        engine.run_once()
    status = engine.status()
    assert not status.online
    assert status.outbox_depth == 5
    assert status.last_error is not None
    assert "cannot reach the server" in status.last_error
    for jargon in ("Traceback", "httpx", "Errno", "ConnectError", "Exception"):
        assert jargon not in status.last_error
    # The failed attempt left every entry pending (none given up on).
    assert [e.state for e in outbox.entries(ctx.db)] == ["pending"] * 5
    assert all(live_server.state.messages_with_body(b) == 0 for b in bodies)

    live_server.start()
    engine.run_once()
    status = engine.status()
    assert status.online
    assert status.outbox_depth == 0
    assert status.last_error is None
    for body in bodies:
        assert live_server.state.messages_with_body(body) == 1
    order = server_bodies_in_order(live_server.state, "down-then-back")
    assert order == {"conv-1": bodies[0::2], "conv-2": bodies[1::2]}
    engine.backend.close()
    ctx.close()


# The client process of the SIGKILL test. It derives what is already queued from its
# own store, so a restart queues only the replies that did not make it.
CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from cs_console.backends.reference import ReferenceBackend
    from cs_console.secret import Secret
    from cs_console.services import conversations
    from cs_console.services.context import open_context
    from cs_console.paths import Paths
    from cs_console.settings import Settings
    from cs_console.store import outbox
    from cs_console.sync.engine import SyncEngine

    home, url, token, total, prefix = sys.argv[1:6]
    convs = ("conv-1", "conv-2", "conv-3")
    settings = Settings(
        paths=Paths(Path(home)),
        backend={"url": url},
        token=Secret(token),
        shift={"undo_seconds": 0.0},
    )
    ctx = open_context(settings)
    engine = SyncEngine(ctx.db, ReferenceBackend(url, Secret(token)))
    print("ready", flush=True)
    if conversations.info(ctx, convs[0]) is None:
        engine.run_once()
    queued = {
        m.body for c in convs for m in conversations.messages(ctx, c, limit=1_000_000)
    }
    for i in range(int(total)):
        body = f"{prefix}-{i:05d}"
        if body in queued:
            continue
        conversations.send(ctx, convs[i % len(convs)], body, force=True)
        if i % 2:
            engine.run_once()
    while outbox.depth(ctx.db):
        engine.run_once()
    engine.run_once()
    engine.backend.close()
    ctx.close()
    """
)


def start_child(
    script: Path, home: Path, server: LiveServer, token: str, total: int, prefix: str, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, str(script), str(home), server.url, token, str(total), prefix],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=str(script.parent),
        )


def wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    assert proc.stdout is not None
    readable, _, _ = select.select([proc.stdout], [], [], 60)
    line = proc.stdout.readline() if readable else b""
    if line.strip() != b"ready":
        proc.kill()
        proc.wait()
        pytest.fail(f"client did not start: {log.read_text(errors='replace')[-3000:]}")


def queued_bodies(store: Path) -> list[str]:
    """The reply bodies in the store's outbox, in queue order (read-only, between runs)."""
    if not store.exists():
        return []
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT payload FROM outbox ORDER BY seq").fetchall()
    finally:
        con.close()
    return [json.loads(payload)["body"] for (payload,) in rows]


def test_sigkill_mid_sync_repeatedly(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    script = tmp_path / "client_child.py"
    script.write_text(CHILD, encoding="utf-8")
    home = tmp_path / "client"
    log = tmp_path / "child-stderr.log"
    prefix = "kill-test"
    total = 8 * ROUNDS
    expected = [f"{prefix}-{i:05d}" for i in range(total)]
    rng = random.Random(SEED)
    killed = 0
    progress: list[int] = []
    for _ in range(ROUNDS):
        proc = start_child(script, home, live_server, tokens["Lan"], total, prefix, log)
        wait_ready(proc, log)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        code = proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
        assert code in (0, -signal.SIGKILL), log.read_text(errors="replace")[-3000:]
        killed += code == -signal.SIGKILL
        # What was committed stays committed: the outbox only grows, in order.
        now = queued_bodies(home / "store.db")
        assert now == expected[: len(now)]
        assert len(now) >= (progress[-1] if progress else 0)
        progress.append(len(now))
    assert killed >= ROUNDS // 2, f"the client finished before most kills ({progress})"

    # Let it finish undisturbed.
    proc = start_child(script, home, live_server, tokens["Lan"], total, prefix, log)
    wait_ready(proc, log)
    assert proc.wait(timeout=120) == 0, log.read_text(errors="replace")[-3000:]
    assert proc.stdout is not None
    proc.stdout.close()

    store = home / "store.db"
    assert queued_bodies(store) == expected
    con = sqlite3.connect(store)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = con.execute("SELECT payload, state FROM outbox ORDER BY seq").fetchall()
        deliveries = dict(
            con.execute(
                "SELECT body, delivery FROM message WHERE body LIKE ?", (prefix + "%",)
            ).fetchall()
        )
    finally:
        con.close()
    # Each reply was committed to the outbox exactly once, in order, and went out.
    assert [json.loads(payload)["body"] for payload, _ in rows] == expected
    assert {state for _, state in rows} == {"done"}
    assert set(deliveries.values()) == {"sent"}
    for body in expected:
        assert live_server.state.messages_with_body(body) == 1, body
    order = server_bodies_in_order(live_server.state, prefix)
    assert order == {
        conv: expected[i :: len(CONVERSATIONS)] for i, conv in enumerate(CONVERSATIONS)
    }


def test_duplicate_push_is_answered_idempotently(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    url = live_server.url + "/api/v1/operations"
    headers = {"Authorization": f"Bearer {tokens['Lan']}", "Idempotency-Key": "dup-key-1"}

    def op(body: str) -> dict[str, object]:
        return {
            "operation": {
                "op": "send_message",
                "id": "dup-msg-1",
                "conversation_id": "conv-1",
                "kind": "agent",
                "body": body,
            }
        }

    first = httpx.post(url, headers=headers, json=op("only once, please"))
    second = httpx.post(url, headers=headers, json=op("only once, please"))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["key"] == "dup-key-1"
    assert live_server.state.messages_with_body("only once, please") == 1

    changed = httpx.post(url, headers=headers, json=op("something else"))
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["error"]
    assert live_server.state.messages_with_body("only once, please") == 1
    assert live_server.state.messages_with_body("something else") == 0
