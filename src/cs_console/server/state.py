"""The reference server's data and rules: agents and tokens, the change feed, and the
operations agents push (applied once per idempotency key).

Any SQLAlchemy URL works; SQLite by default (the file and its -wal and -shm owner-only).
Writes are serialised in-process so the change feed's sequence numbers commit in order
(a client's cursor never skips a change that commits late): run one server process per
database.

The rules live in their own modules: money (``money.py``), agent accounts
(``agents.py``) and the protocol's size limits (``limits.py``). Snoozed conversations
wake here, lazily: every change-feed read and every operation first wakes those whose
time has come, so no one can see a conversation still snoozed after its time, and no
timer thread needs managing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    func,
    insert,
    select,
    update,
)
from sqlmodel import SQLModel

from cs_console import protocol as p
from cs_console.domain import (
    DEFAULT_AUTHORITY_LIMIT_MINOR,
    CaseStatus,
    ConversationStatus,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
    Role,
)
from cs_console.money import format_money
from cs_console.server import agents, limits, money
from cs_console.server.agents import LOCAL_ADMIN, AuditEntry, Keep, hash_token
from cs_console.server.errors import OperationError
from cs_console.server.feed import touch
from cs_console.server.tables import create_rule_tables
from cs_console.store import convert
from cs_console.store.db import configure_sqlite
from cs_console.store.models import (
    AGENT,
    API_TOKEN,
    CASE,
    CASE_EVENT,
    CHANGE,
    CONVERSATION,
    CUSTOMER,
    HANDOVER,
    IDEMPOTENCY,
    MESSAGE,
    ORDER,
    ORDER_EVENT,
    ORDER_REMARK,
    SERVER_META,
    SERVER_TABLES,
    SHOP_REPLY,
    UTCDateTime,
    table_of,
)
from cs_console.timeutil import utcnow

_OPERATION: TypeAdapter[p.Operation] = TypeAdapter(p.Operation)

# entity name in the change feed -> (table, record model, page field)
ENTITIES: dict[str, tuple[Any, type[p.Record], str]] = {
    "agent": (AGENT, p.AgentRecord, "agents"),
    "customer": (CUSTOMER, p.CustomerRecord, "customers"),
    "conversation": (CONVERSATION, p.ConversationRecord, "conversations"),
    "message": (MESSAGE, p.MessageRecord, "messages"),
    "order": (ORDER, p.OrderRecord, "orders"),
    "order_event": (ORDER_EVENT, p.OrderEventRecord, "order_events"),
    "remark": (ORDER_REMARK, p.RemarkRecord, "remarks"),
    "case": (CASE, p.CaseRecord, "cases"),
    "case_event": (CASE_EVENT, p.CaseEventRecord, "case_events"),
    "handover": (HANDOVER, p.HandoverRecord, "handovers"),
    "reply": (SHOP_REPLY, p.ReplyRecord, "replies"),
}
_KEY_COLUMN = {"agent": "name"}


_PRIVATE = 0o600


class FeedError(Exception):
    """A stored row the change feed cannot carry even cut to size (a broken enum, a
    bad id): the feed stops there, loudly, naming the row."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated agent making a request."""

    name: str
    role: Role


