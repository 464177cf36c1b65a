"""Who gets a conversation: agents' presence, and the server's automatic assignment.

The rules, as Pinduoduo's weighted routing has them:

* an agent is *eligible* for a conversation when they are ``online``, active, have a
  weight above 0, serve its desk (an agent without a group serves both) and hold fewer
  open conversations than their capacity;
* the *pool* is every open, unassigned conversation whose customer is waiting; each
  goes, longest wait first, to the eligible agent a smooth weighted round robin picks
  (nginx's: deterministic, and agents of weight 3 and 1 get 3 of every 4, interleaved).
  The counters are kept in the database, so a restart does not favour anyone. With
  nobody eligible a conversation stays in the pool until someone is;
* a customer writing again in a resolved conversation goes back to its agent if they
  are eligible, else to the pool;
* an agent whose console has not been heard from for ``stale_after_s`` turns offline
  (and back to what they chose when it is heard from again); ``grace_s`` after going
  offline, their unresolved conversations go back to the pool;
* a conversation whose customer has an unshipped order with a refund or return
  requested within ``urgent_within_s`` of its ship-by deadline (or past it) is urgent
  until that is over; its earlier priority then comes back.

Every function here runs inside the caller's write transaction and puts what it
changes in the change feed, so every console sees the same assignment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from cs_console.domain import DEFAULT_SHIP_BY_HOURS, ConversationStatus, OrderStatus
from cs_console.protocol import MAX_CAPACITY, MAX_WEIGHT, Presence, Priority
from cs_console.server import conversations as convs
from cs_console.server.errors import OperationError
from cs_console.server.feed import touch
from cs_console.server.tables import AGENT_ROUTING, AUTO_URGENT
from cs_console.store.models import AGENT, CONVERSATION, ORDER

_C = CONVERSATION.c
_R = AGENT_ROUTING.c


@dataclass(frozen=True, slots=True)
class RoutingRules:
    """The server's routing settings (``cs-console serve`` options)."""

    #: An agent not heard from (no sync, no operation) for this long counts as offline.
    stale_after_s: float = 300.0
    #: How long an offline agent keeps their conversations before they go to the pool.
    grace_s: float = 300.0
    #: A pending refund this close to the ship-by deadline (or past it) is urgent.
    urgent_within_s: float = 6 * 3600.0
    ship_by_hours: int = DEFAULT_SHIP_BY_HOURS


@dataclass(slots=True)
class _Candidate:
    name: str
    group: str | None
    capacity: int
    weight: int
    current: int
    load: int


# --- presence ------------------------------------------------------------------------


def set_presence(conn: Connection, name: str, presence: Presence, now: datetime) -> bool:
    """Record the presence ``name`` chose; True if what others see changed.

    Raises:
        OperationError: 404 if there is no such agent.
    """
    agent = _agent(conn, name)
    _routing(conn, name, agent)
    values: dict[str, Any] = {"chosen": presence.value, "last_seen_at": now}
    if presence is Presence.OFFLINE and agent["presence"] != Presence.OFFLINE.value:
        values["released"] = False  # the grace period starts now
    conn.execute(update(AGENT_ROUTING).where(_R.agent_name == name).values(**values))
    return _show_presence(conn, name, agent, presence, now)


def heard_from(conn: Connection, name: str, now: datetime) -> bool:
    """``name``'s console synced or pushed: keep them present, and bring back the presence
    they chose if silence had turned them offline. True if what others see changed."""
    agent = _agent(conn, name)
    routing = _routing(conn, name, agent)
    conn.execute(update(AGENT_ROUTING).where(_R.agent_name == name).values(last_seen_at=now))
    chosen = Presence(routing["chosen"])
    if agent["presence"] == Presence.OFFLINE.value and chosen is not Presence.OFFLINE:
        return _show_presence(conn, name, agent, chosen, now)
    return False


def set_capacity(
    conn: Connection, name: str, capacity: int | None, weight: int | None
) -> tuple[int, int]:
    """A supervisor changes how many open conversations ``name`` takes at most and their
    share of new ones; returns both as they now are.

    Raises:
        OperationError: 404 if there is no such agent, 422 for a value out of range.
    """
    agent = _agent(conn, name)
    values: dict[str, Any] = {}
    if capacity is not None:
        if not 0 <= capacity <= MAX_CAPACITY:
            raise OperationError(422, f"capacity is a whole number from 0 to {MAX_CAPACITY}")
        values["capacity"] = capacity
    if weight is not None:
        if not 0 <= weight <= MAX_WEIGHT:
            raise OperationError(422, f"weight is a whole number from 0 to {MAX_WEIGHT}")
        values["weight"] = weight
    if values:
        conn.execute(update(AGENT).where(AGENT.c.name == name).values(**values))
        touch(conn, "agent", name)
    merged = dict(agent) | values
    return int(merged["capacity"]), int(merged["weight"])


