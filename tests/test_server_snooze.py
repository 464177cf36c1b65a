"""Snoozed conversations wake on the server at their time: back in the open queue with
the waiting clock they had, and in the change feed so every console learns it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cs_console import protocol as p
from cs_console.domain import ConversationStatus
from cs_console.server.state import ServerState
from cs_console.services import conversations, sync
from cs_console.store.models import CONVERSATION
from cs_console.timeutil import utcnow
from tests.harness import LiveServer, client_context

SNOOZE_S = 0.5


class Lan:
    """The agent Lan, talking HTTP to the server."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.client = httpx.Client(
            base_url=server.url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )

    def op(self, operation: dict[str, Any]) -> None:
        response = self.client.post(
            "/operations",
            headers={"Idempotency-Key": uuid.uuid4().hex},
            json={"operation": operation},
        )
        assert response.status_code == 200, response.text

    def snooze(self, conversation_id: str, until: datetime) -> None:
        self.op(
            {
                "op": "set_status",
                "conversation_id": conversation_id,
                "status": "snoozed",
                "snoozed_until": until.isoformat(),
            }
        )

    def changes(self, since: str = "0") -> p.ChangePage:
        response = self.client.get("/changes", params={"since": since, "limit": 1000})
        assert response.status_code == 200, response.text
        return p.ChangePage.model_validate_json(response.content)


@pytest.fixture
def lan(live_server: LiveServer, tokens: dict[str, str]) -> Iterator[Lan]:
    agent = Lan(live_server, tokens["Lan"])
    yield agent
    agent.client.close()


def stored(state: ServerState, conversation_id: str) -> Any:
    """The conversation's row as stored, read without going through the feed."""
    with state.read() as conn:
        return (
            conn.execute(select(CONVERSATION).where(CONVERSATION.c.id == conversation_id))
            .mappings()
            .one()
        )


def conversation(page: p.ChangePage, conversation_id: str) -> p.ConversationRecord | None:
    return next((c for c in page.conversations if c.id == conversation_id), None)


def test_a_snoozed_conversation_wakes_at_its_time(lan: Lan, live_server: LiveServer) -> None:
    waiting_since = stored(live_server.state, "conv-1")["waiting_since"]
    lan.snooze("conv-1", utcnow() + timedelta(seconds=SNOOZE_S))
    lan.snooze("conv-2", utcnow() + timedelta(hours=1))
    before = lan.changes()
    asleep = conversation(before, "conv-1")
    assert asleep is not None
    assert asleep.status is ConversationStatus.SNOOZED

    # Waiting for the clock, not for a worker: the wake happens in the read itself.
    deadline = time.monotonic() + 10
    while True:
        page = lan.changes(before.cursor)
        woken = conversation(page, "conv-1")
        if woken is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert woken is not None, "conv-1 never came back in the change feed"
    assert woken.status is ConversationStatus.OPEN
    assert woken.snoozed_until is None
    assert woken.waiting_since == waiting_since  # its wait goes on where it was
    # conv-2 sleeps on.
    assert conversation(page, "conv-2") is None
    assert stored(live_server.state, "conv-2")["status"] == ConversationStatus.SNOOZED.value
    # Back at the top of the open queue: it has waited longest.
    with live_server.state.read() as conn:
        queue = conn.execute(
            select(CONVERSATION.c.id)
            .where(CONVERSATION.c.status == ConversationStatus.OPEN.value)
            .order_by(CONVERSATION.c.queue_rank)
        ).all()
    assert queue[0][0] == "conv-1"


def test_any_operation_wakes_what_is_due_first(lan: Lan, live_server: LiveServer) -> None:
    # A snooze whose time has already come: stored as asked, woken by the next request.
    lan.snooze("conv-1", utcnow() - timedelta(seconds=1))
    assert stored(live_server.state, "conv-1")["status"] == ConversationStatus.SNOOZED.value
    lan.op({"op": "mark_read", "conversation_id": "conv-2"})
    row = stored(live_server.state, "conv-1")
    assert row["status"] == ConversationStatus.OPEN.value
    assert row["snoozed_until"] is None


def test_a_console_pulls_the_woken_conversation(
    tmp_path: Path, lan: Lan, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "mei", live_server, tokens["Mei"])
    engine = sync.make_engine(ctx)
    try:
        lan.snooze("conv-1", utcnow() + timedelta(seconds=SNOOZE_S))
        engine.run_once()
        info = conversations.info(ctx, "conv-1")
        assert info is not None
        assert info.status is ConversationStatus.SNOOZED
        deadline = time.monotonic() + 10
        while info.status is ConversationStatus.SNOOZED and time.monotonic() < deadline:
            time.sleep(0.05)
            engine.run_once()
            info = conversations.info(ctx, "conv-1")
            assert info is not None
        assert info.status is ConversationStatus.OPEN
    finally:
        engine.backend.close()
        ctx.close()


def test_other_statuses_carry_no_snooze_time(lan: Lan, live_server: LiveServer) -> None:
    lan.op(
        {
            "op": "set_status",
            "conversation_id": "conv-1",
            "status": "pending",
            "snoozed_until": (utcnow() + timedelta(hours=1)).isoformat(),
        }
    )
    assert stored(live_server.state, "conv-1")["snoozed_until"] is None