class ServerState:
    """Everything the HTTP layer needs, over one database."""

    def __init__(
        self, url: str, *, authority_limit_minor: int = DEFAULT_AUTHORITY_LIMIT_MINOR
    ) -> None:
        self.authority_limit_minor = authority_limit_minor
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            _private_sqlite_file(self.engine)
            configure_sqlite(self.engine)
        SQLModel.metadata.create_all(self.engine, tables=[table_of(t) for t in SERVER_TABLES])
        create_rule_tables(self.engine)
        self._write_lock = threading.Lock()
        with self.write() as conn:
            found = conn.execute(
                select(SERVER_META.c.value).where(SERVER_META.c.key == "server_id")
            ).first()
            if found is None:
                self.server_id = uuid.uuid4().hex
                conn.execute(insert(SERVER_META).values(key="server_id", value=self.server_id))
            else:
                self.server_id = str(found[0])

    def close(self) -> None:
        """Release the database."""
        self.engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A serialised write transaction."""
        with self._write_lock, self.engine.connect() as raw:
            conn = raw.execution_options(cs_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # --- agents and tokens ------------------------------------------------------

    def add_agent(self, name: str, role: Role, group: str | None, *, by: str = LOCAL_ADMIN) -> str:
        """Create an agent and return its token, once (stored hashed).

        Raises:
            OperationError: 422 for a bad name (blank, control characters, ...), 409 if
                the agent exists: use :meth:`rotate_token`, :meth:`set_agent_role` or
                :meth:`enable_agent` to change one.
        """
        try:
            checked = Group(group) if group is not None else None
        except ValueError:
            raise OperationError(422, f"no group {group!r}: pre-sale or after-sale") from None
        with self.write() as conn:
            return agents.create(conn, by, name, role, checked, utcnow())

    def rotate_token(self, name: str, *, by: str = LOCAL_ADMIN) -> str:
        """A new token for an existing agent (the old one stops working).

        Raises:
            OperationError: 404 if there is no such agent.
        """
        with self.write() as conn:
            return agents.rotate_token(conn, by, name, utcnow())

    def revoke_agent(self, name: str, *, by: str = LOCAL_ADMIN) -> bool:
        """Revoke an agent's token; False if there is no such agent."""
        with self.write() as conn:
            return agents.revoke(conn, by, name, utcnow())

    def enable_agent(self, name: str, *, by: str = LOCAL_ADMIN) -> str:
        """Turn a revoked agent back on, with a new token returned once.

        Raises:
            OperationError: 404 if there is no such agent, 409 if it is not revoked.
        """
        with self.write() as conn:
            return agents.enable(conn, by, name, utcnow())

    def set_agent_role(
        self,
        name: str,
        role: Role,
        *,
        group: Group | Keep | None = Keep.KEEP,
        by: str = LOCAL_ADMIN,
    ) -> p.AgentRecord:
        """Change an agent's role (and its group, unless ``group`` is ``Keep.KEEP``).

        Raises:
            OperationError: 404 if there is no such agent.
        """
        with self.write() as conn:
            return agents.set_role(conn, by, name, role, utcnow(), group)

    def agent_audit(self, name: str | None = None) -> list[AuditEntry]:
        """Changes to agent accounts, oldest first (of one agent if ``name`` is given)."""
        with self.read() as conn:
            return agents.audit(conn, name)

    def list_agents(self) -> list[tuple[p.AgentRecord, bool]]:
        """Every agent with whether its token is revoked."""
        with self.read() as conn:
            rows = (
                conn.execute(
                    select(AGENT, API_TOKEN.c.revoked)
                    .select_from(AGENT.outerjoin(API_TOKEN, API_TOKEN.c.agent_name == AGENT.c.name))
                    .order_by(AGENT.c.name)
                )
                .mappings()
                .all()
            )
        return [(convert.to_agent(r), bool(r["revoked"])) for r in rows]

    def authenticate(self, token: str) -> Caller | None:
        """The agent a token belongs to, or None (unknown or revoked)."""
        digest = hash_token(token)
        with self.read() as conn:
            row = conn.execute(
                select(API_TOKEN.c.token_hash, API_TOKEN.c.revoked, AGENT.c.name, AGENT.c.role)
                .select_from(API_TOKEN.join(AGENT, AGENT.c.name == API_TOKEN.c.agent_name))
                .where(API_TOKEN.c.token_hash == digest)
            ).first()
        # The lookup is by hash; compare_digest keeps the final check constant-time.
        if row is None or row[1] or not hmac.compare_digest(row[0], digest):
            return None
        return Caller(name=row[2], role=Role(row[3]))

    def me(self, caller: Caller) -> p.Me:
        """The caller's own record."""
        with self.read() as conn:
            row = conn.execute(select(AGENT).where(AGENT.c.name == caller.name)).mappings().one()
        return p.Me(
            server_id=self.server_id, agent=convert.to_agent(row), protocol=p.PROTOCOL_VERSION
        )

    # --- the change feed --------------------------------------------------------

    def changes(self, since: int, limit: int) -> p.ChangePage:
        """Changes after ``since``; parents of every child are included so that each
        page can be applied on its own (foreign keys hold on the client).

        Snoozed conversations whose time has come wake first, so the page carries them.

        Raises:
            FeedError: a row in the page breaks the protocol beyond what cutting mends.
        """
        # The check for due snoozes shares the page's read: an idle poll costs no more.
        with self.read() as conn:
            if not self._snoozes_due(conn):
                return self._page(conn, since, limit)
        self.wake_snoozed()
        with self.read() as conn:
            return self._page(conn, since, limit)

    def _page(self, conn: Connection, since: int, limit: int) -> p.ChangePage:
        rows = conn.execute(
            select(CHANGE.c.seq, CHANGE.c.entity, CHANGE.c.entity_id)
            .where(CHANGE.c.seq > since)
            .order_by(CHANGE.c.seq)
            .limit(limit)
        ).all()
        ids: dict[str, set[str]] = {name: set() for name in ENTITIES}
        for _, entity, entity_id in rows:
            if entity in ids:
                ids[entity].add(entity_id)
        fetched = {name: self._fetch(conn, name, ids[name]) for name in ENTITIES}
        self._add_parents(conn, fetched)
        cursor = rows[-1][0] if rows else since
        page: dict[str, Any] = {
            "server_id": self.server_id,
            "cursor": str(cursor),
            "has_more": len(rows) == limit,
        }
        for name, (_, _, field) in ENTITIES.items():
            page[field] = list(fetched[name].values())
        return p.ChangePage(**page)

    def _fetch(self, conn: Connection, entity: str, wanted: set[str]) -> dict[str, p.Record]:
        if not wanted:
            return {}
        table, model, _ = ENTITIES[entity]
        key = _KEY_COLUMN.get(entity, "id")
        out: dict[str, p.Record] = {}
        chunk = sorted(wanted)
        for start in range(0, len(chunk), 500):
            part = chunk[start : start + 500]
            for row in conn.execute(select(table).where(table.c[key].in_(part))).mappings():
                out[row[key]] = _served(entity, model, row)
        return out

    def _add_parents(self, conn: Connection, fetched: dict[str, dict[str, p.Record]]) -> None:
        def refs(entities: tuple[str, ...], field: str) -> set[str]:
            found = (getattr(r, field) for k in entities for r in fetched[k].values())
            return {str(value) for value in found if value is not None}

        def need(entity: str, wanted: set[str]) -> None:
            missing = wanted - fetched[entity].keys()
            fetched[entity].update(self._fetch(conn, entity, missing))

        need("case", refs(("case_event",), "case_id"))
        need("order", refs(("order_event", "remark"), "order_id") | refs(("case",), "order_id"))
        need("conversation", refs(("case",), "conversation_id"))
        need("conversation", refs(("message",), "conversation_id"))
        need("customer", refs(("conversation", "order", "case"), "customer_id"))

    # --- operations -----------------------------------------------------------------

    def apply(self, caller: Caller, key: str, operation: p.Operation) -> p.OperationResult:
        """Apply ``operation`` once per ``key``: a repeat gets the first answer; the same
        key with a different operation is refused (422)."""
        self.wake_snoozed()
        body = operation.model_dump_json()
        request_hash = hashlib.sha256(f"{caller.name}\n{body}".encode()).hexdigest()
        with self.write() as conn:
            found = conn.execute(
                select(IDEMPOTENCY.c.request_hash, IDEMPOTENCY.c.response).where(
                    IDEMPOTENCY.c.key == key
                )
            ).first()
            if found is not None:
                if found[0] != request_hash:
                    raise OperationError(422, "this Idempotency-Key was used for another request")
                return p.OperationResult.model_validate_json(found[1])
            result = p.OperationResult(
                key=key, applied=True, result=self._apply(conn, caller, operation)
            )
            conn.execute(
                insert(IDEMPOTENCY).values(
                    key=key,
                    agent_name=caller.name,
                    request_hash=request_hash,
                    response=result.model_dump_json(),
                    created_at=utcnow(),
                )
            )
            return result

    def _conversation(self, conn: Connection, conversation_id: str) -> Any:
        row = (
            conn.execute(select(CONVERSATION).where(CONVERSATION.c.id == conversation_id))
            .mappings()
            .first()
        )
        if row is None:
            raise OperationError(404, f"no conversation {conversation_id}")
        return row

    def _apply(self, conn: Connection, caller: Caller, op: p.Operation) -> dict[str, Any]:
        now = utcnow()
        if isinstance(op, p.SendMessage):
            conv = self._conversation(conn, op.conversation_id)
            existing = conn.execute(
                select(MESSAGE.c.conversation_id).where(MESSAGE.c.id == op.id)
            ).first()
            if existing is not None:
                raise OperationError(409, f"message id {op.id} is taken")
            _insert_message(
                conn, op.id, op.conversation_id, op.kind.value, caller.name, op.body, now
            )
            values: dict[str, Any] = {"updated_at": now}
            if op.kind is MessageKind.AGENT:
                values |= {"waiting_since": None, "unread_count": 0, "last_activity_at": now}
                if conv["assignee"] is None:
                    values["assignee"] = caller.name  # answering a chat claims it
            self._update_conversation(conn, conv, values)
            return {"message_id": op.id, "created_at": now.isoformat()}
        if isinstance(op, p.SetStatus):
            conv = self._conversation(conn, op.conversation_id)
            if op.status is ConversationStatus.SNOOZED and op.snoozed_until is None:
                raise OperationError(422, "snoozing needs snoozed_until")
            snoozing = op.status is ConversationStatus.SNOOZED
            values = {
                "status": op.status.value,
                "snoozed_until": op.snoozed_until if snoozing else None,
                "updated_at": now,
            }
            self._update_conversation(conn, conv, values)
            return {"status": op.status.value}
        if isinstance(op, p.Assign):
            conv = self._conversation(conn, op.conversation_id)
            owner = conv["assignee"]
            if owner not in (None, caller.name) and caller.role is not Role.SUPERVISOR:
                raise OperationError(403, f"only a supervisor can take a conversation from {owner}")
            if op.assignee is not None:
                known = conn.execute(
                    select(AGENT.c.name).where(AGENT.c.name == op.assignee)
                ).first()
                if known is None:
                    raise OperationError(422, f"no agent named {op.assignee}")
            values = {"assignee": op.assignee, "updated_at": now}
            if op.group is not None:
                values["group"] = op.group.value
            self._update_conversation(conn, conv, values)
            return {"assignee": op.assignee, "group": op.group.value if op.group else conv["group"]}
        if isinstance(op, p.MarkRead):
            conv = self._conversation(conn, op.conversation_id)
            self._update_conversation(conn, conv, {"unread_count": 0, "updated_at": now})
            return {}
        if isinstance(op, p.AddRemark):
            order = conn.execute(select(ORDER.c.id).where(ORDER.c.id == op.order_id)).first()
            if order is None:
                raise OperationError(404, f"no order {op.order_id}")
            existing = conn.execute(
                select(ORDER_REMARK.c.id).where(ORDER_REMARK.c.id == op.id)
            ).first()
            if existing is not None:
                raise OperationError(409, f"remark id {op.id} is taken")
            conn.execute(
                insert(ORDER_REMARK).values(
                    id=op.id,
                    order_id=op.order_id,
                    flag=op.flag.value,
                    text=op.text,
                    author=caller.name,
                    created_at=now,
                    delivery="sent",
                )
            )
            touch(conn, "remark", op.id)
            return {"remark_id": op.id}
        if isinstance(op, p.RefundOrder):
            return self._refund(conn, caller, op, now)
        if isinstance(op, p.SaveCase):
            return self._save_case(conn, caller, op, now)
        if isinstance(op, p.DecideCase):
            return self._decide_case(conn, caller, op, now)
        if isinstance(op, p.AddHandover):
            exists = conn.execute(select(HANDOVER.c.id).where(HANDOVER.c.id == op.id)).first()
            if exists is not None:
                raise OperationError(409, f"handover id {op.id} is taken")
            conn.execute(
                insert(HANDOVER).values(
                    id=op.id,
                    author=caller.name,
                    shift_started_at=op.shift_started_at,
                    created_at=now,
                    note=op.note,
                )
            )
            touch(conn, "handover", op.id)
            return {"handover_id": op.id}
        raise OperationError(422, "unknown operation")  # pragma: no cover - the union is closed

    def _refund(
        self, conn: Connection, caller: Caller, op: p.RefundOrder, now: datetime
    ) -> dict[str, Any]:
        actor = money.Actor(caller.name, caller.role)
        plan = money.plan_refund(conn, actor, op, self.authority_limit_minor)
        event_id = f"refund-{uuid.uuid4().hex[:20]}"
        conn.execute(
            insert(ORDER_EVENT).values(
                id=event_id,
                order_id=op.order_id,
                kind=OrderEventKind.REFUNDED.value,
                at=now,
                detail=f"{format_money(op.amount_minor, plan.currency)} · {op.reason}",
            )
        )
        touch(conn, "order_event", event_id)
        money.record_refund(conn, actor, op, plan, event_id, now)
        if plan.completes_order:
            conn.execute(
                update(ORDER)
                .where(ORDER.c.id == op.order_id)
                .values(status=OrderStatus.REFUNDED.value, updated_at=now)
            )
            touch(conn, "order", op.order_id)
        return {"event_id": event_id, "covered_minor": plan.covered_minor}

    def _save_case(
        self, conn: Connection, caller: Caller, op: p.SaveCase, now: datetime
    ) -> dict[str, Any]:
        existing = conn.execute(select(CASE).where(CASE.c.id == op.id)).mappings().first()
        approved_by, withdrawn = money.approval_after_save(existing, op)
        money.check_case_save(
            conn,
            money.Actor(caller.name, caller.role),
            op,
            existing,
            approved_by,
            self.authority_limit_minor,
        )
        fields = convert.case_fields_row(op)
        if existing is None:
            conn.execute(
                insert(CASE).values(
                    id=op.id,
                    created_by=caller.name,
                    created_at=now,
                    updated_at=now,
                    delivery="sent",
                    **fields,
                )
            )
            self._case_event(conn, op.id, caller.name, "created", "", now)
        else:
            changes = [
                f"{key}: {existing[key]} → {value}"
                for key, value in fields.items()
                if existing[key] != value
            ]
            if withdrawn:
                changes.append(withdrawn)
            if not changes:
                return {"case_id": op.id, "changed": False}
            conn.execute(
                update(CASE)
                .where(CASE.c.id == op.id)
                .values(updated_at=now, approved_by=approved_by, **fields)
            )
            self._case_event(conn, op.id, caller.name, "updated", "\n".join(changes), now)
        touch(conn, "case", op.id)
        return {"case_id": op.id, "changed": True}

    def _decide_case(
        self, conn: Connection, caller: Caller, op: p.DecideCase, now: Any
    ) -> dict[str, Any]:
        if caller.role is not Role.SUPERVISOR:
            raise OperationError(403, "only a supervisor approves or declines")
        existing = conn.execute(select(CASE).where(CASE.c.id == op.id)).mappings().first()
        if existing is None:
            raise OperationError(404, f"no case {op.id}")
        if existing["status"] != CaseStatus.AWAITING_APPROVAL.value:
            raise OperationError(409, "this case is not awaiting approval")
        values: dict[str, Any] = {"status": CaseStatus.OPEN.value, "updated_at": now}
        if op.approve:
            values["approved_by"] = caller.name
        else:
            values["compensation_minor"] = 0
        conn.execute(update(CASE).where(CASE.c.id == op.id).values(**values))
        action = "approved" if op.approve else "declined"
        self._case_event(conn, op.id, caller.name, action, op.note, now)
        touch(conn, "case", op.id)
        return {"case_id": op.id, "status": CaseStatus.OPEN.value, "approved": op.approve}

    def _case_event(
        self, conn: Connection, case_id: str, author: str, action: str, changes: str, now: Any
    ) -> None:
        event_id = "ce-" + uuid.uuid4().hex[:20]
        # Two long notes, old and new, can pass the protocol's limit between them.
        changes = limits.cut(changes, p.MAX_BODY_CHARS)
        conn.execute(
            insert(CASE_EVENT).values(
                id=event_id, case_id=case_id, at=now, author=author, action=action, changes=changes
            )
        )
        touch(conn, "case_event", event_id)

    def _update_conversation(self, conn: Connection, conv: Any, values: dict[str, Any]) -> None:
        merged = dict(conv) | values
        values["queue_rank"] = convert.queue_rank(
            merged["waiting_since"], merged["last_activity_at"]
        )
        conn.execute(update(CONVERSATION).where(CONVERSATION.c.id == conv["id"]).values(**values))
        touch(conn, "conversation", conv["id"])

    # --- snoozes ----------------------------------------------------------------------

    def wake_snoozed(self) -> int:
        """Return every snoozed conversation whose time has come to the open queue, with
        its waiting clock as it was (so a customer who was waiting is back near the top)
        and a change-feed entry that tells every console. Returns how many woke.

        Called before every change-feed read and every operation; costs one indexed
        read when nothing is due.
        """
        with self.read() as conn:
            if not self._snoozes_due(conn):
                return 0
        now = utcnow()
        with self.write() as conn:
            rows = conn.execute(_due_snoozes(now)).mappings().all()
            for conv in rows:
                self._update_conversation(
                    conn,
                    conv,
                    {
                        "status": ConversationStatus.OPEN.value,
                        "snoozed_until": None,
                        "updated_at": now,
                    },
                )
        return len(rows)

    def _snoozes_due(self, conn: Connection) -> bool:
        return conn.execute(_ANY_SNOOZE_DUE, {"now": utcnow()}).first() is not None

    # --- used by the demo loader and the simulator -----------------------------------

    def add_customer_message(self, conversation_id: str, body: str) -> list[str]:
        """A customer writes: the conversation reopens and its waiting clock starts.

        The text is held to the protocol's limits like everything else that enters the
        server: sanitised, and a message over ``MAX_BODY_CHARS`` arrives as numbered
        parts, "(1/2) ...", "(2/2) ...". Returns the ids of the messages stored.
        """
        now = utcnow()
        with self.write() as conn:
            conv = self._conversation(conn, conversation_id)
            customer = conn.execute(
                select(CUSTOMER.c.name).where(CUSTOMER.c.id == conv["customer_id"])
            ).scalar_one()
            ids = []
            for index, part in enumerate(limits.split_text(body)):
                # A microsecond apart, so every thread shows the parts in order.
                at = now + timedelta(microseconds=index)
                record = limits.fit(
                    p.MessageRecord,
                    {
                        "id": "msg-" + uuid.uuid4().hex[:16],
                        "conversation_id": conversation_id,
                        "kind": MessageKind.CUSTOMER.value,
                        "author": customer,
                        "body": part,
                        "created_at": at,
                    },
                )
                _insert_message(
                    conn, record.id, conversation_id, "customer", record.author, record.body, at
                )
                ids.append(record.id)
            self._update_conversation(
                conn,
                conv,
                {
                    "status": ConversationStatus.OPEN.value,
                    "snoozed_until": None,
                    "waiting_since": conv["waiting_since"] or now,
                    "unread_count": conv["unread_count"] + len(ids),
                    "last_activity_at": now,
                    "updated_at": now,
                },
            )
        return ids

    def load_records(self, records: dict[str, list[p.Record]]) -> None:
        """Insert records (entity name -> list) and register them in the change feed.

        Each record is checked again against the protocol's limits; text past them is
        cut with a visible mark.

        Raises:
            ValueError: a record breaks a rule other than a length.
        """
        converters: dict[str, Any] = {
            "agent": convert.agent_row,
            "customer": convert.customer_row,
            "conversation": convert.conversation_row,
            "message": convert.message_row,
            "order": convert.order_row,
            "order_event": convert.event_row,
            "remark": convert.remark_row,
            "case": convert.case_row,
            "case_event": convert.case_event_row,
            "handover": convert.handover_row,
            "reply": convert.reply_row,
        }
        with self.write() as conn:
            for entity in ENTITIES:
                batch = records.get(entity, [])
                if not batch:
                    continue
                table, model, _ = ENTITIES[entity]
                key = _KEY_COLUMN.get(entity, "id")
                # A record built without validation (model_construct, model_copy) would
                # otherwise carry text past the limits into the feed.
                rows = [converters[entity](_fitted(model, r)) for r in batch]
                convert.upsert(
                    conn, table, rows, [key], keep=["seq"] if entity == "message" else ()
                )
                for row in rows:
                    touch(conn, entity, row[key])

    def publish_replies(self, records: Sequence[p.ReplyRecord]) -> PublishReport:
        """Make ``records`` the shop's whole published library, in one transaction.

        New and changed replies get ``updated_at`` = now and enter the change feed; a
        published reply missing from ``records`` becomes a tombstone (``deleted``),
        which the feed carries to every client; unchanged replies are left alone, so
        publishing the same library twice moves nothing. Text past the protocol's
        limits is cut with a visible mark.
        """
        now = utcnow()
        added = updated = unchanged = 0
        with self.write() as conn:
            existing = {
                str(row["id"]): dict(row) for row in conn.execute(select(SHOP_REPLY)).mappings()
            }
            rows = []
            for record in records:
                fitted = _fitted(p.ReplyRecord, record.model_copy(update={"updated_at": now}))
                row = convert.reply_row(fitted)
                row["deleted"] = False
                old = existing.get(record.id)
                if old is None or old["deleted"]:
                    added += 1
                elif _same_reply(old, row):
                    unchanged += 1
                    continue
                else:
                    updated += 1
                rows.append(row)
            convert.upsert(conn, SHOP_REPLY, rows, ["id"])
            for row in rows:
                touch(conn, "reply", row["id"])
            wanted = {record.id for record in records}
            gone = sorted(
                reply_id
                for reply_id, row in existing.items()
                if not row["deleted"] and reply_id not in wanted
            )
            for reply_id in gone:
                conn.execute(
                    update(SHOP_REPLY)
                    .where(SHOP_REPLY.c.id == reply_id)
                    .values(deleted=True, updated_at=now)
                )
                touch(conn, "reply", reply_id)
        return PublishReport(added=added, updated=updated, deleted=len(gone), unchanged=unchanged)

    def conversation_languages(self) -> list[tuple[str, str]]:
        """(conversation id, customer language) for every conversation."""
        with self.read() as conn:
            rows = conn.execute(
                select(CONVERSATION.c.id, CUSTOMER.c.language)
                .select_from(
                    CONVERSATION.join(CUSTOMER, CUSTOMER.c.id == CONVERSATION.c.customer_id)
                )
                .order_by(CONVERSATION.c.id)
            ).all()
        return [(str(r[0]), str(r[1])) for r in rows]

    def count(self, entity: str) -> int:
        """How many rows of ``entity`` the server holds."""
        table = ENTITIES[entity][0]
        with self.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def messages_with_body(self, body: str) -> int:
        """How many messages carry exactly ``body`` (tests use it to prove exactly-once)."""
        with self.read() as conn:
            stmt = select(func.count()).select_from(MESSAGE).where(MESSAGE.c.body == body)
            return int(conn.execute(stmt).scalar_one())


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What publishing the shop's quick-reply library changed."""

    added: int
    updated: int
    deleted: int
    unchanged: int

    def summary(self) -> str:
        """One line for a person: "3 added, 1 updated, 0 deleted, 270 unchanged"."""
        return (
            f"{self.added} added, {self.updated} updated, {self.deleted} deleted, "
            f"{self.unchanged} unchanged"
        )


