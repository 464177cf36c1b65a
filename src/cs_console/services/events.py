"""What happened in a session, in the past tense.

A :class:`~cs_console.services.session.Session` tells its listeners these facts; the
TUI turns each into a message for its screens, a headless caller (a test, a script)
just reads them. They are plain frozen values: no Textual, no callbacks, so a listener
on another thread can hold them safely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext
    from cs_console.sync.engine import SyncReport
    from cs_console.views import SyncStatus


@dataclass(frozen=True, slots=True)
class StoreOpened:
    """The store is open: services can be called with ``context``."""

    context: AgentContext


@dataclass(frozen=True, slots=True)
class StoreFailed:
    """The store could not be opened or failed its check; ``reason`` is for the agent."""

    reason: str


@dataclass(frozen=True, slots=True)
class SyncStateChanged:
    """The link to the backend changed (connected, lost, misconfigured) between cycles."""

    status: SyncStatus


@dataclass(frozen=True, slots=True)
class Synced:
    """A sync cycle ended: what it pushed, pulled and was refused, and the new status."""

    status: SyncStatus
    report: SyncReport


@dataclass(frozen=True, slots=True)
class ShopRepliesChanged:
    """A pull brought published, changed or withdrawn shop quick replies."""


@dataclass(frozen=True, slots=True)
class ReplyQueued:
    """The agent's reply or note is in the store and the outbox."""

    conversation_id: str
    message_id: str


@dataclass(frozen=True, slots=True)
class OperationsRefused:
    """The backend refused ``count`` queued operations for good (the outbox says why)."""

    count: int


#: Every event a session tells its listeners.
SessionEvent = (
    StoreOpened
    | StoreFailed
    | SyncStateChanged
    | Synced
    | ShopRepliesChanged
    | ReplyQueued
    | OperationsRefused
)
