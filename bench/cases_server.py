"""Case 5: the reference server under 50 simulated agents.

Each agent polls ``/api/v1/changes`` every 2 s (pulling again at once while the
server says ``has_more``) and sends a reply every 10 s, for 60 s (10 s with
``--quick``); starts are spread over the periods so the load is even. Every agent
also asks ``/health`` every 2 s, between its polls: that endpoint touches no database,
so its latency under the same load is the baseline of the HTTP stack itself.

Afterwards the server's database is counted: every acknowledged reply must be there
exactly once (no lost, no doubled message), and must have reached the change feed.
"""

from __future__ import annotations

import asyncio
import math
import random
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.core import Context, Result, Target
from bench.data import DATA_DIR, build_server
from bench.server_proc import running_server
from cs_console import protocol as p
from cs_console.domain import MessageKind

WORK = DATA_DIR / "work" / "server"
AGENTS = 50
POLL_EVERY_S = 2.0
SEND_EVERY_S = 10.0
REPLY_PREFIX = "bench-reply-"


@dataclass(slots=True)
class Load:
    """What the simulated agents saw."""

    changes_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)


async def _timed(load: Load, into: list[float], call: Any) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response: httpx.Response = await call
    except httpx.HTTPError as exc:
        load.errors.append(f"{type(exc).__name__}: {exc}")
        into.append(math.inf)
        return None
    into.append((time.perf_counter() - started) * 1000)
    if response.status_code != 200:
        load.errors.append(f"HTTP {response.status_code}: {response.text[:120]}")
        return None
    return response


async def agent(
    name: str,
    token: str,
    url: str,
    head: int,
    conversations: list[str],
    load: Load,
    *,
    started: float,
    duration: float,
    rng: random.Random,
) -> None:
    """One agent: poll, reply and probe on its own schedule until the time is up."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        cursor = head
        next_poll = started + rng.uniform(0, POLL_EVERY_S)
        next_probe = next_poll + POLL_EVERY_S / 2
        next_send = started + rng.uniform(0, SEND_EVERY_S)
        sent = 0
        end = started + duration
        while True:
            due = min(next_poll, next_probe, next_send)
            if due >= end:
                return
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if due == next_poll:
                next_poll += POLL_EVERY_S
                more = True
                while more:
                    response = await _timed(
                        load,
                        load.changes_ms,
                        client.get("/api/v1/changes", params={"since": cursor, "limit": 500}),
                    )
                    if response is None:
                        break
                    page = response.json()
                    cursor, more = int(page["cursor"]), bool(page["has_more"])
            elif due == next_probe:
                next_probe += POLL_EVERY_S
                await _timed(load, load.health_ms, client.get("/health"))
            else:
                next_send += SEND_EVERY_S
                sent += 1
                message_id = f"{REPLY_PREFIX}{name}-{sent}"
                operation = p.SendMessage(
                    id=message_id,
                    conversation_id=rng.choice(conversations),
                    kind=MessageKind.AGENT,
                    body=f"Reply {sent} from {name}: we are checking your parcel now.",
                )
                body = p.OperationEnvelope(operation=operation).model_dump(mode="json")
                response = await _timed(
                    load,
                    load.reply_ms,
                    client.post(
                        "/api/v1/operations", json=body, headers={"Idempotency-Key": message_id}
                    ),
                )
                if response is not None:
                    load.acknowledged.add(message_id)


async def simulate(
    url: str, tokens: dict[str, str], head: int, conversations: list[str], duration: float
) -> Load:
    """All agents at once."""
    load = Load()
    started = time.perf_counter() + 0.2
    rng = random.Random(5)
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
                duration=duration,
                rng=random.Random(rng.random()),
            )
            for name, token in tokens.items()
        )
    )
    return load


def feed_message_ids(url: str, token: str, head: int) -> set[str]:
    """Ids of the benchmark's replies that the change feed holds after ``head``."""
    seen: set[str] = set()
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        cursor, more = head, True
        while more:
            page = client.get("/api/v1/changes", params={"since": cursor, "limit": 2000}).json()
            seen.update(m["id"] for m in page["messages"] if m["id"].startswith(REPLY_PREFIX))
            cursor, more = int(page["cursor"]), bool(page["has_more"])
    return seen


def run_server(ctx: Context) -> list[Result]:
    """Case 5: latency, errors and exactly-once under 50 agents."""
    duration = 10.0 if ctx.quick else 60.0
    shutil.rmtree(WORK, ignore_errors=True)
    path = WORK / "server.db"
    names = [f"load{i:02d}" for i in range(AGENTS)]
    ctx.log(f"  building a {AGENTS}-agent shop and loading it for {duration:g} s...")
    tokens = build_server(path, conversations=500, messages=2_500, customers=200, agents=names)
    with sqlite3.connect(path) as conn:
        head = int(conn.execute("SELECT max(seq) FROM change").fetchone()[0])
        conversations = [str(r[0]) for r in conn.execute("SELECT id FROM conversation")]
    with running_server(f"sqlite:///{path}", WORK / "run") as url:
        load = asyncio.run(
            simulate(url, {n: tokens[n] for n in names}, head, conversations, duration)
        )
        in_feed = feed_message_ids(url, tokens["agent01"], head)
    with sqlite3.connect(path) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM message WHERE id LIKE ?",
            (REPLY_PREFIX + "%",),
        ).fetchone()
        stored_ids = {
            str(r[0])
            for r in conn.execute("SELECT id FROM message WHERE id LIKE ?", (REPLY_PREFIX + "%",))
        }
    lost = len(load.acknowledged - stored_ids)
    doubled = int(stored) - int(distinct)
    unacknowledged = len(stored_ids - load.acknowledged)
    missing_from_feed = len(load.acknowledged - in_feed)
    requests = len(load.changes_ms) + len(load.reply_ms) + len(load.health_ms)
    every = load.changes_ms + load.reply_ms
    error_note = "; ".join(sorted(set(load.errors))[:3])
    p99 = Target("p99", "<", 100, "ms")
    return [
        Result(
            "server",
            "all_api",
            "ms",
            every,
            "/health",
            load.health_ms,
            [p99],
            note=f"{AGENTS} agents, {duration:g} s, {requests} requests",
        ),
        Result("server", "changes", "ms", load.changes_ms, "/health", load.health_ms, [p99]),
        Result(
            "server",
            "reply",
            "ms",
            load.reply_ms,
            "/health",
            load.health_ms,
            [p99],
            note=f"{len(load.acknowledged)} replies acknowledged",
        ),
        Result(
            "server",
            "errors",
            "count",
            [float(len(load.errors))],
            "-",
            [],
            [Target("value", "==", 0)],
            note=error_note,
        ),
        Result(
            "server",
            "lost_or_doubled",
            "count",
            [float(lost + doubled + missing_from_feed)],
            "-",
            [],
            [Target("value", "==", 0)],
            note=f"lost {lost}, doubled {doubled}, missing from the feed {missing_from_feed}, "
            f"stored without an acknowledgement {unacknowledged}",
        ),
    ]
