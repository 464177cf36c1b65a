"""What the workspace's panes and flows share: the app's services through one accessor,
the desk (the open store, the conversation on screen, what the backend can do), the
one path every write takes, and the messages panes send up to the workspace.

Service modules are imported inside the functions that use them, here and in every
pane: they load SQLAlchemy, which the first frame must not wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

from textual.containers import Vertical
from textual.dom import DOMNode
from textual.message import Message
from textual.widget import Widget
from textual.worker import WorkerCancelled, WorkerFailed

from cs_console.ui.actions import Situation, check_action

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext
    from cs_console.services.session import Session
    from cs_console.settings import Settings
    from cs_console.ui.messages import RepliesLoaded
    from cs_console.views import Abilities, MessageRow, OrderRow

T = TypeVar("T")


@runtime_checkable
class Console(Protocol):
    """What the workspace uses of the app: its session, mostly through a few shortcuts.
    Panes reach it only through :func:`console_of`."""

    @property
    def session(self) -> Session:
        """The running console: store, backends, sync (see services.session)."""
        ...

    @property
    def settings(self) -> Settings:
        """The agent's settings."""
        ...

    @property
    def replies(self) -> RepliesLoaded | None:
        """The quick-reply library and its index, once loaded."""
        ...

    def clock(self) -> datetime:
        """The console's "now"."""
        ...

    def kick_sync(self) -> None:
        """Sync now rather than at the next interval."""
        ...

    def ship_by(self, order: OrderRow) -> datetime | None:
        """The order's ship-by deadline under the configured hours."""
        ...


def console_of(node: DOMNode) -> Console:
    """The app's services, as the workspace uses them."""
    app = node.app
    if not isinstance(app, Console):
        raise TypeError(f"{type(app).__name__} is not a cs-console app")
    return app


@dataclass(frozen=True, slots=True)
class Written(Generic[T]):
    """A write went through: the service's answer."""

    value: T


class Desk:
    """The workspace's shared state, handed to each pane and flow.

    Args:
        node: The workspace screen (the app's services are reached through it).
        selected_order: The order highlighted in the customer pane.
        thread_messages: The messages the conversation pane shows.
    """

    def __init__(
        self,
        node: DOMNode,
        *,
        selected_order: Callable[[], OrderRow | None],
        thread_messages: Callable[[], list[MessageRow]],
    ) -> None:
        self._node = node
        self.selected_order = selected_order
        self.thread_messages = thread_messages
        self.ctx: AgentContext | None = None
        #: The conversation on screen (thread, composer, customer).
        self.open_id: str | None = None
        #: What the backend can do; None until known (nothing is greyed out meanwhile).
        self.abilities: Abilities | None = None
        # One write at a time, in the order the agent made them: Ctrl+R pressed while
        # the reply is still being written takes back that reply.
        self._writing = asyncio.Lock()

    @property
    def console(self) -> Console:
        """The app's settings, clock, sync, ship-by rule and quick replies."""
        return console_of(self._node)

    def situation(self) -> Situation:
        """What decides whether an action applies now."""
        return Situation(
            store_open=self.ctx is not None,
            conversation_open=self.ctx is not None and self.open_id is not None,
            abilities=self.abilities,
        )

    def missing(self, ability: str) -> str | None:
        """Why the backend cannot do ``ability`` (None: it can, or it is not known yet)."""
        return None if self.abilities is None else self.abilities.reason(ability)

    async def settled(self) -> None:
        """Wait until the writes under way are done (and their outcome handled)."""
        async with self._writing:
            pass

    async def write(
        self,
        node: Widget,
        call: Callable[[], T],
        *,
        name: str,
        failed: Callable[[Exception], str],
        refusals: tuple[type[Exception], ...] = (),
    ) -> Written[T] | None:
        """Run one write through the services, the way every write goes.

        A thread worker calls the service (a synced SQLite write must not hold up the
        keys); the outcome comes back here, and a refusal is told to the agent in one
        place. A bug is not caught: the worker fails and the app's worker handler says so.
        Writes run one at a time, in order.

        Args:
            node: Where the worker runs and the refusal is told.
            call: The service call.
            name: What the agent did, for the worker's name ("Claim").
            failed: What to say when the store refuses (disk full...), given its error.
            refusals: Errors whose message is the whole answer (a rule said no).

        Returns:
            The service's answer, or None when it was refused (and said so).
        """
        # Deferred: the store's errors come with SQLAlchemy (start-up speed).
        from cs_console.services.context import StoreError

        def attempt() -> Written[T] | Exception:
            try:
                return Written(call())
            except refusals as exc:
                return exc
            except StoreError as exc:  # disk full, read-only, busy: the cause is known
                return exc

        async with self._writing:
            worker = node.run_worker(
                attempt, name=name, group="write", thread=True, exit_on_error=False
            )
            try:
                outcome = await worker.wait()
            except (WorkerFailed, WorkerCancelled):
                return None
        if isinstance(outcome, Written):
            return outcome
        if isinstance(outcome, StoreError):
            node.notify(failed(outcome), severity="error", markup=False)
        else:
            node.notify(str(outcome), severity="warning", markup=False)
        return None


class Pane(Vertical):
    """A part of the workspace: greys its keys out by the action table."""

    def __init__(self, desk: Desk, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.desk = desk

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """True when ``action`` applies now; None greys it out (and it does not run)."""
        return check_action(action, self.desk.situation())


# --- what the panes and flows tell the workspace -------------------------------------


@dataclass
class OpenConversation(Message):
    """Show this conversation (again): thread, composer, customer and orders."""

    conversation_id: str
    keep_position: bool = False


@dataclass
class GoToConversation(Message):
    """Put the queue's cursor on this conversation and show it."""

    conversation_id: str


@dataclass
class QueueStale(Message):
    """A write moved conversations in the queue: read it again."""


@dataclass
class CaseWanted(Message):
    """Open the case form for the conversation on screen (``category``: pre-chosen)."""

    category: str | None = None