def expire(conn: Connection, now: datetime, rules: RoutingRules) -> int:
    """Silent agents turn offline; offline agents past the grace period give their
    unresolved conversations back to the pool. Returns how many conversations went back."""
    silent_since = now - timedelta(seconds=rules.stale_after_s)
    silent = conn.execute(
        select(AGENT.c.name)
        .select_from(AGENT.outerjoin(AGENT_ROUTING, _R.agent_name == AGENT.c.name))
        .where(
            AGENT.c.presence != Presence.OFFLINE.value,
            or_(_R.last_seen_at.is_(None), _R.last_seen_at < silent_since),
        )
    ).all()
    for (name,) in silent:
        agent = _agent(conn, name)
        _routing(conn, name, agent)
        conn.execute(update(AGENT_ROUTING).where(_R.agent_name == name).values(released=False))
        _show_presence(conn, name, agent, Presence.OFFLINE, now)
    grace_over = now - timedelta(seconds=rules.grace_s)
    gone = conn.execute(
        select(AGENT.c.name)
        .select_from(AGENT.join(AGENT_ROUTING, _R.agent_name == AGENT.c.name))
        .where(
            AGENT.c.presence == Presence.OFFLINE.value,
            AGENT.c.presence_since <= grace_over,
            _R.released.is_(False),
        )
    ).all()
    released = 0
    for (name,) in gone:
        rows = (
            conn.execute(
                select(CONVERSATION).where(
                    _C.assignee == name, _C.status != ConversationStatus.RESOLVED.value
                )
            )
            .mappings()
            .all()
        )
        for conv in rows:
            convs.update_row(conn, conv, {"assignee": None, "updated_at": now})
        released += len(rows)
        conn.execute(update(AGENT_ROUTING).where(_R.agent_name == name).values(released=True))
    return released


# --- assignment ----------------------------------------------------------------------


def customer_returned(conn: Connection, conv: Any, now: datetime) -> None:
    """A customer wrote again in ``conv`` (its row as it was before): a resolved
    conversation goes back to its agent if they are eligible, else to the pool."""
    if conv["status"] != ConversationStatus.RESOLVED.value or conv["assignee"] is None:
        return
    owner = next((c for c in _candidates(conn) if c.name == conv["assignee"]), None)
    if owner is not None and _serves(owner, conv["group"]) and owner.load < owner.capacity:
        return
    fresh = convs.find(conn, conv["id"])
    convs.update_row(conn, fresh, {"assignee": None, "updated_at": now})


def assign_pool(conn: Connection, now: datetime) -> list[tuple[str, str]]:
    """Give every waiting conversation in the pool, longest wait first, to an eligible
    agent; returns (conversation id, agent) for each assignment made."""
    candidates = _candidates(conn)
    if not candidates:
        return []
    pool = (
        conn.execute(
            select(CONVERSATION)
            .where(
                _C.status == ConversationStatus.OPEN.value,
                _C.assignee.is_(None),
                _C.waiting_since.is_not(None),
            )
            .order_by(_C.queue_rank, _C.id)
        )
        .mappings()
        .all()
    )
    made: list[tuple[str, str]] = []
    for conv in pool:
        chosen = pick(candidates, conv["group"])
        if chosen is None:
            continue
        chosen.load += 1
        convs.update_row(conn, conv, {"assignee": chosen.name, "updated_at": now})
        made.append((conv["id"], chosen.name))
    for candidate in candidates:
        conn.execute(
            update(AGENT_ROUTING)
            .where(_R.agent_name == candidate.name)
            .values(wrr_current=candidate.current)
        )
    return made


def pick(candidates: Iterable[_Candidate], group: str) -> _Candidate | None:
    """Smooth weighted round robin among the candidates that can take a conversation of
    ``group`` now: each gains its weight, the highest (the first by name on a tie) wins
    and gives back the round's total. Changes the candidates' counters."""
    able = [c for c in candidates if c.weight > 0 and c.load < c.capacity and _serves(c, group)]
    if not able:
        return None
    total = 0
    for candidate in able:
        candidate.current += candidate.weight
        total += candidate.weight
    best = able[0]
    for candidate in able[1:]:
        if candidate.current > best.current:
            best = candidate
    best.current -= total
    return best


def _serves(candidate: _Candidate, group: str) -> bool:
    return candidate.group is None or candidate.group == group


