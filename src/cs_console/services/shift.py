"""Starting and ending a shift: read the last handover and what is open; leave a note."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from cs_console import protocol as p
from cs_console.domain import ConversationStatus
from cs_console.services import orders
from cs_console.services.context import AgentContext
from cs_console.store import cases, handovers, kv, outbox, queue
from cs_console.views import CaseRow, OutboxRow, QueueFilter

SEEN_KEY = "handover_seen"


@dataclass(frozen=True, slots=True)
class Handover:
    """A handover note."""

    handover_id: str
    author: str
    note: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OpenItems:
    """What is still open: for the incoming shift, and for the one handing over."""

    cases: list[CaseRow]
    due_cases: list[CaseRow]
    follow_ups: list[orders.FollowUp]
    mine_waiting: int
    unassigned_waiting: int

    def lines(self) -> list[str]:
        """The items as short lines (untrusted text is sanitised by the caller)."""
        out = [
            f"{self.mine_waiting} of your conversations and {self.unassigned_waiting} unassigned "
            "ones are waiting for an answer",
            f"{len(self.cases)} open cases ({len(self.due_cases)} due for follow-up today)",
        ]
        unpaid = sum(1 for f in self.follow_ups if f.kind == "unpaid")
        late = sum(1 for f in self.follow_ups if f.kind == "ship-by")
        if unpaid:
            out.append(f"{unpaid} unpaid orders to remind")
        if late:
            out.append(f"{late} unshipped orders near the ship-by deadline")
        return out


def latest_handover(ctx: AgentContext) -> Handover | None:
    """The newest handover note, whoever wrote it."""
    found = handovers.latest(ctx.db)
    if found is None:
        return None
    author, note, created_at, handover_id = found
    return Handover(handover_id, author, note, created_at)


def unseen_handover(ctx: AgentContext) -> Handover | None:
    """The newest handover from someone else that this console has not shown yet."""
    found = latest_handover(ctx)
    if found is None or found.author == ctx.agent_name:
        return None
    if kv.get_state(ctx.db, SEEN_KEY) == found.handover_id:
        return None
    return found


def mark_seen(ctx: AgentContext, handover: Handover) -> None:
    """Do not show this handover again at start-up."""
    kv.set_state(ctx.db, {SEEN_KEY: handover.handover_id})


def open_items(ctx: AgentContext, now: datetime) -> OpenItems:
    """Open cases, what is due, orders to chase, and who is waiting."""
    open_statuses = ("open", "waiting-customer", "waiting-courier", "awaiting-approval")
    waiting = QueueFilter(status=ConversationStatus.OPEN, me=ctx.agent_name)
    return OpenItems(
        cases=cases.list_cases(ctx.db, statuses=open_statuses),
        due_cases=cases.due_by(ctx.db, now.astimezone().date()),
        follow_ups=orders.follow_ups(ctx, now),
        mine_waiting=queue.waiting_count(ctx.db, replace(waiting, scope="mine")),
        unassigned_waiting=queue.waiting_count(ctx.db, replace(waiting, scope="unassigned")),
    )


def hand_over(ctx: AgentContext, *, shift_started_at: datetime, note: str) -> OutboxRow:
    """Leave the handover note for the next shift."""
    text = note.strip()
    if not text:
        raise ValueError("a handover needs a note: what was done, what is pending")
    op = p.AddHandover(
        id="ho-" + uuid.uuid4().hex[:20], shift_started_at=shift_started_at, note=text
    )
    return outbox.record(ctx.db, op, author=ctx.agent_name)
