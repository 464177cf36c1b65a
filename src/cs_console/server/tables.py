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
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
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


#: Routing facts about each agent that only the server needs: the presence the agent
#: chose (the shared ``agent.presence`` turns offline when their console goes silent,
#: and back to this when it is heard from again), when it was last heard from, its
#: smooth weighted round-robin counter (kept, so a restart does not reset fairness),
#: and whether its conversations went back to the pool since it went offline.
AGENT_ROUTING = Table(
    "server_agent_routing",
    SERVER_RULES_METADATA,
    Column("agent_name", String, primary_key=True),
    Column("chosen", String, nullable=False, default="offline"),
    Column("last_seen_at", UTCDateTime, nullable=True),
    Column("wrr_current", Integer, nullable=False, default=0),
    Column("released", Boolean, nullable=False, default=True),
)

#: Conversations the server raised to urgent on its own (a refund pending near the
#: ship-by deadline), with the priority they had, to go back to when that is over.
AUTO_URGENT = Table(
    "server_auto_urgent",
    SERVER_RULES_METADATA,
    Column("conversation_id", String, primary_key=True),
    Column("previous", String, nullable=False),
)

# --- the customer channels (server/channels/) ---------------------------------------

#: A browser that opened the web chat widget: its signed session names this row (so
#: rotating the signing secret loses no conversation), and the conversation it writes in
#: once it has written (one open conversation at a time; a resolved one is reopened).
WIDGET_VISITOR = Table(
    "server_widget_visitor",
    SERVER_RULES_METADATA,
    Column("id", String, primary_key=True),
    Column("customer_id", String, nullable=True),
    Column("conversation_id", String, nullable=True),
    Column("language", String, nullable=False, default="en"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)

#: Every email Message-ID the server has seen or sent, with its conversation: how a reply
#: (In-Reply-To / References) finds its thread, and how a mail read twice is known.
EMAIL_REF = Table(
    "server_email_ref",
    SERVER_RULES_METADATA,
    Column("message_id", String, primary_key=True),  # the header, without < >
    Column("conversation_id", String, nullable=False),
    Column("message", String, nullable=True),  # our message's id, if it became one
    Column("at", UTCDateTime, nullable=False),
    Index("ix_server_email_ref_conversation", "conversation_id"),
)

#: Agents' replies to email conversations, written in the reply's own transaction and
#: sent by the mail thread. ``mail_id`` (the Message-ID) is chosen here, before any
#: attempt, so every attempt sends the same mail; ``state`` is pending, sending (the
#: dot may have gone: see channels/email_smtp.py), sent, unconfirmed or failed.
EMAIL_OUTBOX = Table(
    "server_email_outbox",
    SERVER_RULES_METADATA,
    Column("message_id", String, primary_key=True),  # our message's id
    Column("conversation_id", String, nullable=False),
    Column("mail_id", String, nullable=False, unique=True),
    Column("to_address", String, nullable=False),
    Column("to_name", String, nullable=False, default=""),
    Column("agent_name", String, nullable=False, default=""),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("in_reply_to", String, nullable=True),
    Column("references", Text, nullable=False, default=""),
    Column("state", String, nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    Index("ix_server_email_outbox_state", "state", "next_at"),
)

#: The whole source of every mail that became a message: the thread shows the text
#: without quoted history and signature, and this keeps what was cut.
EMAIL_SOURCE = Table(
    "server_email_source",
    SERVER_RULES_METADATA,
    Column("mail_id", String, primary_key=True),
    Column("message", String, nullable=False),
    Column("raw", LargeBinary, nullable=False),
)

#: How far each mailbox has been read: the folder's UIDVALIDITY and the last UID taken.
MAILBOX_STATE = Table(
    "server_mailbox_state",
    SERVER_RULES_METADATA,
    Column("mailbox", String, primary_key=True),  # user@host/folder
    Column("uidvalidity", Integer, nullable=False),
    Column("last_uid", Integer, nullable=False),
)

# Columns added to shared tables after their first release, with their DDL: a database
# made by an older server gets them on start (create_all adds tables, never columns).
_ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("agent", "presence", "VARCHAR NOT NULL DEFAULT 'offline'"),
    ("agent", "presence_since", "VARCHAR(27)"),
    ("agent", "capacity", "INTEGER NOT NULL DEFAULT 5"),
    ("agent", "weight", "INTEGER NOT NULL DEFAULT 1"),
    ("customer", "tags_json", "TEXT NOT NULL DEFAULT '[]'"),
    ("conversation", "priority", "VARCHAR NOT NULL DEFAULT 'normal'"),
    ("conversation", "tags_json", "TEXT NOT NULL DEFAULT '[]'"),
    ("conversation", "subject", "VARCHAR"),
    ("conversation", "customer_typing_at", "VARCHAR(27)"),
)

# Indexes on shared tables that only the server's rules read: the snoozes due to wake,
# and the cases on one order. Plain DDL, so the client store's tables stay as they are.
_RULE_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_server_conversation_snoozed"
    " ON conversation (status, snoozed_until)",
    "CREATE INDEX IF NOT EXISTS ix_server_case_order ON case_record (order_id)",
    # A shared index, here too for a database made before it existed.
    "CREATE INDEX IF NOT EXISTS ix_conversation_queue_priority"
    " ON conversation (status, priority, queue_rank)",
    "CREATE INDEX IF NOT EXISTS ix_server_conversation_assignee ON conversation (assignee, status)",
)


def create_server_schema(engine: Engine) -> None:
    """Create every table and index the server needs where it is missing: a new
    database, or one from before the ledger, the audit or the rules' indexes."""
    SQLModel.metadata.create_all(engine, tables=[table_of(t) for t in SERVER_TABLES])
    SERVER_RULES_METADATA.create_all(engine)
    _add_missing_columns(engine)
    with engine.begin() as conn:
        for statement in _RULE_INDEXES:
            conn.execute(text(statement))


def _add_missing_columns(engine: Engine) -> None:
    inspector = inspect(engine)
    missing = [
        (table, column, ddl)
        for table, column, ddl in _ADDED_COLUMNS
        if column not in {c["name"] for c in inspector.get_columns(table)}
    ]
    if not missing:
        return
    with engine.begin() as conn:
        for table, column, ddl in missing:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))
