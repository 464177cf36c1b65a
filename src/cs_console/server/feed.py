"""The change feed: its one write (move an entity to the head) and its read (a page of
records after a client's cursor, with the parents each child needs)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, delete, func, insert, select

from cs_console import protocol as p
from cs_console.server import limits
from cs_console.server.tables import CHANGE
from cs_console.store import convert
from cs_console.store.models import (
    AGENT,
    ATTACHMENT,
    CASE,
    CASE_EVENT,
    CONVERSATION,
    CUSTOMER,
    HANDOVER,
    MESSAGE,
    ORDER,
    ORDER_EVENT,
    ORDER_REMARK,
    SHOP_REPLY,
)

#: Entity name in the change feed -> (table, record model, page field).
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

# Ids are looked up this many at a time, below every database's limit on parameters.
_CHUNK = 500


class FeedError(Exception):
    """A stored row the change feed cannot carry even cut to size (a broken enum, a
    bad id): the feed stops there, loudly, naming the row."""


def key_column(entity: str) -> str:
    """The column that holds the id the feed names ``entity`` by."""
    return _KEY_COLUMN.get(entity, "id")


def touch(conn: Connection, entity: str, entity_id: str) -> None:
    """Move ``entity_id`` to the head of the change feed.

    The new ``seq`` is taken above the current highest *before* the old row goes:
    SQLite's rowid (the table has no AUTOINCREMENT) would otherwise hand the deleted
    head's number out again, and a client whose cursor already stands there would
    never see the change. Writes are serialised, so max + 1 cannot collide."""
    head = conn.execute(select(func.coalesce(func.max(CHANGE.c.seq), 0))).scalar_one()
    conn.execute(delete(CHANGE).where(CHANGE.c.entity == entity, CHANGE.c.entity_id == entity_id))
    conn.execute(insert(CHANGE).values(seq=int(head) + 1, entity=entity, entity_id=entity_id))


def page(conn: Connection, server_id: str, since: int, limit: int) -> p.ChangePage:
    """Up to ``limit`` changes after ``since``, with the parents of every child, so that
    each page can be applied on its own (foreign keys hold on the client).

    Raises:
        FeedError: a row in the page breaks the protocol beyond what cutting mends.
    """
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
    fetched = {name: _fetch(conn, name, ids[name]) for name in ENTITIES}
    _add_parents(conn, fetched)
    cursor = rows[-1][0] if rows else since
    fields: dict[str, Any] = {
        "server_id": server_id,
        "cursor": str(cursor),
        "has_more": len(rows) == limit,
    }
    for name, (_, _, field) in ENTITIES.items():
        fields[field] = list(fetched[name].values())
    return p.ChangePage(**fields)


def _fetch(conn: Connection, entity: str, wanted: set[str]) -> dict[str, p.Record]:
    if not wanted:
        return {}
    table, model, _ = ENTITIES[entity]
    key = key_column(entity)
    out: dict[str, p.Record] = {}
    chunk = sorted(wanted)
    for start in range(0, len(chunk), _CHUNK):
        part = chunk[start : start + _CHUNK]
        for row in conn.execute(select(table).where(table.c[key].in_(part))).mappings():
            out[row[key]] = _served(entity, model, row)
    if entity == "message":
        _add_attachments(conn, out)
    return out


def _add_attachments(conn: Connection, messages: dict[str, p.Record]) -> None:
    """Messages carry their attachments (those linked to them: an upload still waiting
    for its message is nobody's to see)."""
    found: dict[str, list[p.AttachmentRecord]] = {}
    chunk = sorted(messages)
    for start in range(0, len(chunk), _CHUNK):
        rows = conn.execute(
            select(ATTACHMENT)
            .where(ATTACHMENT.c.message_id.in_(chunk[start : start + _CHUNK]))
            .order_by(ATTACHMENT.c.created_at, ATTACHMENT.c.id)
        ).mappings()
        for row in rows:
            found.setdefault(str(row["message_id"]), []).append(convert.to_attachment(row))
    for message_id, attachments in found.items():
        kept = attachments[: p.MAX_ATTACHMENTS]
        messages[message_id] = messages[message_id].model_copy(update={"attachments": kept})


def _add_parents(conn: Connection, fetched: dict[str, dict[str, p.Record]]) -> None:
    def refs(entities: tuple[str, ...], field: str) -> set[str]:
        found = (getattr(r, field) for k in entities for r in fetched[k].values())
        return {str(value) for value in found if value is not None}

    def need(entity: str, wanted: set[str]) -> None:
        missing = wanted - fetched[entity].keys()
        fetched[entity].update(_fetch(conn, entity, missing))

    # In this order: a parent fetched here may need its own (a case event's case, that
    # case's order and conversation, and their customer).
    need("case", refs(("case_event",), "case_id"))
    need("order", refs(("order_event", "remark"), "order_id") | refs(("case",), "order_id"))
    need("conversation", refs(("case",), "conversation_id"))
    need("conversation", refs(("message",), "conversation_id"))
    need("customer", refs(("conversation", "order", "case"), "customer_id"))


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
        key = row[key_column(entity)]
        raise FeedError(f"the {entity} {key} cannot be served: {exc}") from None
