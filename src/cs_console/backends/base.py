"""The interface every backend implements, and the errors it may raise.

The sync engine only ever calls :class:`Backend`'s four methods; an error tells it
whether to retry (and when), to pause for a new token, or to give up on one operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cs_console import protocol as p


class BackendError(Exception):
    """Something went wrong talking to the backend; ``str()`` is for the agent to read."""

    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(BackendError):
    """Cannot reach the backend, or it is overloaded or failing: retry later."""


class BadResponse(BackendError):
    """The backend answered something we cannot accept; nothing was stored. Retry later."""


class AuthFailed(BackendError):
    """The token was refused (401): sync pauses until a new token is given."""


class Refused(BackendError):
    """The backend refused this one operation for good (403 forbidden, 404, 409, 422)."""

    transient = False

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


#: What each capability lets the agent do, for "X cannot ..." messages.
ABILITIES: dict[str, str] = {
    "conversations": "hold conversations",
    "send_messages": "send replies",
    "internal_notes": "keep internal notes",
    "assign": "assign conversations",
    "statuses": "change a conversation's status",
    "orders": "show orders",
    "remarks": "store order remarks",
    "returns": "record returns",
    "refunds": "refund orders",
    "cases": "store after-sales cases and handovers",
    "attachments": "send photos or files",
    "presence": "assign conversations by presence (online, away, offline)",
}


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do; the UI hides or greys the rest and says why."""

    conversations: bool = True
    send_messages: bool = True
    internal_notes: bool = True
    assign: bool = True
    statuses: bool = True
    orders: bool = True
    remarks: bool = True
    returns: bool = True
    refunds: bool = True
    cases: bool = True
    attachments: bool = True
    presence: bool = True
    #: ability -> why it is missing, when a generic "cannot" is not enough.
    notes: tuple[tuple[str, str], ...] = ()

    def reason(self, ability: str, backend_name: str = "the backend") -> str | None:
        """None when ``ability`` is there; else a sentence for the agent saying why not."""
        if getattr(self, ability):
            return None
        for name, note in self.notes:
            if name == ability:
                return note
        return f"{backend_name} cannot {ABILITIES.get(ability, ability)}"


class Backend(Protocol):
    """A place to pull changes from and push operations to."""

    name: str
    capabilities: Capabilities

    def me(self) -> p.Me:
        """Who the configured token belongs to."""
        ...

    def pull(self, cursor: str, limit: int = p.DEFAULT_PAGE) -> p.ChangePage:
        """Changes after ``cursor``: "" for the start, else a page's ``cursor`` as given."""
        ...

    def push(self, key: str, operation: p.Operation) -> p.OperationResult:
        """Apply ``operation`` once, whatever the number of calls with the same ``key``."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class AttachmentBackend(Backend, Protocol):
    """A backend that takes and gives files; the sync engine and the services check
    for it (``isinstance``) before sending or opening one."""

    def upload(self, key: str, ref: p.AttachmentRef, data: bytes) -> None:
        """Hand over the bytes of a file that the operation pushed next (with ``key``)
        names; safe to repeat: the same file again is not stored twice."""
        ...

    def fetch_attachment(self, attachment: p.AttachmentRecord) -> bytes:
        """The bytes of an attachment, at most ``protocol.MAX_ATTACHMENT_BYTES``."""
        ...

    def attachment_url(self, attachment: p.AttachmentRecord) -> str | None:
        """An address a person can open the attachment at, if there is one."""
        ...


def attachment_backend(backend: Backend | None) -> AttachmentBackend | None:
    """The backend that takes and gives ``backend``'s files: itself, or the chat
    source of a backend made of two systems (a ``conversations`` attribute); None when
    there is none."""
    if isinstance(backend, AttachmentBackend):
        return backend
    inner = getattr(backend, "conversations", None)
    return inner if isinstance(inner, AttachmentBackend) else None


@runtime_checkable
class LiveFeed(Protocol):
    """A backend whose change feed can be long-polled (the reference server)."""

    def wait_for_change(self, cursor: str, wait: float) -> bool:
        """Hold up to ``wait`` seconds for a change after ``cursor``; True if one came."""
        ...


def live_feed(backend: Backend | None) -> LiveFeed | None:
    """The long-pollable feed of ``backend``: itself, or its chat source; None when
    only polling will do (Chatwoot, Vendure, Medusa)."""
    if isinstance(backend, LiveFeed):
        return backend
    inner = getattr(backend, "conversations", None)
    return inner if isinstance(inner, LiveFeed) else None
