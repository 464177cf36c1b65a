"""The reference server under 50 simulated agents, on PostgreSQL (and on SQLite in the
full run).

``cs-console serve --db URL`` runs in its own process; 50 agents share one event loop
here. Each agent pulls the change feed every 2 s (again at once while ``has_more``),
sends a reply every 10 s and, for one reply in five, sends the same request again
under the same Idempotency-Key, as a client does after a lost answer. 15 s by default,
60 s with ``CS_RELIABILITY_FULL=1``.

Afterwards: no request failed, every acknowledged reply is in the database exactly
once, no reply that was never acknowledged is there, every agent's feed delivered
every reply exactly once, and each repeat was answered with the first answer.

Without a PostgreSQL (binaries, the psycopg driver, or a cluster that starts) the
PostgreSQL case is skipped with the reason; with ``CS_REAL_BACKENDS=required`` it fails.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, Group, MessageKind, Role
from cs_console.server.state import ServerState
from cs_console.store.models import MESSAGE
from cs_console.timeutil import utcnow
from tests.harness import free_port, tiny_shop
from tests.reliability.pg import PostgresUnavailable, postgres_cluster

FULL = os.environ.get("CS_RELIABILITY_FULL") == "1"
DURATION_S = 60.0 if FULL else 15.0
AGENTS = 50
CONVERSATIONS = 40
POLL_EVERY_S = 2.0
SEND_EVERY_S = 10.0
REPEAT_SHARE = 0.2
REPLY_PREFIX = "load-"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throwaway cluster for this module, or a skip (a failure when required)."""
    try:
        with postgres_cluster() as url:
            yield url
    except PostgresUnavailable as exc:
        reason = f"PostgreSQL is not available: {exc}"
        if os.environ.get("CS_REAL_BACKENDS") == "required":
            pytest.fail(f"{reason} (CS_REAL_BACKENDS=required)")
        pytest.skip(reason)


def prepare(url: str) -> tuple[dict[str, str], list[str], int]:
    """The tiny shop plus conversations and 50 agents; (tokens, conversation ids, head)."""
    state = ServerState(url)
    try:
        tiny_shop(state)
        now = utcnow()
        extra = [
            p.ConversationRecord(
                id=f"load-conv-{i}",
                customer_id="cus-1" if i % 2 else "cus-2",
                group=Group.AFTER_SALE,
                status=ConversationStatus.OPEN,
                waiting_since=now,
                last_activity_at=now,
                unread_count=1,
                updated_at=now,
            )
            for i in range(CONVERSATIONS - 3)
        ]
        state.load_records({"conversation": list(extra)})
        tokens = {
            f"agent{i:02d}": state.add_agent(f"agent{i:02d}", Role.AGENT, "after-sale")
            for i in range(AGENTS)
        }
        head = int(state.changes(0, p.MAX_PAGE).cursor)
        conversations = sorted(c.id for c in state.changes(0, p.MAX_PAGE).conversations)
    finally:
        state.close()
    return tokens, conversations, head


@dataclass
class Load:
    """What the agents saw."""

    requests: int = 0
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[str, str] = field(default_factory=dict)  # message id -> created_at
    repeats: int = 0
    repeat_mismatches: list[str] = field(default_factory=list)
    feeds: dict[str, Counter[str]] = field(default_factory=dict)  # agent -> reply id counts


async def call(load: Load, request: Awaitable[httpx.Response]) -> httpx.Response | None:
    """Await one request; count it and note anything but a 200."""
    load.requests += 1
    try:
        response = await request
    except httpx.HTTPError as exc:
        load.errors.append(f"{type(exc).__name__}: {exc}")
        return None
    if response.status_code != 200:
        load.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        return None
    return response


async def pull(client: httpx.AsyncClient, load: Load, cursor: str, seen: Counter[str]) -> str:
    """Pull until the server has nothing more; count the replies the feed carried."""
    more = True
    while more:
        response = await call(
            load, client.get("/api/v1/changes", params={"since": cursor, "limit": p.DEFAULT_PAGE})
        )
        if response is None:
            return cursor
        page = p.ChangePage.model_validate_json(response.content)
        seen.update(m.id for m in page.messages if m.id.startswith(REPLY_PREFIX))
        cursor, more = page.cursor, page.has_more
    return cursor


