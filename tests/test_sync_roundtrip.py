"""Sync against a real reference server on 127.0.0.1 with a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cs_console.backends.base import AuthFailed
from cs_console.domain import ConversationStatus, DeliveryState, Group
from cs_console.services import conversations, orders, queue, sync
from cs_console.views import QueueFilter
from tests.harness import LiveServer, client_context


def test_pull_send_and_server_has_it_once(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "client", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    report = engine.run_once()
    assert report.pulled > 0
    assert ctx.agent_name == "Lan"
    rows = queue.page(ctx, QueueFilter(), 0, 10)
    # Longest wait first: conv-1 waited 5 minutes, conv-2 one minute, conv-3 not waiting.
    assert [r.conversation_id for r in rows] == ["conv-1", "conv-2", "conv-3"]
    assert rows[0].snippet == "在吗"
    conversations.mark_seen(ctx, "conv-1", conversations.messages(ctx, "conv-1")[-1].seq)
    outcome = conversations.send(ctx, "conv-1", "亲，我马上帮您查一下物流")
    assert isinstance(outcome, conversations.Queued)
    thread = conversations.messages(ctx, "conv-1")
    assert thread[-1].delivery is DeliveryState.QUEUED
    engine.run_once()
    engine.run_once()  # a second cycle must not resend
    assert live_server.state.messages_with_body("亲，我马上帮您查一下物流") == 1
    thread = conversations.messages(ctx, "conv-1")
    assert thread[-1].delivery is DeliveryState.SENT
    assert thread[-1].author == "Lan"
    # Answering claimed it, and the customer no longer waits.
    info = conversations.info(ctx, "conv-1")
    assert info is not None
    assert info.assignee == "Lan"
    assert info.waiting_since is None
    assert orders.for_customer(ctx, "cus-1")[0].events[-1].detail == "ZTO ZT123456789"
    engine.backend.close()
    ctx.close()


def test_send_stops_when_customer_wrote_meanwhile(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "client", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    engine.run_once()
    conversations.mark_seen(ctx, "conv-2", conversations.messages(ctx, "conv-2")[-1].seq)
    live_server.state.add_customer_message("conv-2", "Hello? Anyone there?")
    engine.run_once()
    outcome = conversations.send(ctx, "conv-2", "Yes, it is in stock!")
    assert isinstance(outcome, conversations.NewActivity)
    assert [m.body for m in outcome.messages] == ["Hello? Anyone there?"]
    forced = conversations.send(ctx, "conv-2", "Yes, it is in stock!", force=True)
    assert isinstance(forced, conversations.Queued)
    engine.backend.close()
    ctx.close()


def test_claim_transfer_resolve_reach_server(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "client", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    engine.run_once()
    conversations.claim(ctx, "conv-2")
    conversations.transfer(ctx, "conv-2", group=Group.AFTER_SALE)
    conversations.set_status(ctx, "conv-1", ConversationStatus.RESOLVED)
    engine.run_once()
    page = live_server.state.changes(0, 1000)
    by_id = {c.id: c for c in page.conversations}
    assert by_id["conv-2"].group is Group.AFTER_SALE
    assert by_id["conv-2"].assignee is None
    assert by_id["conv-1"].status is ConversationStatus.RESOLVED
    engine.backend.close()
    ctx.close()


def test_agent_cannot_take_another_agents_conversation(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "client", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    engine.run_once()
    with pytest.raises(conversations.ActionError):
        conversations.claim(ctx, "conv-3")  # Mei's
    # The server enforces it too, whatever the client does.
    response = httpx.post(
        live_server.url + "/api/v1/operations",
        headers={"Authorization": f"Bearer {tokens['Lan']}", "Idempotency-Key": "k-1"},
        json={"operation": {"op": "assign", "conversation_id": "conv-3", "assignee": "Lan"}},
    )
    assert response.status_code == 403
    supervisor = httpx.post(
        live_server.url + "/api/v1/operations",
        headers={"Authorization": f"Bearer {tokens['Sofia']}", "Idempotency-Key": "k-2"},
        json={"operation": {"op": "assign", "conversation_id": "conv-3", "assignee": "Lan"}},
    )
    assert supervisor.status_code == 200
    engine.backend.close()
    ctx.close()


def test_bad_token_is_reported_and_nothing_lost(tmp_path: Path, live_server: LiveServer) -> None:
    ctx = client_context(tmp_path / "client", live_server, "not-a-token")
    engine = sync.make_engine(ctx)
    with pytest.raises(AuthFailed):
        engine.run_once()
    assert "refused the token" in (engine.status().last_error or "")
    engine.backend.close()
    ctx.close()
