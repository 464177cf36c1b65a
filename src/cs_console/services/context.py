"""The agent's working context: settings, the opened store, who the agent is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cs_console.settings import Settings
from cs_console.store import kv
from cs_console.store.db import (
    Database,
    SessionHolder,
    SessionKind,
    StoreBusy,
    StoreError,
    StoreInUse,
)
from cs_console.sync.engine import AGENT_NAME, AGENT_ROLE

if TYPE_CHECKING:
    from cs_console.services.events import SessionEvent

__all__ = [
    "AgentContext",
    "SessionHolder",
    "SessionKind",
    "StoreBusy",
    "StoreError",
    "StoreInUse",
    "open_context",
]


@dataclass(slots=True)
class AgentContext:
    """Passed to every service call."""

    settings: Settings
    db: Database
    #: Where services report what they did (a session's listeners); nowhere by default.
    tell: Callable[[SessionEvent], None] = field(default=lambda _event: None, repr=False)

    @property
    def agent_name(self) -> str:
        """The name the backend knows us by (learnt at the first sync), else the config's."""
        return kv.get_state(self.db, AGENT_NAME) or self.settings.agent.name or "me"

    @property
    def is_supervisor(self) -> bool:
        """Whether the backend said this agent is a supervisor."""
        return kv.get_state(self.db, AGENT_ROLE) == "supervisor"

    def close(self) -> None:
        """Close the store (and give up its session, if this context held it)."""
        self.db.close()


def open_context(
    settings: Settings, *, writer: bool = True, session: SessionKind | None = "console"
) -> AgentContext:
    """Open (and if needed create or upgrade) the store under ``settings.paths.home``.

    Args:
        settings: Whose store, and everything else the services read.
        writer: False opens the store read-only (it must exist).
        session: ``"console"`` (the default, what the TUI opens) holds the store's
            session until :meth:`AgentContext.close`, so a second console is refused
            with the first one's pid; ``"sync"`` holds it for one ``cs-console sync``;
            None writes beside whoever holds it (the command line queuing a reply).

    Raises:
        StoreInUse: another session holds the store (the message names its pid).
        StoreError: the store cannot be opened; the message says why and what to do.
    """
    return AgentContext(
        settings=settings, db=Database(settings.paths.store, writer=writer, session=session)
    )
