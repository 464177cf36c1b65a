"""Between wire records (``protocol``) and table rows, in both directions, and upserts.

The client turns pulled records into rows; the reference server turns its rows back
into records for the change feed. One place for both keeps them from drifting.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from cs_console import protocol as p
from cs_console.timeutil import format_stored

Row = dict[str, Any]

_RANK_SPAN_MS = 10**13


def queue_rank(waiting_since: datetime | None, last_activity_at: datetime) -> str:
    """Sort key for the queue: waiting customers first (longest wait first), then the
    most recently active. Text, so one index on ``(status, queue_rank)`` serves it."""
    if waiting_since is not None:
        return "0" + format_stored(waiting_since)
    inverted = _RANK_SPAN_MS - int(last_activity_at.timestamp() * 1000)
    return "1" + str(max(inverted, 0)).zfill(13)


def agent_row(rec: p.AgentRecord) -> Row:
    """Row for the agent table."""
    return {
        "name": rec.name,
        "role": rec.role.value,
        "group": _val(rec.group),
        "active": rec.active,
        "presence": rec.presence.value,
        "presence_since": rec.presence_since,
        "capacity": rec.capacity,
        "weight": rec.weight,
    }


def tags_json(tags: Iterable[str]) -> str:
    """Tags as stored: a sorted JSON list without duplicates, so ``'"vip"'`` found in the
    text means the tag is there (tags are narrow words: see ``protocol.Tag``)."""
    return json.dumps(sorted(set(tags)), separators=(",", ":"))


def tags_of(stored: str | None) -> list[str]:
    """The tags in a stored JSON list ([] for anything else)."""
    try:
        found = json.loads(stored or "[]")
    except ValueError:
        return []
    return [str(t) for t in found] if isinstance(found, list) else []


def customer_row(rec: p.CustomerRecord) -> Row:
    """Row for the customer table."""
    row = rec.model_dump(exclude={"tags"})
    row["tags_json"] = tags_json(rec.tags)
    return row


def conversation_row(rec: p.ConversationRecord) -> Row:
    """Row for the conversation table, with its derived queue rank."""
    row = rec.model_dump(exclude={"tags"})
    row["group"] = rec.group.value
    row["status"] = rec.status.value
    row["priority"] = rec.priority.value
    row["tags_json"] = tags_json(rec.tags)
    row["queue_rank"] = queue_rank(rec.waiting_since, rec.last_activity_at)
    return row


def message_row(rec: p.MessageRecord) -> Row:
    """Row for the message table (a pulled message has, by definition, been sent);
    its attachments go to their own table (:func:`attachment_row`)."""
    row = rec.model_dump(exclude={"attachments"})
    row["kind"] = rec.kind.value
    row["delivery"] = "sent"
    return row


def attachment_row(rec: p.AttachmentRecord, message_id: str | None, created_at: datetime) -> Row:
    """Row for the attachment table (without the machine's own ``local_path``)."""
    row = rec.model_dump()
    row["kind"] = rec.kind.value
    row["message_id"] = message_id
    row["created_at"] = created_at
    return row


#: The attachment columns a record carries.
ATTACHMENT_FIELDS = tuple(p.AttachmentRecord.model_fields)


def to_attachment(row: Mapping[Any, Any]) -> p.AttachmentRecord:
    """Record from an attachment row (a stored row is trusted, so read leniently)."""
    return p.AttachmentRecord.model_validate(
        {name: row[name] for name in ATTACHMENT_FIELDS}, strict=False
    )


def order_row(rec: p.OrderRecord) -> Row:
    """Row for the orders table; the lines go in as JSON."""
    row = rec.model_dump(exclude={"items"})
    row["status"] = rec.status.value
    row["items_json"] = json.dumps(
        [item.model_dump() for item in rec.items], ensure_ascii=False, separators=(",", ":")
    )
    return row


def event_row(rec: p.OrderEventRecord) -> Row:
    """Row for the order_event table."""
    row = rec.model_dump()
    row["kind"] = rec.kind.value
    return row


def remark_row(rec: p.RemarkRecord) -> Row:
    """Row for the order_remark table."""
    row = rec.model_dump()
    row["flag"] = rec.flag.value
    row["delivery"] = "sent"
    return row


def case_fields_row(fields: p.CaseFields) -> Row:
    """The columns an agent fills in, as stored: enum values, ISO dates, evidence as JSON.
    The server, the client's local apply and pulled records all store cases this way."""
    row = fields.model_dump(include=set(p.CaseFields.model_fields), mode="json")
    row["evidence_json"] = json.dumps(row.pop("evidence"), ensure_ascii=False)
    return row


def case_row(rec: p.CaseRecord) -> Row:
    """Row for the case_record table."""
    row = case_fields_row(rec)
    row.update(
        id=rec.id,
        created_by=rec.created_by,
        approved_by=rec.approved_by,
        created_at=rec.created_at,
        updated_at=rec.updated_at,
        delivery="sent",
    )
    return row


def case_event_row(rec: p.CaseEventRecord) -> Row:
    """Row for the case_event table."""
    return rec.model_dump()


def handover_row(rec: p.HandoverRecord) -> Row:
    """Row for the handover table."""
    return rec.model_dump()


def reply_row(rec: p.ReplyRecord) -> Row:
    """Row for the shop_reply table; keywords and actions go in as JSON."""
    row = rec.model_dump(exclude={"keywords", "actions"})
    row["keywords_json"] = json.dumps(rec.keywords, ensure_ascii=False)
    row["actions_json"] = json.dumps(
        [action.model_dump() for action in rec.actions], ensure_ascii=False
    )
    return row


def to_agent(row: Mapping[Any, Any]) -> p.AgentRecord:
    """Record from an agent row."""
    return p.AgentRecord.model_validate(
        {
            "name": row["name"],
            "role": row["role"],
            "group": row["group"],
            "active": row["active"],
            "presence": row["presence"],
            "presence_since": row["presence_since"],
            "capacity": row["capacity"],
            "weight": row["weight"],
        },
        strict=False,
    )


def to_record(model: type[p.Record], row: Mapping[Any, Any]) -> p.Record:
    """Record of ``model`` from a table row (columns named as the record's fields)."""
    data = dict(row)
    if model is p.OrderRecord:
        data["items"] = json.loads(data.pop("items_json") or "[]")
    if model is p.CaseRecord:
        data["evidence"] = json.loads(data.pop("evidence_json") or "[]")
        data.pop("delivery", None)
    if model is p.CustomerRecord or model is p.ConversationRecord:
        data["tags"] = tags_of(data.pop("tags_json", None))
    if model is p.ReplyRecord:
        data["keywords"] = json.loads(data.pop("keywords_json") or "[]")
        data["actions"] = json.loads(data.pop("actions_json") or "[]")
    # Rows hold enum values as text; validate leniently from our own trusted rows.
    return model.model_validate(data, strict=False)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Row],
    keys: Iterable[str],
    *,
    keep: Iterable[str] = (),
) -> None:
    """Insert ``rows``, updating those whose ``keys`` exist. Columns in ``keep`` are
    left as they are on update (local-only columns such as ``seq``)."""
    if not rows:
        return
    key_list = list(keys)
    skip = set(key_list) | set(keep)
    dialect = conn.dialect.name
    insert_fn: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert_fn(table)
    columns = [c for c in rows[0] if c not in skip]
    update = {c: stmt.excluded[c] for c in columns}
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=key_list, set_=update)
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=key_list)
    conn.execute(stmt, list(rows))


def _val(value: Any) -> Any:
    return getattr(value, "value", value)
