"""The agent's working context: settings, the opened store, who the agent is."""

from __future__ import annotations

from dataclasses import dataclass

from cs_console.settings import Settings
from cs_console.store import kv
from cs_console.store.db import Database, StoreError
from cs_console.sync.engine import AGENT_NAME, AGENT_ROLE

__all__ = ["AgentContext", "StoreError", "open_context"]


@dataclass(slots=True)
class AgentContext:
    """Passed to every service call."""

    settings: Settings
    db: Database

    @property
    def agent_name(self) -> str:
        """The name the backend knows us by (learnt at the first sync), else the config's."""
        return kv.get_state(self.db, AGENT_NAME) or self.settings.agent_name or "me"

    @property
    def is_supervisor(self) -> bool:
        """Whether the backend said this agent is a supervisor."""
        return kv.get_state(self.db, AGENT_ROLE) == "supervisor"

    def close(self) -> None:
        """Close the store."""
        self.db.close()


def open_context(settings: Settings, *, writer: bool = True) -> AgentContext:
    """Open (and if needed create or upgrade) the store under ``settings.home``."""
    return AgentContext(settings=settings, db=Database(settings.store_path, writer=writer))
