"""Case ``search``: one keystroke of the Ctrl+F search on the big store (100k
conversations, 1M messages), against a plain FTS5 MATCH on the same index.

A keystroke is one ``services.search.search`` call for the text typed so far, as the
dialog's worker makes it: the index kept current, the query compiled (folding, pinyin,
order-number tails), the four groups looked up, snippets cut and sanitised. The
baseline is the least a search box could do with the same index: one trigram MATCH of
the raw text over the messages, 30 bodies read. Both run in turn, keystroke by keystroke.

The index is built once on a copy of the generated store (the other cases keep the
store as the generator left it) and reused while the store and the index version stay
the same; the build time is reported with the result. ``after_sync`` times the first
search after a sync page of new messages, which the search indexes before answering.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

from bench.core import Context, Result, Target
from bench.data import DATA_DIR, BigStore
from cs_console.paths import Paths
from cs_console.services import search
from cs_console.services.context import AgentContext
from cs_console.settings import Settings
from cs_console.store.db import Database
from cs_console.store.search_index import INDEX_VERSION, fold

#: What agents type, one character at a time (Chinese as an input method commits it).
QUERIES = (
    "快递怎么还没到",
    "kuaidi",
    "kd",
    "拼团",
    "pintuan",
    "refund",
    "damaged",
    "tracking number",
    "Don hang",
    "pedido",
    "Nguyen",
    "王芳",
    "customer1234@",
    "138 0001",
    "0004417",
    "c0012345",
)
#: Messages in the page the ``after_sync`` measure writes before each search.
SYNC_PAGE = 100
BASELINE_LIMIT = 30


def _meta_path(root: Path) -> Path:
    return root / "meta.json"


def indexed_store(store: BigStore, log: Callable[[str], None]) -> tuple[Path, float]:
    """A copy of ``store`` with its search index built; the build's seconds (measured
    when it was built, possibly in an earlier run)."""
    root = DATA_DIR / f"search-{store.size.label}"
    expected = {"generated_at": store.generated_at, "index": INDEX_VERSION}
    home = root / "home"
    target = Paths(home).store
    try:
        meta: dict[str, Any] = json.loads(_meta_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    if target.exists() and all(meta.get(k) == v for k, v in expected.items()):
        return target, float(meta["build_s"])
    log(f"building the search index on a copy of {store.size.label} (once)...")
    shutil.rmtree(root, ignore_errors=True)
    home.mkdir(parents=True)
    with (
        closing(sqlite3.connect(store.store_path)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)
    started = time.perf_counter()
    db = Database(target, session=None)
    try:
        ctx = AgentContext(settings=Settings(paths=Paths(home)), db=db)
        # The console's background build uses smaller chunks (to keep the write lock
        # short); the bench only wants the index.
        search.build_index(ctx, chunk=20_000)
    finally:
        db.close()
    build_s = time.perf_counter() - started
    _meta_path(root).write_text(json.dumps(expected | {"build_s": build_s}), encoding="utf-8")
    return target, build_s


def _keystrokes(queries: tuple[str, ...]) -> list[str]:
    return [query[:end] for query in queries for end in range(1, len(query) + 1)]


def _plain_match(conn: sqlite3.Connection, text: str) -> list[str]:
    needle = fold(text)
    if len(needle) < 3:
        return []  # a trigram index has nothing for it
    phrase = '"' + needle.replace('"', '""') + '"'
    rows = conn.execute(
        "SELECT m.body FROM search_message s JOIN message m ON m.seq = s.rowid "
        "WHERE search_message MATCH ? LIMIT ?",
        (phrase, BASELINE_LIMIT),
    ).fetchall()
    return [str(row[0]) for row in rows]


def run_search(ctx: Context) -> list[Result]:
    """The keystroke and after-sync measures."""
    path, build_s = indexed_store(ctx.store, ctx.log)
    size = ctx.store.size
    db = Database(path, session=None)
    raw = sqlite3.connect(path, check_same_thread=False)
    try:
        agent = AgentContext(settings=Settings(paths=Paths(path.parent)), db=db)
        keys = _keystrokes(QUERIES[:4] if ctx.quick else QUERIES)
        ours: list[float] = []
        theirs: list[float] = []
        rounds = 1 if ctx.quick else max(1, ctx.runs // 3)
        for round_index in range(rounds):
            for index, text in enumerate(keys):
                pair: list[tuple[list[float], Callable[[], object]]] = [
                    (ours, partial(search.search, agent, text)),
                    (theirs, partial(_plain_match, raw, text)),
                ]
                # Alternate who goes first, so neither always runs on a warmer cache.
                for into, call in pair if (index + round_index) % 2 == 0 else pair[::-1]:
                    started = time.perf_counter()
                    call()
                    into.append((time.perf_counter() - started) * 1000)
        after_sync, plain_after = _after_sync(agent, raw, ctx.runs)
    finally:
        raw.close()
        db.close()
    return [
        Result(
            "search",
            "keystroke",
            "ms",
            ours,
            "plain FTS5 MATCH",
            theirs,
            [Target("p90", "<", 50, "ms")],
            note=(
                f"{size.conversations:,} conversations, {size.messages:,} messages; "
                f"{len(keys)} keystrokes x {rounds}; index built in {build_s:.0f} s"
            ),
        ),
        Result(
            "search",
            "after_sync",
            "ms",
            after_sync,
            "plain FTS5 MATCH",
            plain_after,
            [Target("p90", "<", 50, "ms")],
            note=f"first search after {SYNC_PAGE} new messages (indexed by the search)",
        ),
    ]


def _after_sync(
    agent: AgentContext, raw: sqlite3.Connection, runs: int
) -> tuple[list[float], list[float]]:
    """Write a page of new messages the way a pull does, then time the next search."""
    ours: list[float] = []
    theirs: list[float] = []
    with agent.db.read() as conn:
        conversation = str(conn.exec_driver_sql("SELECT id FROM conversation LIMIT 1").scalar())
    for run in range(runs):
        word = f"benchword{run}x{time.time_ns() % 1_000_000}"
        with agent.db.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO message (id, conversation_id, kind, author, body, created_at, "
                "delivery) VALUES (?, ?, 'customer', 'bench', ?, "
                "'2026-12-04T10:00:00.000000Z', 'sent')",
                [
                    (f"bench-{word}-{i}", conversation, f"{word} 新的消息 {i}")
                    for i in range(SYNC_PAGE)
                ],
            )
        started = time.perf_counter()
        found = search.search(agent, word)
        ours.append((time.perf_counter() - started) * 1000)
        assert found.messages, "the page just written was not found"
        started = time.perf_counter()
        _plain_match(raw, word)
        theirs.append((time.perf_counter() - started) * 1000)
    return ours, theirs
