"""What an agent does in a conversation: read it, reply, note, claim, transfer, resolve."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, FlagColour, Group, MessageKind
from cs_console.i18n import N_
from cs_console.replies.library import ReplyAction
from cs_console.sanitize import sanitize
from cs_console.services.context import AgentContext, StoreError
from cs_console.services.events import ReplyQueued
from cs_console.store import agents, kv, outbox, threads
from cs_console.timeutil import utcnow
from cs_console.views import ConversationInfo, MessageRow, OutboxRow

REPLY, NOTE = "reply", "note"

#: Why a reply in an email conversation cannot go: the server sends it to the customer's
#: address, and without one it would accept the reply and send nothing. (Marked for the
#: catalogues: the console shows it translated, before the agent tries to send.)
NO_EMAIL_ADDRESS = N_("no email address: this reply cannot be sent")


class ActionError(Exception):
    """The action cannot be done; the message is for the agent."""


@dataclass(frozen=True, slots=True)
class Queued:
    """The reply is in the outbox (undoable until ``entry.not_before``)."""

    entry: OutboxRow
    message_id: str
    body: str
    note: bool
    #: Outbox keys of the reply's actions (status, transfer, remark): undone with it.
    follow_keys: tuple[str, ...] = ()
    #: A case category the reply asks to open (the UI opens the form).
    open_case: str | None = None


@dataclass(frozen=True, slots=True)
class NewActivity:
    """Sending stopped: these arrived since the agent last looked."""

    messages: list[MessageRow]


def cannot_reply(info: ConversationInfo) -> str | None:
    """Why a reply (not a note) in this conversation would never reach the customer, in
    English (the UI translates it with ``_``); None when it can go."""
    if info.is_email and not (info.customer_email or "").strip():
        return NO_EMAIL_ADDRESS
    return None


def check_can_reply(ctx: AgentContext, conversation_id: str, *, note: bool) -> None:
    """Refuse a message that could not be delivered: no such conversation, or a reply
    (a note is always fine) with nowhere to go (:func:`cannot_reply`).

    Raises:
        ActionError: saying why.
    """
    current = threads.conversation_info(ctx.db, conversation_id)
    if current is None:
        raise ActionError("no such conversation")
    refused = None if note else cannot_reply(current)
    if refused is not None:
        raise ActionError(refused)


def info(ctx: AgentContext, conversation_id: str) -> ConversationInfo | None:
    """The conversation's header (customer, status, assignee)."""
    return threads.conversation_info(ctx.db, conversation_id)


def messages(
    ctx: AgentContext, conversation_id: str, limit: int = 200, *, before_seq: int | None = None
) -> list[MessageRow]:
    """The newest ``limit`` messages (or those before ``before_seq``), oldest first."""
    return threads.latest_messages(ctx.db, conversation_id, limit, before_seq=before_seq)


def mark_seen(ctx: AgentContext, conversation_id: str, seq: int) -> None:
    """The agent has had messages up to ``seq`` on screen."""
    if seq > threads.seen_marker(ctx.db, conversation_id):
        kv.set_seen(ctx.db, conversation_id, seq)


def unseen(ctx: AgentContext, conversation_id: str) -> list[MessageRow]:
    """Customer messages and other agents' replies the agent has not had on screen."""
    seen = threads.seen_marker(ctx.db, conversation_id)
    return threads.arrived_since(ctx.db, conversation_id, seen, ctx.agent_name)


def send(
    ctx: AgentContext,
    conversation_id: str,
    body: str,
    *,
    note: bool = False,
    force: bool = False,
    undo_seconds: float | None = None,
    actions: Sequence[ReplyAction] = (),
    order_id: str | None = None,
) -> Queued | NewActivity:
    """Queue a reply (or an internal note). Unless ``force``, a reply stops and returns
    :class:`NewActivity` when something arrived that the agent has not seen: two agents
    answering one chat, or answering again after a reconnect, is the commonest slip.
    A reply waits ``undo_seconds`` (default: the agent's setting) before it may leave.
    Quick-reply ``actions`` are queued behind it with the same window, so an undo takes
    them back too; ``order_id`` is the order an ``add_remark`` action flags."""
    text = body.strip("\n")
    if not text.strip():
        raise ActionError("nothing to send")
    if len(text) > p.MAX_BODY_CHARS:
        raise ActionError(f"too long: {len(text)} characters, the limit is {p.MAX_BODY_CHARS}")
    check_can_reply(ctx, conversation_id, note=note)
    if not note and not force:
        fresh = unseen(ctx, conversation_id)
        if fresh:
            return NewActivity(fresh)
    message_id = uuid.uuid4().hex
    op = p.SendMessage(
        id=message_id,
        conversation_id=conversation_id,
        kind=MessageKind.NOTE if note else MessageKind.AGENT,
        body=text,
    )
    window = ctx.settings.shift.undo_seconds if undo_seconds is None else undo_seconds
    entry = outbox.record(ctx.db, op, author=ctx.agent_name, undo_seconds=0.0 if note else window)
    follow_keys: list[str] = []
    open_case: str | None = None
    for action in actions:
        follow = _action_operation(conversation_id, action, order_id)
        if isinstance(follow, str):
            open_case = follow
        elif follow is not None:
            follow_keys.append(
                outbox.record(ctx.db, follow, author=ctx.agent_name, undo_seconds=window).key
            )
    # The reply is queued: a failure from here on must not report it as unsent.
    with suppress(StoreError):
        kv.set_draft(ctx.db, conversation_id, NOTE if note else REPLY, "")
        mark_seen(ctx, conversation_id, threads.newest_seq(ctx.db, conversation_id))
    ctx.tell(ReplyQueued(conversation_id, message_id))
    return Queued(
        entry=entry,
        message_id=message_id,
        body=text,
        note=note,
        follow_keys=tuple(follow_keys),
        open_case=open_case,
    )


