"""The server's automatic assignment: smooth weighted round robin by desk and capacity,
the pool when nobody is eligible, a returning customer, silent agents and the grace
period, and the automatic "urgent"."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, Group, OrderStatus, Role
from cs_console.server.routing import RoutingRules
from cs_console.server.state import Caller, ServerState

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Clock:
    """The server's clock, moved on by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(tmp_path: Path, clock: Clock) -> Iterator[ServerState]:
    server = ServerState(
        f"sqlite:///{tmp_path / 'server.db'}",
        rules=RoutingRules(stale_after_s=300, grace_s=300),
        clock=clock,
    )
    server.load_records({"customer": [p.CustomerRecord(id="cus-1", name="A", updated_at=START)]})
    yield server
    server.close()


def _agent(state: ServerState, name: str, group: Group | None = None) -> Caller:
    state.add_agent(name, Role.AGENT, group.value if group else None)
    return Caller(name, Role.AGENT)


def _presence(state: ServerState, caller: Caller, presence: p.Presence) -> None:
    state.apply(caller, uuid.uuid4().hex, p.SetPresence(presence=presence))


def _new_conversations(
    state: ServerState, count: int, group: Group = Group.PRE_SALE, prefix: str = "c"
) -> list[str]:
    ids = [f"{prefix}-{i:03d}" for i in range(count)]
    now = state.clock()
    state.load_records(
        {
            "conversation": [
                p.ConversationRecord(
                    id=conversation_id,
                    customer_id="cus-1",
                    group=group,
                    status=ConversationStatus.OPEN,
                    waiting_since=now - timedelta(seconds=count - i),
                    last_activity_at=now,
                    updated_at=now,
                )
                for i, conversation_id in enumerate(ids)
            ]
        }
    )
    return ids


def _assignees(state: ServerState) -> dict[str, str | None]:
    return {c.id: c.assignee for c in state.changes(0, 10_000).conversations}


def test_weighted_round_robin_shares_by_weight_and_interleaves(state: ServerState) -> None:
    lan, mei = _agent(state, "Lan"), _agent(state, "Mei")
    state.set_agent_capacity("Lan", capacity=100, weight=3)
    state.set_agent_capacity("Mei", capacity=100, weight=1)
    _presence(state, lan, p.Presence.ONLINE)
    _presence(state, mei, p.Presence.ONLINE)
    ids = _new_conversations(state, 8)
    got = _assignees(state)
    order = [got[i] for i in ids]
    # Smooth WRR: Lan, Lan, Mei, Lan per round of four, never all of one agent in a row.
    assert order == ["Lan", "Lan", "Mei", "Lan"] * 2
    assert Counter(order) == {"Lan": 6, "Mei": 2}


def test_capacity_and_desk_limit_who_gets_a_conversation(state: ServerState) -> None:
    lan = _agent(state, "Lan", Group.AFTER_SALE)
    kim = _agent(state, "Kim")  # no desk: both
    state.set_agent_capacity("Kim", capacity=2)
    _presence(state, lan, p.Presence.ONLINE)
    _presence(state, kim, p.Presence.ONLINE)
    pre = _new_conversations(state, 3, Group.PRE_SALE, "pre")
    got = _assignees(state)
    # Lan serves after-sale only; Kim takes two, then the third stays in the pool.
    assert [got[i] for i in pre] == ["Kim", "Kim", None]
    after = _new_conversations(state, 2, Group.AFTER_SALE, "after")
    got = _assignees(state)
    assert [got[i] for i in after] == ["Lan", "Lan"]
    # Kim resolves one: a place frees, and the pool fills it.
    state.apply(
        kim,
        uuid.uuid4().hex,
        p.SetStatus(conversation_id=pre[0], status=ConversationStatus.RESOLVED),
    )
    assert _assignees(state)[pre[2]] == "Kim"


def test_nobody_online_leaves_the_pool_until_someone_comes(state: ServerState) -> None:
    lan = _agent(state, "Lan")
    ids = _new_conversations(state, 2)
    assert set(_assignees(state).values()) == {None}
    _presence(state, lan, p.Presence.AWAY)
    assert set(_assignees(state).values()) == {None}  # away takes nothing new
    _presence(state, lan, p.Presence.ONLINE)
    assert [_assignees(state)[i] for i in ids] == ["Lan", "Lan"]


