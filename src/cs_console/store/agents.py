"""The agents this store knows of (pulled from the backend)."""

from __future__ import annotations

from sqlalchemy import select

from cs_console.store.db import Database
from cs_console.store.models import AGENT


def active_agent_names(db: Database) -> list[str]:
    """Names of active agents, sorted."""
    with db.read() as conn:
        rows = conn.execute(select(AGENT.c.name).where(AGENT.c.active).order_by(AGENT.c.name))
        return [str(r[0]) for r in rows]


def presence_of(db: Database, name: str) -> str | None:
    """The presence the store holds for agent ``name`` (None if it knows no such agent)."""
    with db.read() as conn:
        found = conn.execute(select(AGENT.c.presence).where(AGENT.c.name == name)).first()
    return None if found is None else str(found[0])
