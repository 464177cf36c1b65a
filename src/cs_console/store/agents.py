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