def _action_operation(
    conversation_id: str, action: ReplyAction, order_id: str | None
) -> p.Operation | str | None:
    """The operation a quick reply's action stands for (a case category for open_case;
    None when it cannot apply, e.g. a remark with no order selected)."""
    params = action.params
    if action.kind == "set_status":
        if "snooze_minutes" in params:
            until = utcnow() + timedelta(minutes=int(params["snooze_minutes"]))
            return p.SetStatus(
                conversation_id=conversation_id,
                status=ConversationStatus.SNOOZED,
                snoozed_until=until,
            )
        return p.SetStatus(
            conversation_id=conversation_id, status=ConversationStatus(str(params["status"]))
        )
    if action.kind == "transfer":
        return p.Assign(
            conversation_id=conversation_id, assignee=None, group=Group(str(params["group"]))
        )
    if action.kind == "add_remark" and order_id is not None:
        return p.AddRemark(
            id=uuid.uuid4().hex,
            order_id=order_id,
            flag=FlagColour(str(params["flag"])),
            text=str(params["text"]),
        )
    if action.kind == "open_case":
        return str(params["category"])
    return None


def undo(ctx: AgentContext, queued: Queued) -> bool:
    """Take a reply back while it is still in its undo window; the text goes back to
    draft so nothing typed is lost."""
    taken = outbox.undo(ctx.db, queued.entry.key, *queued.follow_keys)
    if taken:
        mode = NOTE if queued.note else REPLY
        # Whatever the agent typed meanwhile stays, after the reply taken back.
        typed = kv.get_draft(ctx.db, queued.entry.conversation_id or "", mode)
        body = queued.body + ("\n" + typed if typed.strip() else "")
        kv.set_draft(ctx.db, queued.entry.conversation_id or "", mode, body)
    return taken


def retry(ctx: AgentContext, message_id: str) -> bool:
    """Send a failed message again (same idempotency key)."""
    key = outbox.key_for_message(ctx.db, message_id)
    return key is not None and outbox.retry(ctx.db, key)


def _record(ctx: AgentContext, op: p.Operation) -> OutboxRow:
    return outbox.record(ctx.db, op, author=ctx.agent_name)


def claim(ctx: AgentContext, conversation_id: str) -> OutboxRow:
    """Assign the conversation to myself."""
    current = threads.conversation_info(ctx.db, conversation_id)
    if current is None:
        raise ActionError("no such conversation")
    if current.assignee not in (None, ctx.agent_name) and not ctx.is_supervisor:
        raise ActionError(f"{current.assignee} has it; only a supervisor can take it over")
    return _record(ctx, p.Assign(conversation_id=conversation_id, assignee=ctx.agent_name))


def transfer(
    ctx: AgentContext, conversation_id: str, *, group: Group | None = None, agent: str | None = None
) -> OutboxRow:
    """Hand the conversation to a group (unassigned there) or to an agent."""
    if group is None and agent is None:
        raise ActionError("transfer to a group or an agent")
    return _record(ctx, p.Assign(conversation_id=conversation_id, assignee=agent, group=group))


def set_status(
    ctx: AgentContext, conversation_id: str, status: ConversationStatus, *, snooze_minutes: int = 0
) -> OutboxRow:
    """Resolve, reopen, mark pending, or snooze for ``snooze_minutes``."""
    until = None
    if status is ConversationStatus.SNOOZED:
        if snooze_minutes <= 0:
            raise ActionError("snooze for how long?")
        until = utcnow() + timedelta(minutes=snooze_minutes)
    return _record(
        ctx, p.SetStatus(conversation_id=conversation_id, status=status, snoozed_until=until)
    )


def mark_read(ctx: AgentContext, conversation_id: str) -> OutboxRow | None:
    """Clear the unread count (only queues an operation when there is something unread)."""
    current = threads.conversation_info(ctx.db, conversation_id)
    if current is None or current.unread_count == 0:
        return None
    return _record(ctx, p.MarkRead(conversation_id=conversation_id))


def draft(ctx: AgentContext, conversation_id: str, mode: str) -> str:
    """The saved draft for this conversation and mode, sanitised: a draft saved by an
    older version could hold a quick reply's escape sequences, replayed at every start."""
    return sanitize(kv.get_draft(ctx.db, conversation_id, mode))


def save_draft(ctx: AgentContext, conversation_id: str, mode: str, body: str) -> None:
    """Save (or clear) the draft."""
    kv.set_draft(ctx.db, conversation_id, mode, body)


def outbox_entries(ctx: AgentContext) -> list[OutboxRow]:
    """What is still on its way."""
    return outbox.entries(ctx.db)


def agent_names(ctx: AgentContext) -> list[str]:
    """Agents a conversation can be transferred to."""
    return agents.active_agent_names(ctx.db)