def _candidates(conn: Connection) -> list[_Candidate]:
    """Online, active agents by name, with their open conversations counted."""
    load = (
        select(_C.assignee, func.count().label("n"))
        .where(_C.status == ConversationStatus.OPEN.value, _C.assignee.is_not(None))
        .group_by(_C.assignee)
        .subquery()
    )
    rows = conn.execute(
        select(
            AGENT.c.name,
            AGENT.c.group,
            AGENT.c.capacity,
            AGENT.c.weight,
            func.coalesce(_R.wrr_current, 0),
            func.coalesce(load.c.n, 0),
        )
        .select_from(
            AGENT.outerjoin(AGENT_ROUTING, _R.agent_name == AGENT.c.name).outerjoin(
                load, load.c.assignee == AGENT.c.name
            )
        )
        .where(AGENT.c.presence == Presence.ONLINE.value, AGENT.c.active.is_(True))
        .order_by(AGENT.c.name)
    ).all()
    return [_Candidate(str(r[0]), r[1], int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]


# --- priority ------------------------------------------------------------------------

_REFUND_PENDING = (OrderStatus.REFUND_REQUESTED.value, OrderStatus.RETURN_REQUESTED.value)


def refresh_urgency(conn: Connection, now: datetime, rules: RoutingRules) -> int:
    """Raise to urgent the unresolved conversations of customers with a refund pending
    near its ship-by deadline, and let those whose refund is no longer pending go back
    to their earlier priority. Returns how many conversations changed."""
    ship_by = timedelta(hours=rules.ship_by_hours)
    within = timedelta(seconds=rules.urgent_within_s)
    customers: set[str] = set()
    for customer_id, placed, paid, formed in conn.execute(
        select(
            ORDER.c.customer_id, ORDER.c.placed_at, ORDER.c.paid_at, ORDER.c.group_formed_at
        ).where(ORDER.c.status.in_(_REFUND_PENDING), ORDER.c.shipped_at.is_(None))
    ):
        # The clock starts when the group forms on group-buy orders, else at payment.
        started = formed or paid or placed
        if started + ship_by - now <= within:
            customers.add(str(customer_id))
    urgent: dict[str, Any] = {}
    if customers:
        for conv in (
            conn.execute(
                select(CONVERSATION).where(
                    _C.customer_id.in_(sorted(customers)),
                    _C.status != ConversationStatus.RESOLVED.value,
                )
            )
            .mappings()
            .all()
        ):
            urgent[conv["id"]] = conv
    raised = {str(r[0]): str(r[1]) for r in conn.execute(select(AUTO_URGENT)).all()}
    changed = 0
    for conversation_id, conv in urgent.items():
        if conversation_id in raised or conv["priority"] == Priority.URGENT.value:
            continue
        conn.execute(
            insert(AUTO_URGENT).values(conversation_id=conversation_id, previous=conv["priority"])
        )
        convs.update_row(conn, conv, {"priority": Priority.URGENT.value, "updated_at": now})
        changed += 1
    for conversation_id, previous in raised.items():
        if conversation_id in urgent:
            continue
        conn.execute(delete(AUTO_URGENT).where(AUTO_URGENT.c.conversation_id == conversation_id))
        row = conn.execute(select(CONVERSATION).where(_C.id == conversation_id)).mappings().first()
        if row is not None and row["priority"] == Priority.URGENT.value:
            convs.update_row(conn, row, {"priority": previous, "updated_at": now})
            changed += 1
    return changed


def set_priority(conn: Connection, conversation_id: str, priority: Priority, now: datetime) -> None:
    """An agent sets a conversation's priority; the server's own "urgent" is forgotten
    (it comes back at the next check if the refund is still pending near its deadline).

    Raises:
        OperationError: 404 if there is no such conversation.
    """
    conv = convs.find(conn, conversation_id)
    conn.execute(delete(AUTO_URGENT).where(AUTO_URGENT.c.conversation_id == conversation_id))
    convs.update_row(conn, conv, {"priority": priority.value, "updated_at": now})


# --- helpers -------------------------------------------------------------------------


def _agent(conn: Connection, name: str) -> Any:
    row = conn.execute(select(AGENT).where(AGENT.c.name == name)).mappings().first()
    if row is None:
        raise OperationError(404, f"no agent named {name}")
    return row


def _routing(conn: Connection, name: str, agent: Any) -> Any:
    row = conn.execute(select(AGENT_ROUTING).where(_R.agent_name == name)).mappings().first()
    if row is None:
        conn.execute(
            insert(AGENT_ROUTING).values(
                agent_name=name,
                chosen=agent["presence"],
                last_seen_at=None,
                wrr_current=0,
                released=True,
            )
        )
        row = conn.execute(select(AGENT_ROUTING).where(_R.agent_name == name)).mappings().one()
    return row


def _show_presence(
    conn: Connection, name: str, agent: Any, presence: Presence, now: datetime
) -> bool:
    if agent["presence"] == presence.value:
        return False
    conn.execute(
        update(AGENT)
        .where(AGENT.c.name == name)
        .values(presence=presence.value, presence_since=now)
    )
    touch(conn, "agent", name)
    return True
