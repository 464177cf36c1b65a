"""Tables only the reference server keeps beyond the shared ones: the refund ledger the
money rules add up, and the audit of changes to agent accounts.

They live on their own metadata, so the client store never creates them.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, Index, Integer, MetaData, String, Table, Text, text

from cs_console.store.models import UTCDateTime

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


def create_rule_tables(engine: Engine) -> None:
    """Create the tables and indexes above where they are missing (a database from
    before them)."""
    SERVER_RULES_METADATA.create_all(engine)
    with engine.begin() as conn:
        for statement in _RULE_INDEXES:
            conn.execute(text(statement))