def _same_reply(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a published reply's content is unchanged (its time and flag aside)."""
    return all(
        old[key] == value for key, value in new.items() if key not in ("updated_at", "deleted")
    )


def _insert_message(
    conn: Connection,
    message_id: str,
    conversation_id: str,
    kind: str,
    author: str,
    body: str,
    now: datetime,
) -> None:
    conn.execute(
        insert(MESSAGE).values(
            id=message_id,
            conversation_id=conversation_id,
            kind=kind,
            author=author,
            body=body,
            created_at=now,
            delivery="sent",
        )
    )
    touch(conn, "message", message_id)


# Built once: every poll runs it, and building a statement costs more than running it.
_ANY_SNOOZE_DUE = (
    select(CONVERSATION.c.id)
    .where(
        CONVERSATION.c.status == ConversationStatus.SNOOZED.value,
        CONVERSATION.c.snoozed_until <= bindparam("now", type_=UTCDateTime),
    )
    .limit(1)
)


def _due_snoozes(now: datetime) -> Any:
    """Snoozed conversations whose time has come (an index on status, snoozed_until)."""
    return (
        select(CONVERSATION)
        .where(
            CONVERSATION.c.status == ConversationStatus.SNOOZED.value,
            CONVERSATION.c.snoozed_until <= now,
        )
        .order_by(CONVERSATION.c.snoozed_until)
    )


def _fitted(model: type[p.Record], record: p.Record) -> Any:
    """``record`` checked against the protocol's limits again, cut to fit."""
    try:
        return model.model_validate(record.model_dump(), strict=False)
    except ValidationError:
        return limits.fit(model, record.model_dump())


def _served(entity: str, model: type[p.Record], row: Any) -> p.Record:
    """A stored row as the record the feed carries. A row past the protocol's limits
    (stored before they held, or written around them) is cut to fit rather than
    failing the page for every agent."""
    try:
        if entity == "agent":
            return convert.to_agent(row)
        return convert.to_record(model, row)
    except ValidationError:
        pass
    try:
        return limits.record_from_row(model, row)
    except ValueError as exc:
        key = row[_KEY_COLUMN.get(entity, "id")]
        raise FeedError(f"the {entity} {key} cannot be served: {exc}") from None


def _private_sqlite_file(engine: Engine) -> None:
    """Create the database file owner-only before SQLite would make it 0644 (SQLite
    gives the -wal and -shm files the mode of the database), and tighten an older
    file and its companions. Someone else's file is left as it is."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    # A missing folder or a read-only one: SQLite says so when it opens the file.
    with suppress(OSError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, _PRIVATE))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        with suppress(OSError):
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                file.chmod(mode & _PRIVATE)
