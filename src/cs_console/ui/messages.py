"""Messages posted from workers and widgets: facts the screen turns into UI changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from cs_console.replies.library import Library
    from cs_console.replies.search import ReplyIndex
    from cs_console.services.context import AgentContext
    from cs_console.sync.engine import SyncReport
    from cs_console.views import SyncStatus


@dataclass
class StoreOpened(Message):
    """The store is open; the workspace can load."""

    context: AgentContext


@dataclass
class StoreFailed(Message):
    """The store could not be opened; ``reason`` is for the agent."""

    reason: str


@dataclass
class RepliesLoaded(Message):
    """The quick-reply library and its search index are ready."""

    library: Library
    index: ReplyIndex
    problems: list[str]


@dataclass
class SyncChanged(Message):
    """A sync cycle ended (or the link changed state)."""

    status: SyncStatus
    report: SyncReport | None

    def can_replace(self, message: Message) -> bool:
        """Only the newest status matters when several queue up."""
        return isinstance(message, SyncChanged) and message.report is None
