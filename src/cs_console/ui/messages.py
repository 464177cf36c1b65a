"""Messages posted from workers and the session: facts the screens turn into UI changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from cs_console.services.events import SyncStateChanged

if TYPE_CHECKING:
    from cs_console.replies.library import Library
    from cs_console.replies.search import ReplyIndex
    from cs_console.services.events import SessionEvent


@dataclass
class SessionMessage(Message, bubble=False):
    """Something the session did (:mod:`cs_console.services.events`): told to the app,
    which hands a copy to the workspace."""

    # bubble=False: the app delivers a copy to the workspace itself; bubbling would
    # bring that copy back to the app, which would hand it down again.
    event: SessionEvent

    def can_replace(self, message: Message) -> bool:
        """Only the newest link state matters when several queue up."""
        return (
            isinstance(message, SessionMessage)
            and isinstance(message.event, SyncStateChanged)
            and isinstance(self.event, SyncStateChanged)
        )


@dataclass
class RepliesLoaded(Message, bubble=False):
    """The quick-reply library and its search index are ready."""

    library: Library
    index: ReplyIndex
    problems: list[str]
