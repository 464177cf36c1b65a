"""The console's session: one headless object owning what a running console holds.

A :class:`Session` owns the settings, the store (opened on demand), the backend
registry, the sync loop and the quick-reply library's stamp, and tells its listeners
what happened (:mod:`cs_console.services.events`). The TUI is one listener
(``ui.app.make_app(session)``); a test or a script drives the same session without
a screen. Nothing here imports Textual.

Threads: :meth:`open` and :meth:`run_sync` block and are meant for worker threads;
listeners are called on whichever thread the event happened on, so a UI listener
must hand the event over to its own thread (Textual's ``post_message`` does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from cs_console.services.backends import DEFAULT_BACKENDS, BackendRegistry
from cs_console.services.events import (
    OperationsRefused,
    SessionEvent,
    ShopRepliesChanged,
    StoreFailed,
    StoreOpened,
    Synced,
    SyncStateChanged,
)
from cs_console.settings import Settings, SettingsError
from cs_console.timeutil import utcnow

if TYPE_CHECKING:
    from cs_console.backends.base import Backend
    from cs_console.replies.library import Library
    from cs_console.replies.lint import LintIssue
    from cs_console.services.context import AgentContext, SessionKind
    from cs_console.sync.engine import SyncLoop, SyncReport
    from cs_console.views import Abilities, OrderRow, SyncStatus

Listener = Callable[[SessionEvent], None]


class Session:
    """One agent's console, without a screen.

    Args:
        settings: What the console was configured with.
        backends: Which factory builds which backend kind; tests swap one in.
        clock: "Now", for waiting clocks and deadlines (tests freeze it).
        connect: Called in the sync thread before the first cycle to learn the
            backend's address late (the demo shop starts beside the console); returns
            the settings to sync with.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        backends: BackendRegistry = DEFAULT_BACKENDS,
        clock: Callable[[], datetime] = utcnow,
        connect: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.backends = backends
        self.clock = clock
        self.connect = connect
        self.context: AgentContext | None = None
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._loop: SyncLoop | None = None
        self._stopped = threading.Event()
        #: The shop replies the library was last loaded with (see :meth:`load_replies`).
        self._replies_stamp: str | None = None

    # --- events --------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns the unsubscriber."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def tell(self, event: SessionEvent) -> None:
        """Pass ``event`` to every listener (services call this through the context)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)

    # --- the store -----------------------------------------------------------

    def open(self, holder: SessionKind | None = "console") -> AgentContext | None:
        """Open (create, upgrade) the store and check it; blocking.

        Returns the context, or None when the store cannot be opened (a
        :class:`StoreFailed` event says why). A failed integrity check is told too,
        but the context is still returned: the agent can keep working and save what
        they have.
        """
        from cs_console.services.context import StoreError, open_context

        try:
            context = open_context(self.settings, session=holder)
        except StoreError as exc:
            self.tell(StoreFailed(str(exc)))
            return None
        context.tell = self.tell
        self.context = context
        self.tell(StoreOpened(context))
        try:
            context.db.quick_check()
        except StoreError as exc:
            self.tell(StoreFailed(str(exc)))
        return context

    def close(self) -> None:
        """Stop syncing and close the store (giving up its session for the next one)."""
        self.stop_sync()
        if self.context is not None:
            self.context.close()
            self.context = None

    # --- sync ----------------------------------------------------------------

    def backend(self) -> Backend:
        """A new backend as the settings name it (the caller closes it).

        Raises:
            SettingsError: no backend configured, or its settings are incomplete.
        """
        return self.backends.backend_for(self.settings)

    def abilities(self) -> Abilities:
        """What the configured backend can do, asking it nothing over the network."""
        from cs_console.services.sync import abilities

        return abilities(self.settings, self.backends)

    def run_sync(self) -> None:
        """Sync until :meth:`stop_sync`; blocking, for a worker thread.

        The store must be open. A settings problem (no backend, no token) is told as a
        :class:`SyncStateChanged` and ends the call; everything else is the loop's to
        retry.
        """
        from cs_console.services.sync import make_engine, make_loop
        from cs_console.views import SyncStatus

        context = self.context
        if context is None:
            raise RuntimeError("open the store before syncing")
        try:
            if self.connect is not None:
                self.settings = context.settings = self.connect()
            engine = make_engine(context, self.backend())
        except SettingsError as exc:
            self.tell(SyncStateChanged(SyncStatus(False, None, 0, str(exc), None)))
            return
        with self._lock:
            if self._stopped.is_set():
                engine.backend.close()
                return
            self._loop = make_loop(context, engine, self._cycle_ended)
        try:
            self._loop.run()
        finally:
            engine.backend.close()

    def kick_sync(self) -> None:
        """Sync now rather than at the next interval (after queuing something)."""
        loop = self._loop
        if loop is not None:
            loop.kick()

    def stop_sync(self) -> None:
        """End the sync loop after its current cycle (also before it started)."""
        with self._lock:
            self._stopped.set()
            loop = self._loop
        if loop is not None:
            loop.stop()

    def _cycle_ended(self, status: SyncStatus, report: SyncReport | None) -> None:
        if report is None:
            self.tell(SyncStateChanged(status))
            return
        self.tell(Synced(status, report))
        if report.refused:
            self.tell(OperationsRefused(report.refused))
        if report.pulled and self._replies_changed():
            self.tell(ShopRepliesChanged())

    # --- quick replies -------------------------------------------------------

    def load_replies(self) -> tuple[Library, list[LintIssue]]:
        """The quick-reply library: shipped, the shop's published (synced), the agent's."""
        from cs_console.services import replies

        context = self.context
        if context is None:
            return replies.load(self.settings)
        self._replies_stamp = replies.shop_replies_stamp(context)
        return replies.load_for(context)

    def _replies_changed(self) -> bool:
        from cs_console.services import replies

        context = self.context
        if context is None or self._replies_stamp is None:
            return False  # never loaded: the first load reads them anyway
        return replies.shop_replies_stamp(context) != self._replies_stamp

    # --- orders --------------------------------------------------------------

    def ship_by(self, order: OrderRow) -> datetime | None:
        """The order's ship-by deadline under the configured hours."""
        from cs_console.services.orders import ship_by

        return ship_by(order, self.settings.shift.ship_by_hours)
