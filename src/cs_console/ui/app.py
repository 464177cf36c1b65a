"""The Textual application: opens the store and runs sync in worker threads, and
hands what they produce to the workspace as messages."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, work
from textual.app import App, SystemCommand
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from cs_console.i18n import _, set_language
from cs_console.sanitize import sanitize_line
from cs_console.services.events import (
    SessionEvent,
    ShopRepliesChanged,
    StoreFailed,
    StoreOpened,
)
from cs_console.services.session import Session
from cs_console.settings import Settings
from cs_console.ui.actions import bindings_for
from cs_console.ui.messages import RepliesLoaded, SessionMessage
from cs_console.ui.palette import system_commands
from cs_console.ui.screens.workspace import WorkspaceScreen

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext
    from cs_console.views import OrderRow

# App colours a theme may override; literal defaults so a theme that omits them loads.
APP_COLOURS = {
    "clock-warn": "#e5c07b",
    "clock-alert": "#e06c75",
    "message-customer": "#d7dae0",
    "message-agent": "#61afef",
    "message-note": "#e5c07b",
    "flag-red": "#e06c75",
    "flag-yellow": "#e5c07b",
    "flag-green": "#98c379",
    "flag-blue": "#61afef",
    "flag-purple": "#c678dd",
}


class Crashed(Exception):
    """What the terminal shows after an unexpected error: where the log is."""

    def __init__(self, log: Path, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.log = log
        self.error = error

    def __rich__(self) -> Text:
        what = sanitize_line(f"{type(self.error).__name__}: {self.error}")[:300]
        return Text(
            _(
                "cs-console stopped on an unexpected error ({what}).\n"
                "Nothing you wrote is lost: it is in the store and goes out at the next "
                "start.\nThe details are in {log}; please send that file to whoever looks "
                "after cs-console."
            ).format(what=what, log=sanitize_line(str(self.log)))
        )


class ConsoleApp(App[None]):
    """cs-console's TUI."""

    TITLE = "cs-console"
    CSS_PATH = "app.tcss"
    BINDINGS = bindings_for("app")

    def __init__(
        self,
        session: Session,
        *,
        demo: bool = False,
        sync_enabled: bool = True,
    ) -> None:
        # Before anything is built: every label from here on is in this language.
        set_language(session.settings.ui_language)
        super().__init__()
        self.session = session
        self.demo = demo
        self.sync_enabled = sync_enabled
        self.replies: RepliesLoaded | None = None
        self.effective_keymap: dict[str, str] = {}
        self.composer_keys_note = (
            "Enter / Ctrl+J" if session.settings.ui.enter_sends else "Ctrl+J / Enter"
        )
        if demo:
            self.sub_title = _("demo shop")
        self._unsubscribe = session.subscribe(self._told)

    def _told(self, event: SessionEvent) -> None:
        # Events come from worker threads; post_message hands them to the app's loop.
        self.post_message(SessionMessage(event))

    @property
    def settings(self) -> Settings:
        """The session's settings (the demo learns its backend's address late)."""
        return self.session.settings

    @property
    def context(self) -> AgentContext | None:
        """The open store, once the session has opened it."""
        return self.session.context

    def clock(self) -> datetime:
        """The session's "now"."""
        return self.session.clock()

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """Colours of the app's own (waiting clock, flags, message kinds)."""
        return dict(APP_COLOURS)

    def on_mount(self) -> None:
        self._apply_themes()
        self._apply_keymap()
        self.push_screen(WorkspaceScreen())
        # After the first paint: the worker imports SQLAlchemy, which would hold the GIL
        # while the first frame is being drawn.
        self.call_after_refresh(self.open_store)

    def _apply_themes(self) -> None:
        """Register the shipped and the agent's themes; a broken file is reported once."""
        from cs_console.ui.themes import load_themes, shipped_themes_dir

        themes, problems = load_themes([shipped_themes_dir(), self.settings.paths.user_themes_dir])
        for theme in themes:
            self.register_theme(theme)
        for problem in problems:
            self.notify(
                _("Theme skipped: {problem}").format(problem=problem),
                severity="warning",
                timeout=10,
                markup=False,
            )
        wanted = self.settings.ui.theme
        if wanted not in self.available_themes:
            self.notify(
                _("No theme named {name!r}; using cs-dark.").format(name=wanted),
                severity="warning",
                markup=False,
            )
            wanted = "cs-dark" if "cs-dark" in self.available_themes else "textual-dark"
        self.theme = wanted
        #: The theme start-up chose: Textual reports setting it as a change, which must
        #: not be saved as a live pick (ui-state.json would then send every later start
        #: down the slow configuration path).
        self._theme_at_start = wanted
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        """A theme picked live from the palette persists (ui-state.json, not config.toml)."""
        if theme.name == self._theme_at_start:
            return
        self._theme_at_start = ""  # picked away and back: the way back is a pick too
        from cs_console.settings import SettingsError, save_ui_choice

        try:
            save_ui_choice(self.settings.paths.config_dir, theme.name)
        except (OSError, SettingsError) as exc:
            self.notify(
                _("Theme not saved: {error}").format(error=exc), severity="warning", markup=False
            )

    def _apply_keymap(self) -> None:
        """Remap bindings by id from the config; unknown ids and clashes are reported."""
        from cs_console.ui.keys import check_keymap

        problems = check_keymap(self.settings.keymap)
        for problem in problems:
            self.notify(
                _("Keymap: {problem}").format(problem=problem),
                severity="warning",
                timeout=15,
                markup=False,
            )
        self.effective_keymap = dict(self.settings.keymap)
        if self.settings.keymap:
            self.set_keymap(self.settings.keymap)

    def ship_by(self, order: OrderRow) -> datetime | None:
        """The order's ship-by deadline under the configured hours."""
        return self.session.ship_by(order)

    # --- workers -------------------------------------------------------------

    @work(thread=True, exclusive=True, group="store", exit_on_error=False)
    def open_store(self) -> None:
        """Open the store after the first frame (SQLAlchemy's import is not cheap)."""
        try:
            self.session.open()
        finally:
            # Long-lived objects (modules, the engine, the widgets) leave the collector's
            # view: its full passes over them were the 50-100 ms pauses behind the slowest
            # keystrokes. The launcher held the collector off until now (start-up speed).
            gc.collect()
            gc.freeze()
            gc.enable()

    @work(thread=True, exclusive=True, group="replies", exit_on_error=False)
    def load_replies(self) -> None:
        """Load the quick-reply library and build its search index (pinyin included)."""
        from cs_console.replies.search import ReplyIndex

        library, issues = self.session.load_replies()
        self.post_message(
            RepliesLoaded(library, ReplyIndex(list(library)), [str(i) for i in issues])
        )

    def on_replies_loaded(self, message: RepliesLoaded) -> None:
        self.replies = message
        for problem in message.problems[:5]:
            self.notify(
                _("Quick reply skipped: {problem}").format(problem=problem),
                severity="warning",
                markup=False,
            )
        if self.workspace is not None:
            self.workspace.post_message(RepliesLoaded(message.library, message.index, []))

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def run_sync(self) -> None:
        """Connect (the demo server may still be starting) and run the sync loop."""
        self.session.run_sync()

    def kick_sync(self) -> None:
        """Sync now rather than at the next interval."""
        self.session.kick_sync()

    @property
    def workspace(self) -> WorkspaceScreen | None:
        """The workspace screen, also while a dialog is on top of it."""
        return next((s for s in self.screen_stack if isinstance(s, WorkspaceScreen)), None)

    async def on_event(self, event: events.Event) -> None:
        # Every key passes here first, also those a text box keeps to itself: typing a
        # reply is activity too (an idle agent turns away, the next key brings them back).
        if isinstance(event, events.Key) and self.workspace is not None:
            self.workspace.key_pressed()
        await super().on_event(event)

    def on_session_message(self, message: SessionMessage) -> None:
        """What the session did, turned into UI changes."""
        event = message.event
        if isinstance(event, StoreOpened):
            # The reply index (pypinyin) is not needed for the first screen: build it after.
            self.set_timer(1.0, self.load_replies)
            if self.sync_enabled:
                self.run_sync()
        elif isinstance(event, StoreFailed):
            self.notify(
                event.reason, title=_("Store problem"), severity="error", timeout=30, markup=False
            )
        elif isinstance(event, ShopRepliesChanged) and self.replies is not None:
            self.load_replies()  # the shop published, changed or withdrew replies
        # The workspace takes what concerns it from its own copy (which does not bubble
        # back up here).
        if self.workspace is not None:
            self.workspace.post_message(SessionMessage(event))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed with a bug says so instead of taking the app down."""
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.notify(
                _("{action} failed: {error}").format(
                    action=event.worker.name, error=f"{type(error).__name__}: {error}"
                ),
                severity="error",
                timeout=20,
                markup=False,
            )

    def _handle_exception(self, error: Exception) -> None:
        """An error no handler caught: log it, stop sync, leave with a short message.

        Textual's own handler prints a traceback *with local variables* (customer text,
        the token's holder) on the terminal and leaves the sync thread running, which
        kept the process alive after the screen closed. This is the only hook Textual
        offers for it, so it is overridden: the log gets the traceback without locals,
        the terminal gets one line pointing to it, and the exit code is 1.
        """
        from cs_console.crash import write_crash_log

        self.session.stop_sync()
        token = self.settings.token
        log = write_crash_log(
            self.settings.paths.logs_dir, error, secrets=[token.reveal()] if token else []
        )
        crash = Crashed(log, error)
        crash.__cause__ = error
        super()._handle_exception(crash)

    async def action_quit(self) -> None:
        """Keep what is in the composer, then leave."""
        if self.workspace is not None:
            self.workspace.save_draft()
        self.exit()

    def on_unmount(self) -> None:
        self._unsubscribe()
        # Releases the store's session for the next console (or the next test).
        self.session.close()

    # --- commands ------------------------------------------------------------

    def action_help(self) -> None:
        """Show every key."""
        from cs_console.ui.screens.help import HelpScreen  # Markdown is slow to import

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: Textual's commands, then every console action from the
        action table, with the keys that do it now."""
        yield from super().get_system_commands(screen)
        yield from system_commands(self, screen)


def make_app(session: Session, *, demo: bool = False, sync: bool = True) -> ConsoleApp:
    """The console's TUI over ``session``: what the CLI runs and every UI test drives.

    Args:
        session: The settings, store, backends and clock to work with.
        demo: Label the window as the demo shop.
        sync: Run the sync loop once the store is open (snapshot tests turn it off).
    """
    return ConsoleApp(session, demo=demo, sync_enabled=sync)