async def agent(
    name: str,
    token: str,
    url: str,
    head: int,
    conversations: list[str],
    load: Load,
    *,
    started: float,
    rng: random.Random,
    finished: asyncio.Barrier,
) -> None:
    """One agent: poll and reply on its own schedule until the time is up, then, once
    every agent has stopped sending, pull to the end of the feed."""
    seen: Counter[str] = Counter()
    load.feeds[name] = seen
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        cursor = str(head)
        next_poll = started + rng.uniform(0, POLL_EVERY_S)
        next_send = started + rng.uniform(0, SEND_EVERY_S)
        end = started + DURATION_S
        sent = 0
        while (due := min(next_poll, next_send)) < end:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if due == next_poll:
                next_poll += POLL_EVERY_S
                cursor = await pull(client, load, cursor, seen)
                continue
            next_send += SEND_EVERY_S
            sent += 1
            message_id = f"{REPLY_PREFIX}{name}-{sent}"
            operation = p.SendMessage(
                id=message_id,
                conversation_id=rng.choice(conversations),
                kind=MessageKind.AGENT,
                body=f"Reply {sent} from {name}: we are checking your parcel now.",
            )
            body = p.OperationEnvelope(operation=operation).model_dump_json()
            key_headers = {"Idempotency-Key": f"key-{message_id}"}
            post = client.post
            response = await call(
                load, post("/api/v1/operations", content=body, headers=key_headers)
            )
            if response is None:
                continue
            first = p.OperationResult.model_validate_json(response.content)
            load.acknowledged[message_id] = str(first.result["created_at"])
            if rng.random() < REPEAT_SHARE:
                load.repeats += 1
                again = await call(
                    load, post("/api/v1/operations", content=body, headers=key_headers)
                )
                if (
                    again is not None
                    and p.OperationResult.model_validate_json(again.content) != first
                ):
                    load.repeat_mismatches.append(message_id)
        await finished.wait()
        await pull(client, load, cursor, seen)


async def simulate(url: str, tokens: dict[str, str], head: int, conversations: list[str]) -> Load:
    """All agents at once, starts spread over the periods so the load is even."""
    load = Load()
    started = time.perf_counter() + 0.2
    rng = random.Random(int(os.environ.get("CS_RELIABILITY_SEED", "5")))
    finished = asyncio.Barrier(len(tokens))
    await asyncio.gather(
        *(
            agent(
                name,
                token,
                url,
                head,
                conversations,
                load,
                started=started,
                rng=random.Random(rng.random()),
                finished=finished,
            )
            for name, token in tokens.items()
        )
    )
    return load


class ServerProcess:
    """``cs-console serve --db URL`` on a free loopback port."""

    def __init__(self, db_url: str, home: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "server.log"
        home.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CS_CONSOLE_")}
        env["CS_CONSOLE_HOME"] = str(home)
        argv = [sys.executable, "-m", "cs_console", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--db", db_url]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start within 30 s")
            time.sleep(0.05)

    def stop(self) -> str:
        """Stop the server; return what it logged."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log_path.read_text(errors="replace")


def run_load(db_url: str, home: Path) -> None:
    """Prepare, load, and check exactly-once; fails with the figures on any breach."""
    tokens, conversations, head = prepare(db_url)
    server = ServerProcess(db_url, home)
    try:
        started = time.perf_counter()
        load = asyncio.run(simulate(server.url, tokens, head, conversations))
        elapsed = time.perf_counter() - started
    finally:
        server_log = server.stop()
    state = ServerState(db_url)
    try:
        with state.read() as conn:
            rows = conn.execute(
                select(MESSAGE.c.id, func.count())
                .where(MESSAGE.c.id.like(REPLY_PREFIX + "%"))
                .group_by(MESSAGE.c.id)
            ).all()
    finally:
        state.close()
    stored = {str(message_id): int(count) for message_id, count in rows}
    acknowledged = set(load.acknowledged)
    figures = (
        f"{len(tokens)} agents, {elapsed:.1f} s, {load.requests} requests, "
        f"{len(acknowledged)} replies, {load.repeats} repeats"
    )
    print(figures)
    assert not load.errors, f"{len(load.errors)} failed requests ({figures}): {load.errors[:5]}"
    assert "Traceback" not in server_log, server_log[-3000:]
    assert acknowledged, "no reply was acknowledged"
    assert not acknowledged - stored.keys(), f"lost: {sorted(acknowledged - stored.keys())[:5]}"
    assert not stored.keys() - acknowledged, "a reply is stored that nobody was told of"
    assert all(count == 1 for count in stored.values()), "a reply is stored twice"
    assert not load.repeat_mismatches, f"a repeat got another answer: {load.repeat_mismatches}"
    for name, seen in load.feeds.items():
        assert set(seen) == acknowledged, f"{name}'s feed missed {acknowledged - set(seen)}"
        assert max(seen.values()) == 1, f"{name}'s feed carried a reply twice"


def test_fifty_agents_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    run_load(postgres_url, tmp_path / "pg-server")


@pytest.mark.skipif(not FULL, reason="the SQLite load runs with CS_RELIABILITY_FULL=1")
def test_fifty_agents_on_sqlite(tmp_path: Path) -> None:
    run_load(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "sqlite-server")
