"""Case 4: pull 100,000 messages from the reference server on loopback into an empty
client store with the real sync engine, against plain httpx GETs of the same pages
written with ``sqlite3.executemany`` into a plain table."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import httpx

from bench.core import Context, Result, Target, interleave
from bench.data import DATA_DIR, agent_token, ensure_sync_server
from bench.server_proc import running_server
from cs_console import protocol as p
from cs_console.paths import Paths

WORK = DATA_DIR / "work" / "sync"


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def engine_pull(url: str, token: str, expected: int) -> float:
    """Messages per second for ``SyncEngine.run_once`` into a new store."""
    from cs_console.backends.reference import ReferenceBackend
    from cs_console.secret import Secret
    from cs_console.store.db import Database
    from cs_console.sync.engine import SyncEngine

    store = Paths(_fresh(WORK / "client")).store
    db = Database(store)
    backend = ReferenceBackend(url, Secret(token))
    try:
        started = time.perf_counter()
        report = SyncEngine(db, backend).run_once()
        elapsed = time.perf_counter() - started
    finally:
        backend.close()
        db.close()
    with sqlite3.connect(store) as conn:
        stored = int(conn.execute("SELECT count(*) FROM message").fetchone()[0])
    if stored != expected:
        raise RuntimeError(f"the engine stored {stored} messages, not {expected} ({report})")
    return expected / elapsed


def raw_pull(url: str, token: str, expected: int) -> float:
    """Messages per second for GETs of the same pages and ``executemany`` of their
    messages (each page committed, as the engine commits each page)."""
    home = _fresh(WORK / "raw")
    conn = sqlite3.connect(home / "raw.db")
    conn.execute(
        "CREATE TABLE message (id TEXT PRIMARY KEY, conversation_id TEXT, kind TEXT, "
        "author TEXT, body TEXT, created_at TEXT)"
    )
    stored = 0
    with httpx.Client(
        base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        started = time.perf_counter()
        cursor = 0
        while True:
            response = client.get("/changes", params={"since": cursor, "limit": p.DEFAULT_PAGE})
            response.raise_for_status()
            page = response.json()
            rows = [
                (
                    m["id"],
                    m["conversation_id"],
                    m["kind"],
                    m["author"],
                    m["body"],
                    m["created_at"],
                )
                for m in page["messages"]
            ]
            with conn:
                conn.executemany("INSERT OR REPLACE INTO message VALUES (?, ?, ?, ?, ?, ?)", rows)
            stored += len(rows)
            cursor = page["cursor"]
            if not page["has_more"]:
                break
        elapsed = time.perf_counter() - started
    conn.close()
    if stored != expected:
        raise RuntimeError(f"the raw pull stored {stored} messages, not {expected}")
    return expected / elapsed


def run_sync(ctx: Context) -> list[Result]:
    """Case 4: engine pull vs raw pull, messages per second."""
    messages = 10_000 if ctx.quick else 100_000
    server = ensure_sync_server(messages, log=ctx.log)
    token = agent_token(server.url, "bench-sync")
    with running_server(server.url, WORK / "server") as url:
        ours, theirs = interleave(
            1 if ctx.quick else max(3, ctx.runs // 2),
            0 if ctx.quick else 1,
            lambda: engine_pull(url, token, messages),
            lambda: raw_pull(url, token, messages),
        )
    return [
        Result(
            "sync",
            "pull",
            "msg/s",
            ours,
            "httpx+executemany",
            theirs,
            [Target("ratio", ">=", 0.5)],
            note=f"{messages:,} messages in {server.conversations:,} conversations, "
            f"pages of {p.DEFAULT_PAGE} changes",
        )
    ]
