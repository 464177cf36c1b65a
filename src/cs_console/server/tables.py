"""Tables only the reference server keeps, beside the shared ones it has with every
client (``store/models.py``): agents' tokens, the idempotency record, the change feed,
the server's own facts, the refund ledger the money rules add up, and the audit of
changes to agent accounts.

The client store builds its schema from its own migrations, never from metadata, so
it never creates these. The first four are SQLModel tables because ``api_token``
refers to the shared ``agent`` table; the ledger and the audit came later and sit on
their own metadata, created beside them (:func:`create_server_schema`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from cs_console.store.models import SHARED_TABLES, UTCDateTime, table_of

# --- in SQLModel's metadata, beside the shared tables -----------------------------


class ApiToken(SQLModel, table=True):
    """An agent's token, kept only as a SHA-256 hash (tokens are 256 random bits)."""

    __tablename__ = "api_token"
    agent_name: str = Field(primary_key=True, foreign_key="agent.name")
    token_hash: str = Field(index=True)
    revoked: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to an operation key; repeats get the same answer."""

    __tablename__ = "idempotency"
    key: str = Field(primary_key=True)
    agent_name: str
    request_hash: str
    response: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class Change(SQLModel, table=True):
    """The change feed: one row per entity, moved to a new ``seq`` on every write."""

    __tablename__ = "change"
    __table_args__ = (UniqueConstraint("entity", "entity_id"),)
    seq: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    entity: str
    entity_id: str


class ServerMeta(SQLModel, table=True):
    """Facts about the server instance (its id)."""

    __tablename__ = "server_meta"
    key: str = Field(primary_key=True)
    value: str


#: Every table of SQLModel's metadata the server creates, in creation order.
SERVER_TABLES = (*SHARED_TABLES, ApiToken, IdempotencyRecord, Change, ServerMeta)

API_TOKEN = table_of(ApiToken)
IDEMPOTENCY = table_of(IdempotencyRecord)
CHANGE = table_of(Change)
SERVER_META = table_of(ServerMeta)

# --- the server's rules, on their own metadata ------------------------------------

SERVER_RULES_METADATA = MetaData()

#: One row per refund made: who made it, under which case, and how much of it a
#: supervisor's approval covered (the rest counts against the agent's own limit).
REFUND = Table(
    "server_refund",
    SERVER_RULES_METADATA,
    Column("id", String, primary_key=True),  # the order event's id
    Column("order_id", String, nullable=False),
    Column("agent_name", String, nullable=False),
    Column("amount_minor", Integer, nullable=False),
    Column("covered_minor", Integer, nullable=False),
    Column("case_id", String, nullable=True),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_server_refund_order", "order_id"),
)

#: Who did what to an agent account: created, token rotated, revoked, enabled, role.
AGENT_AUDIT = Table(
    "server_agent_audit",
    SERVER_RULES_METADATA,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String, nullable=False),
    Column("agent_name", String, nullable=False),
    Column("action", String, nullable=False),
    Column("detail", Text, nullable=False, default=""),
)


# Indexes on shared tables that only the server's rules read: the snoozes due to wake,
# and the cases on one order. Plain DDL, so the client store's tables stay as they are.
_RULE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_server_conversation_snoozed"
    " ON conversation (status, snoozed_until)",
    "CREATE INDEX IF NOT EXISTS ix_server_case_order ON case_record (order_id)",
)


def create_server_schema(engine: Engine) -> None:
    """Create every table and index the server needs where it is missing: a new
    database, or one from before the ledger, the audit or the rules' indexes."""
    SQLModel.metadata.create_all(engine, tables=[table_of(t) for t in SERVER_TABLES])
    SERVER_RULES_METADATA.create_all(engine)
    with engine.begin() as conn:
        for statement in _RULE_INDEXES:
            conn.execute(text(statement))
