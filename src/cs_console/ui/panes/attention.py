"""What the workspace keeps an eye on while the agent works: whether they are at the
keyboard (presence turns away when idle, online at the next key), what should reach
them without looking (alerts: bell, desktop notification), what waits for an answer
(the status bar's counts), and the search index, built in the background.

One object, so the workspace calls four methods at the moments it already has (a key,
a sync, a tick, a queue reload) and holds no watching state of its own.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from textual.worker import get_current_worker

from cs_console.ui.alerts import Alerter

if TYPE_CHECKING:
    from textual.app import App

    from cs_console.services.presence import IdleWatch
    from cs_console.ui.panes.base import Desk
    from cs_console.ui.widgets.status_bar import StatusBar
    from cs_console.views import Abilities

# The services are imported where they are used: they load SQLAlchemy, which the first
# frame does not wait for.

#: How often idleness is checked (a key is noticed at once; going away may wait this).
IDLE_CHECK_S = 15.0

#: Rows the search index may lack for it to be built in the background at start. A
#: bigger backlog (a large store from before search existed) is built while the search
#: dialog is open, with its progress shown, rather than costing every start ~60 MB and
#: tens of seconds of a core (measured: 1M messages, 42 s).
AUTO_INDEX_ROWS = 20_000


class Attention:
    """Presence, alerts, unanswered counts and the search index, for one workspace."""

    def __init__(self, app: App[Any], desk: Desk, bar: StatusBar) -> None:
        self.desk = desk
        self.bar = bar
        console = desk.console
        self.alerter = Alerter(app, console.settings.alerts, clock=console.clock)
        #: None until the store is open (keys before that say nothing of presence).
        self._idle: IdleWatch | None = None

    def store_opened(self) -> None:
        """Start watching idleness, and index what search has not indexed yet."""
        from cs_console.services.presence import IdleWatch

        console = self.desk.console
        self._idle = IdleWatch(console.clock, console.settings.shift.away_after_s)
        self.bar.set_interval(IDLE_CHECK_S, self._idle_check)
        self.bar.run_worker(self._build_search_index, thread=True, group="search-index")

    def abilities_known(self, abilities: Abilities) -> None:
        """The backend said what it can do: go online now if the settings say so and the
        backend assigns by presence (Chatwoot keeps availability to itself)."""
        ctx = self.desk.ctx
        if (
            ctx is None
            or not self.desk.console.settings.shift.online_at_start
            or abilities.reason("presence") is not None
        ):
            return
        from cs_console.services import presence
        from cs_console.services.context import StoreError

        try:
            presence.set_presence(ctx, presence.ONLINE)
        except StoreError:
            return  # a read-only store (a second console): the first one says it
        self._presence_changed()

    def key_pressed(self) -> None:
        """Any key, anywhere: the agent is at the keyboard."""
        ctx, idle = self.desk.ctx, self._idle
        if ctx is None or idle is None:
            return
        from cs_console.services import presence

        if presence.on_key(ctx, idle) is not None:
            self._presence_changed()

    def synced(self) -> None:
        """A sync cycle ended: the presence the server holds, and what to alert."""
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import presence

        self.bar.presence = presence.current(ctx)
        self.alerter.after_sync(ctx, self.desk.open_id)

    def tick(self) -> None:
        """Each second: clocks turning red."""
        self.alerter.tick(self.desk.ctx, self.desk.open_id)

    def queue_reloaded(self) -> None:
        """The queue was read again: count who waits for an answer."""
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services.alerts import unanswered

        self.bar.unanswered = unanswered(ctx, ctx.agent_name)

    def _idle_check(self) -> None:
        ctx, idle = self.desk.ctx, self._idle
        if ctx is None or idle is None:
            return
        from cs_console.services import presence

        if presence.on_tick(ctx, idle) is not None:
            self._presence_changed()

    def _presence_changed(self) -> None:
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import presence

        self.bar.presence = presence.current(ctx)
        self.desk.console.kick_sync()

    def _build_search_index(self) -> None:
        # A thread, in small transactions: what the index lacks (rows synced while no
        # console ran) is indexed while the agent works, unless there is too much of it.
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import search
        from cs_console.services.context import StoreError

        worker = get_current_worker()
        # Read-only or full: search indexes what it can when it is used.
        with suppress(StoreError):
            known = search.index_progress(ctx)
            if known.total - known.indexed + known.dirty > AUTO_INDEX_ROWS:
                return
            search.build_index(ctx, should_stop=lambda: worker.is_cancelled)
