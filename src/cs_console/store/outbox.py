"""The outbox: operations in the order the agent made them, each with its idempotency key.

Life of an entry: ``pending`` (written with its local effect, in one transaction) →
an attempt is recorded *before* each request → ``done`` when the backend answered, or
``failed`` when it refused for good (the agent may retry it, same key). An entry
whose ``not_before`` lies ahead is inside its undo window and can still be taken back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import TypeAdapter
from sqlalchemy import Connection, delete, func, insert, select, update

from cs_console import protocol as p
from cs_console.domain import DeliveryState, MessageKind
from cs_console.store import attachments
from cs_console.store.db import Database
from cs_console.store.local_apply import (
    apply_locally,
    mark_delivery,
    rerank,
    revert_remark,
    revert_send,
)
from cs_console.store.models import CONVERSATION, MESSAGE, OUTBOX, SYNC_STATE
from cs_console.timeutil import format_stored, parse_stored, utcnow
from cs_console.views import OutboxRow

_O = OUTBOX.c
_OPERATION: TypeAdapter[p.Operation] = TypeAdapter(p.Operation)

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True, slots=True)
class ReadyEntry:
    """An entry the sync engine may push now."""

    seq: int
    key: str
    operation: p.Operation
    attempts: int


def _row(r: tuple[object, ...]) -> OutboxRow:
    return OutboxRow(
        seq=int(r[0]),  # type: ignore[call-overload]
        key=str(r[1]),
        kind=str(r[2]),
        conversation_id=r[3],  # type: ignore[arg-type]
        created_at=r[4],  # type: ignore[arg-type]
        not_before=r[5],  # type: ignore[arg-type]
        attempts=int(r[6]),  # type: ignore[call-overload]
        state=str(r[7]),
        last_error=r[8],  # type: ignore[arg-type]
    )


def _conversation_of(op: p.Operation) -> str | None:
    return getattr(op, "conversation_id", None)


def record(
    db: Database,
    op: p.Operation,
    *,
    author: str,
    undo_seconds: float = 0.0,
    files: Mapping[str, str] | None = None,
) -> OutboxRow:
    """Apply ``op`` locally and queue it for the backend, atomically.

    ``files``: attachment id -> the path of the copy the outbox owns from now on (a
    message's files, copied before: a crash after this commit loses none)."""
    now = utcnow()
    key = uuid.uuid4().hex
    not_before = now + timedelta(seconds=max(undo_seconds, 0.0))
    with db.write() as conn:
        _keep_before(conn, key, op)
        apply_locally(conn, op, author=author, now=now)
        if files:
            attachments.set_local_paths(conn, files)
        seq = conn.execute(
            insert(OUTBOX).values(
                key=key,
                kind=op.op,
                payload=op.model_dump_json(),
                conversation_id=_conversation_of(op),
                created_at=now,
                not_before=not_before,
                attempts=0,
                state=PENDING,
            )
        ).inserted_primary_key
    assert seq is not None
    return OutboxRow(
        int(seq[0]), key, op.op, _conversation_of(op), now, not_before, 0, PENDING, None
    )


def undo(db: Database, key: str, *follow_keys: str) -> bool:
    """Take back an entry still inside its undo window, with the entries queued behind
    it (a quick reply's actions), in one transaction: the store is left exactly as it
    was before them. False, and nothing changed, if the first one is too late."""
    copies: list[str] = []
    with db.write() as conn:
        now = utcnow()
        undoable = (_O.state == PENDING) & (_O.attempts == 0) & (_O.not_before > now)
        found = conn.execute(select(_O.payload).where(_O.key == key, undoable)).first()
        if found is None:
            return False
        taken = [(key, found[0])]
        for follow in follow_keys:
            row = conn.execute(select(_O.payload).where(_O.key == follow, undoable)).first()
            if row is not None:
                taken.append((follow, row[0]))
        # Newest first: each one's "before" was kept after the earlier ones had applied.
        for entry_key, payload in reversed(taken):
            op = _OPERATION.validate_json(payload)
            if isinstance(op, p.SendMessage):
                copies.extend(revert_send(conn, op))
            elif isinstance(op, p.AddRemark):
                revert_remark(conn, op)
            _restore_before(conn, entry_key, op)
            conn.execute(delete(OUTBOX).where(_O.key == entry_key))
    # Only once the undo is committed: a crash before leaves the files the entry needs.
    for copy in copies:
        with suppress(OSError):
            Path(copy).unlink()
    return True


def ready(db: Database, *, now: datetime | None = None, limit: int = 100) -> list[ReadyEntry]:
    """Pending entries that may go now, oldest first.

    An entry still in its undo window holds back later entries of the same
    conversation (their order must hold) but not other conversations' entries."""
    now = now or utcnow()
    with db.read() as conn:
        rows = conn.execute(
            select(_O.seq, _O.key, _O.payload, _O.conversation_id, _O.not_before, _O.attempts)
            .where(_O.state == PENDING)
            .order_by(_O.seq)
            .limit(limit)
        ).all()
    held: set[str | None] = set()
    out: list[ReadyEntry] = []
    for seq, key, payload, conversation_id, not_before, attempts in rows:
        if conversation_id in held and conversation_id is not None:
            continue
        if not_before > now:
            held.add(conversation_id)
            continue
        out.append(ReadyEntry(seq, key, _OPERATION.validate_json(payload), attempts))
    return out


def begin_attempt(db: Database, key: str) -> bool:
    """Count an attempt before the request goes out; False if the entry is gone (undone)."""
    with db.write() as conn:
        result = conn.execute(
            update(OUTBOX)
            .where(_O.key == key, _O.state == PENDING)
            .values(attempts=_O.attempts + 1)
        )
        return bool(result.rowcount)


def complete(db: Database, entry: ReadyEntry, *, remote_id: str | None = None) -> None:
    """The backend has the operation: mark it done and its message sent.

    ``remote_id``: the id the backend gave a sent message when it does not keep ours
    (Chatwoot). Our local copy takes that id, so the copy pulled back later is the same
    row and the thread never shows the reply twice, whenever the pull comes.
    """
    with db.write() as conn:
        conn.execute(update(OUTBOX).where(_O.key == entry.key).values(state=DONE, last_error=None))
        mark_delivery(conn, entry.operation, DeliveryState.SENT)
        conn.execute(delete(SYNC_STATE).where(SYNC_STATE.c.key == _BEFORE + entry.key))
        op = entry.operation
        if isinstance(op, p.SendMessage) and remote_id and remote_id != op.id:
            _adopt_remote_id(conn, op.id, remote_id)


#: sync_state key prefix: a conversation's fields as they were before a status or
#: assignment change, so that a change the backend refuses for good (an agent taking a
#: colleague's chat: 403) does not leave the console showing what never happened.
_BEFORE = "before:"
_BEFORE_FIELDS: dict[type[p.Record], tuple[str, ...]] = {
    p.SetStatus: ("status", "snoozed_until"),
    p.Assign: ("assignee", "group"),
    # A reply stops the customer's waiting clock at once; undone or refused, the clock
    # (and so their place at the top of the queue) comes back.
    p.SendMessage: ("waiting_since", "unread_count"),
}
_TIME_FIELDS = ("snoozed_until", "waiting_since")


def _keep_before(conn: Connection, key: str, op: p.Operation) -> None:
    names = _BEFORE_FIELDS.get(type(op))
    conversation_id = _conversation_of(op)
    if names is None or conversation_id is None:
        return
    if isinstance(op, p.SendMessage) and op.kind is not MessageKind.AGENT:
        return  # a note changes nothing about the conversation
    c = CONVERSATION.c
    row = conn.execute(select(*(c[name] for name in names)).where(c.id == conversation_id)).first()
    if row is None:
        return
    before = {"id": conversation_id, **{n: _jsonable(v) for n, v in zip(names, row, strict=True)}}
    conn.execute(insert(SYNC_STATE).values(key=_BEFORE + key, value=json.dumps(before)))


def _jsonable(value: object) -> object:
    return format_stored(value) if isinstance(value, datetime) else value


def _restore_before(conn: Connection, key: str, op: p.Operation) -> None:
    found = conn.execute(
        select(SYNC_STATE.c.value).where(SYNC_STATE.c.key == _BEFORE + key)
    ).first()
    if found is None:
        return
    before = json.loads(found[0])
    conversation_id = before.pop("id")
    for name in _TIME_FIELDS:
        if before.get(name) is not None:
            before[name] = parse_stored(before[name])
    c = CONVERSATION.c
    if isinstance(op, p.SendMessage):
        # Messages may have been pulled in meanwhile: keep the larger unread count.
        current = conn.execute(select(c.unread_count).where(c.id == conversation_id)).first()
        if current is not None:
            before["unread_count"] = max(int(before["unread_count"]), int(current[0]))
    conn.execute(update(CONVERSATION).where(c.id == conversation_id).values(**before))
    conn.execute(delete(SYNC_STATE).where(SYNC_STATE.c.key == _BEFORE + key))
    if isinstance(op, p.SendMessage):
        rerank(conn, conversation_id)


def _adopt_remote_id(conn: Connection, local_id: str, remote_id: str) -> None:
    m = MESSAGE.c
    if conn.execute(select(m.id).where(m.id == remote_id)).first() is not None:
        # Already pulled (another console of ours synced it first): keep that one.
        conn.execute(delete(MESSAGE).where(m.id == local_id))
        attachments.remove_for_message(conn, local_id)
    else:
        conn.execute(update(MESSAGE).where(m.id == local_id).values(id=remote_id))
        attachments.move_to_message(conn, local_id, remote_id)


def fail(db: Database, entry: ReadyEntry, error: str, *, permanent: bool) -> None:
    """Note an error; a permanent one stops the entry (and marks its message failed)."""
    with db.write() as conn:
        conn.execute(
            update(OUTBOX)
            .where(_O.key == entry.key)
            .values(state=FAILED if permanent else PENDING, last_error=error[:500])
        )
        if permanent:
            mark_delivery(conn, entry.operation, DeliveryState.FAILED)
            _restore_before(conn, entry.key, entry.operation)


def retry(db: Database, key: str) -> bool:
    """Put a failed entry back in the queue with the same key."""
    with db.write() as conn:
        found = conn.execute(select(_O.payload).where(_O.key == key, _O.state == FAILED)).first()
        if found is None:
            return False
        conn.execute(update(OUTBOX).where(_O.key == key).values(state=PENDING, last_error=None))
        mark_delivery(conn, _OPERATION.validate_json(found[0]), DeliveryState.QUEUED)
    return True


def key_for_message(db: Database, message_id: str) -> str | None:
    """The outbox key that carries the message ``message_id`` (for undo and retry)."""
    with db.read() as conn:
        rows = conn.execute(
            select(_O.key, _O.payload).where(_O.kind == "send_message", _O.state != DONE)
        ).all()
    for key, payload in rows:
        op = _OPERATION.validate_json(payload)
        if isinstance(op, p.SendMessage) and op.id == message_id:
            return str(key)
    return None


def entries(db: Database, *, include_done: bool = False, limit: int = 1000) -> list[OutboxRow]:
    """The outbox as a list, oldest first."""
    stmt = (
        select(
            _O.seq,
            _O.key,
            _O.kind,
            _O.conversation_id,
            _O.created_at,
            _O.not_before,
            _O.attempts,
            _O.state,
            _O.last_error,
        )
        .order_by(_O.seq)
        .limit(limit)
    )
    if not include_done:
        stmt = stmt.where(_O.state != DONE)
    with db.read() as conn:
        return [_row(tuple(r)) for r in conn.execute(stmt).all()]


def depth(db: Database) -> int:
    """How many entries still wait to go (pending ones)."""
    with db.read() as conn:
        stmt = select(func.count()).select_from(OUTBOX).where(_O.state == PENDING)
        return int(conn.execute(stmt).scalar_one())