def test_the_counter_survives_a_restart(tmp_path: Path, clock: Clock) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    state = ServerState(url, clock=clock)
    state.load_records({"customer": [p.CustomerRecord(id="cus-1", name="A", updated_at=START)]})
    lan, mei = _agent(state, "Lan"), _agent(state, "Mei")
    for caller in (lan, mei):
        state.set_agent_capacity(caller.name, capacity=100)
        _presence(state, caller, p.Presence.ONLINE)
    [first] = _new_conversations(state, 1, prefix="a")
    state.close()
    again = ServerState(url, clock=clock)
    try:
        [second] = _new_conversations(again, 1, prefix="b")
        got = _assignees(again)
        assert {got[first], got[second]} == {"Lan", "Mei"}
    finally:
        again.close()


def test_a_returning_customer_goes_back_to_their_agent_or_the_pool(state: ServerState) -> None:
    lan, mei = _agent(state, "Lan"), _agent(state, "Mei")
    _presence(state, lan, p.Presence.ONLINE)
    [conv] = _new_conversations(state, 1)
    assert _assignees(state)[conv] == "Lan"
    state.apply(
        lan, uuid.uuid4().hex, p.SetStatus(conversation_id=conv, status=ConversationStatus.RESOLVED)
    )
    state.add_customer_message(conv, "One more question")
    assert _assignees(state)[conv] == "Lan"  # still online: back to the same agent
    state.apply(
        lan, uuid.uuid4().hex, p.SetStatus(conversation_id=conv, status=ConversationStatus.RESOLVED)
    )
    _presence(state, lan, p.Presence.AWAY)
    _presence(state, mei, p.Presence.ONLINE)
    state.add_customer_message(conv, "Hello again")
    assert _assignees(state)[conv] == "Mei"  # Lan is away: the pool gives it to Mei


def test_offline_agents_give_conversations_back_after_the_grace_period(
    state: ServerState, clock: Clock
) -> None:
    lan, mei = _agent(state, "Lan"), _agent(state, "Mei")
    _presence(state, lan, p.Presence.ONLINE)
    ids = _new_conversations(state, 2)
    _presence(state, lan, p.Presence.OFFLINE)
    _presence(state, mei, p.Presence.ONLINE)
    clock.advance(seconds=200)
    state.heard_from(mei)  # Mei's console syncs; Lan's is closed
    state.sweep(force=True)
    assert [_assignees(state)[i] for i in ids] == ["Lan", "Lan"]  # within the grace period
    clock.advance(seconds=200)
    state.heard_from(mei)
    state.sweep(force=True)
    assert [_assignees(state)[i] for i in ids] == ["Mei", "Mei"]


def test_a_silent_console_turns_offline_and_back(state: ServerState, clock: Clock) -> None:
    lan = _agent(state, "Lan")
    _presence(state, lan, p.Presence.ONLINE)
    [conv] = _new_conversations(state, 1)
    clock.advance(seconds=301)
    state.sweep(force=True)
    agents = {a.name: a for a in state.changes(0, 10_000).agents}
    assert agents["Lan"].presence is p.Presence.OFFLINE
    clock.advance(seconds=301)
    state.sweep(force=True)
    assert _assignees(state)[conv] is None  # silent past the grace period: back in the pool
    state.heard_from(lan)  # the console syncs again
    agents = {a.name: a for a in state.changes(0, 10_000).agents}
    assert agents["Lan"].presence is p.Presence.ONLINE
    assert _assignees(state)[conv] == "Lan"


def test_a_refund_pending_near_the_deadline_makes_its_conversation_urgent(
    state: ServerState, clock: Clock
) -> None:
    [conv] = _new_conversations(state, 1)

    def order(status: OrderStatus) -> p.OrderRecord:
        return p.OrderRecord(
            id="ord-1",
            number="1001",
            customer_id="cus-1",
            status=status,
            total_minor=100,
            currency="CNY",
            placed_at=START - timedelta(hours=40),
            paid_at=START - timedelta(hours=40),
            updated_at=clock(),
        )

    def priority() -> p.Priority:
        return next(c.priority for c in state.changes(0, 10_000).conversations if c.id == conv)

    state.load_records({"order": [order(OrderStatus.REFUND_REQUESTED)]})
    assert priority() is p.Priority.NORMAL  # 8 hours before the ship-by deadline
    clock.advance(hours=2, seconds=1)
    state.sweep(force=True)
    assert priority() is p.Priority.URGENT  # under 6 hours left
    state.load_records({"order": [order(OrderStatus.REFUNDED)]})
    assert priority() is p.Priority.NORMAL  # settled: its earlier priority comes back
