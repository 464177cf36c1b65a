"""Pressing every key of the running console: each focus area, each dialog a key opens.

The keys come from the live app, never from a list kept here:

* a focus area's keys are the ``active_bindings`` of its focused widget and of the
  containers around it; the workspace's are those of the screen and of the app;
* a dialog's keys are its own bindings, plus, in the console's own dialogs, the keys
  that move and choose (Enter, Up, Down) of the widget that has the focus in it;
* the composer adds the keys it handles itself (see ``test_every_key.composer_keys``).

Every key of the console's own bindings (they all have an id) is pressed, aliases
included (``down`` and ``j``); of Textual's own bindings (no id: a TextArea's editing
keys, a scroll view's), one key per action, which is enough to run the action.

After every key the walker checks that the app still runs, that no worker ended in
error and that no notification names a Python exception. A failure is recorded with the
keys that led to it and the walk goes on; when the app dies, a new console starts on
the same home and the walk continues with the next stage.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import pkgutil
import re
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.worker import Worker, WorkerState

import cs_console.ui.screens
from cs_console.ui.actions import BY_ID
from cs_console.ui.app import ConsoleApp
from cs_console.ui.screens.handover import HandoverScreen
from cs_console.ui.screens.workspace import WorkspaceScreen
from tests.ui_support import composer, queue_list, thread_view, wait_loaded, wait_until, workspace

if TYPE_CHECKING:
    from textual.binding import ActiveBinding
    from textual.dom import DOMNode

#: A notification that names one of these is an exception the app let through.
EXCEPTION_NAME = re.compile(
    r"\b(?:Traceback|[A-Z][A-Za-z0-9]*(?:Error|Exception)|KeyboardInterrupt|StopIteration)\b"
)
#: Binding actions that close a dialog: pressed last, since each of them ends it.
CLOSING_ACTIONS = frozenset({"close", "cancel", "back", "dismiss", "app.pop_screen"})
#: The keys of a widget inside a dialog that are pressed: those that move and choose.
CHOOSING_KEYS = ("up", "down", "enter")
#: How long the workers a key started may take before the walk calls them stuck.
WORKER_TIMEOUT_S = 15.0
#: Dialogs opened from dialogs are walked this deep.
MAX_DEPTH = 3
#: The most Escapes it may take to get from a dialog back to the workspace.
MAX_ESCAPES = 6
#: Keys shown with a failure.
KEYS_SHOWN = 14
#: A whole console session (start to quit) must end within this, or the walk says so.
SESSION_TIMEOUT_S = 600.0
#: Consoles started at most in one walk (each crash costs one).
MAX_SESSIONS = 8

#: The focus areas: the binding id whose key puts the focus there, and the widget.
AREAS: dict[str, tuple[str, Callable[[ConsoleApp], Widget]]] = {
    "queue": ("workspace.focus_queue", queue_list),
    "thread": ("workspace.focus_thread", thread_view),
    "composer": ("workspace.focus_composer", composer),
    "orders": ("workspace.focus_orders", lambda app: workspace(app).query_one("#order-list")),
    "history": ("queue.history", lambda app: workspace(app).query_one("#history-list")),
}


def dialog_classes() -> list[type[ModalScreen[object]]]:
    """Every modal screen defined under ``cs_console.ui.screens`` (found, not listed)."""
    found: list[type[ModalScreen[object]]] = []
    for module_info in pkgutil.iter_modules(cs_console.ui.screens.__path__):
        module = importlib.import_module(f"cs_console.ui.screens.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, ModalScreen)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return sorted(found, key=lambda cls: cls.__name__)


def binding_ids(cls: type[object]) -> set[str]:
    """The ids of a class's bindings (inherited ones included)."""
    ids: set[str] = set()
    for klass in cls.__mro__:
        for binding in vars(klass).get("BINDINGS", []):
            binding_id = getattr(binding, "id", None)
            if binding_id:
                ids.add(binding_id)
    return ids


@dataclass(frozen=True)
class Step:
    """One key pressed, where, and the binding it reached (None: no binding)."""

    where: str
    key: str
    binding_id: str | None
    #: How long the key took, checks included (the suite's runtime is made of these).
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{self.where}:{self.key}"


@dataclass(frozen=True)
class Failure:
    """Something that went wrong, and the keys that led to it."""

    keys: tuple[Step, ...]
    what: str

    def __str__(self) -> str:
        keys = " ".join(str(step) for step in self.keys)
        where = f"after [{keys}]" if keys else "at start-up, before any key"
        return f"{where}\n    {self.what}"


class AppStopped(Exception):
    """The app is no longer running after a key."""


@dataclass
class WalkLog:
    """What a walk pressed and what went wrong."""

    steps: list[Step] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    #: Names of the dialogs that were on screen at some point.
    dialogs: set[str] = field(default_factory=set)
    #: Consoles started: more than one means one died and the walk went on in another.
    sessions: int = 0

    @property
    def pressed_ids(self) -> set[str]:
        """Every binding id a pressed key reached."""
        return {step.binding_id for step in self.steps if step.binding_id}

    def report(self) -> str:
        """The failures, one paragraph each."""
        return "\n".join(f"{n}. {failure}" for n, failure in enumerate(self.failures, 1))

    def summary(self) -> str:
        """How many keys, consoles and failures."""
        return (
            f"{len(self.failures)} failures in {len(self.steps)} keys "
            f"({self.sessions} consoles, {sum(s.seconds for s in self.steps):.0f} s of keys)"
        )


def describe_crash(exc: BaseException) -> str:
    """The exception, where it was raised, and the console's own frames on the way."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/cs_console/" in f.filename or "/tests/" in f.filename]
    shown = (ours[-3:] if ours else []) + frames[-2:]
    lines = [f"{type(exc).__name__}: {exc}"]
    seen: set[tuple[str, int | None]] = set()
    for frame in shown:
        if (frame.filename, frame.lineno) in seen:
            continue
        seen.add((frame.filename, frame.lineno))
        lines.append(f"  at {frame.filename}:{frame.lineno} in {frame.name}: {frame.line}")
    if frames and frames[-1].filename.endswith("textual/timer.py"):
        # asyncio keeps no frames of a task that died before it was awaited.
        lines.append("  (a timer's task had died earlier; Textual raises it when it stops timers)")
    cause = exc.__cause__ or exc.__context__
    if cause is not None and not isinstance(cause, AppStopped):
        lines.append("  while handling " + describe_crash(cause).replace("\n", "\n  "))
    return "\n    ".join(lines)


Stage = Callable[["Walker"], Awaitable[None]]
Reopen = Callable[[], Awaitable[bool]]


class Walker:
    """Drives consoles built by ``make_app`` through stages, one console at a time.

    Args:
        make_app: Builds a console on the walk's home (the same home every time).
        size: The terminal size.
        between_keys: Called after every key (the demo's simulator, say).
    """

    def __init__(
        self,
        make_app: Callable[[], ConsoleApp],
        *,
        size: tuple[int, int],
        between_keys: Callable[[], object] | None = None,
    ) -> None:
        self.make_app = make_app
        self.size = size
        self.between_keys = between_keys
        self.log = WalkLog()
        self._events: list[Message] = []
        self._checked = 0
        self._app: ConsoleApp | None = None
        self._pilot: Pilot[None] | None = None
        #: (dialog class, what opened it) already walked: later ones are only closed.
        self._walked: set[tuple[str, str]] = set()
        #: Where the running console's keys begin in the log.
        self._session_start = 0
        #: The stage running, and the (stage, where, key) pressed by ``press_in_area``
        #: so far: a stage run again in a new console skips them.
        self._stage = ""
        self._done: set[tuple[str, str, str]] = set()

    @property
    def app(self) -> ConsoleApp:
        """The console running now."""
        assert self._app is not None, "no console is running"
        return self._app

    @property
    def pilot(self) -> Pilot[None]:
        """Its pilot."""
        assert self._pilot is not None, "no console is running"
        return self._pilot

    # --- sessions ------------------------------------------------------------------

    async def run(self, stages: list[Stage], *, last: Stage) -> WalkLog:
        """Run every stage, then ``last``. When a console dies, a new one starts on the
        same home and the stage it died in goes on after the key that killed it."""
        pending = list(stages)
        finished = False
        loop = asyncio.get_running_loop()
        previous_handler = loop.get_exception_handler()
        loop.set_exception_handler(self._unretrieved)
        try:
            while not finished and self.log.sessions < MAX_SESSIONS:
                finished = await self._session(pending, last)
        finally:
            loop.set_exception_handler(previous_handler)
        return self.log

    async def _session(self, pending: list[Stage], last: Stage) -> bool:
        """One console: the pending stages, then ``last``; True if it got to the end."""
        finished = False
        app = self._app = self.make_app()
        self.log.sessions += 1
        self._session_start = len(self.log.steps)
        try:
            async with asyncio.timeout(SESSION_TIMEOUT_S):
                async with app.run_test(size=self.size, message_hook=self._hook) as pilot:
                    self._pilot = pilot
                    await self.loaded()
                    while pending:
                        self._stage = pending[0].__name__
                        await pending[0](self)
                        pending.pop(0)
                    await last(self)
                    finished = True
        except Exception as exc:  # the app's own exception comes out of run_test
            self.fail(f"the console ended with {describe_crash(exc)}")
        self._scan()
        # Let go of the console, so that a task of it that died unseen is collected now
        # and reported (``_unretrieved``) while its keys are still the last ones.
        self._events.clear()
        self._checked = 0
        self._app = self._pilot = None
        gc.collect()
        return finished

    def _unretrieved(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """An exception in a task nobody awaited (a timer's, say) is lost to Textual:
        asyncio reports it here when the task is collected."""
        exc = context.get("exception")
        if isinstance(exc, Exception):
            self.fail(f"a background task failed unseen: {describe_crash(exc)}")
        else:
            loop.default_exception_handler(context)

    async def loaded(self) -> None:
        """Wait for the queue, as ``wait_loaded`` does, unless the console dies first."""
        app = self.app
        try:
            await wait_until(
                self.pilot,
                lambda: not self._alive() or app.context is not None,
                what="the store to open",
            )
            if self._alive():
                await wait_loaded(self.pilot)
        except AssertionError:
            if self._alive():
                raise
        if not self._alive():
            raise AppStopped("the console stopped while starting")

    def _hook(self, message: Message) -> None:
        if isinstance(message, (Notify, Worker.StateChanged)):
            self._events.append(message)

    # --- pressing and checking -----------------------------------------------------

    def fail(self, what: str) -> None:
        """Record a failure with the keys pressed last."""
        start = max(self._session_start, len(self.log.steps) - KEYS_SHOWN)
        self.log.failures.append(Failure(tuple(self.log.steps[start:]), what))

    async def press(self, where: str, key: str) -> Step:
        """Press one key, then check the app. Raises AppStopped if it stopped."""
        binding_id = self.binding_reached(key)
        started = time.monotonic()
        self.log.steps.append(Step(where, key, binding_id))
        try:
            await self.pilot.press(key)
            if self.between_keys is not None:
                self.between_keys()
            await self.settle()
        finally:
            self.log.steps[-1] = Step(where, key, binding_id, time.monotonic() - started)
        return self.log.steps[-1]

    async def settle(self) -> None:
        """Wait for the workers the key started (not the sync loop, which never ends),
        then check the app."""

        def idle() -> bool:
            return not self._alive() or all(
                w.is_finished or w.group == "sync" for w in self.app.workers
            )

        try:
            await wait_until(self.pilot, idle, WORKER_TIMEOUT_S, what="the key's workers")
        except AssertionError:
            busy = [w.name for w in self.app.workers if not w.is_finished and w.group != "sync"]
            self.fail(f"workers still running {WORKER_TIMEOUT_S:g} s after the key: {busy}")
        self._scan()
        if not self._alive():
            raise AppStopped(f"the console stopped (return code {self.app.return_code})")

    def binding_reached(self, key: str) -> str | None:
        """The id of the binding ``key`` runs on the screen on top: the first in the
        focus chain, or, when that one has no id, the screen's own binding of the key
        (a text field's scroll keys give way to the dialog's when there is nothing to
        scroll: the palette's Up and Down)."""
        screen = self.app.screen
        active = screen.active_bindings.get(key)
        if active is not None and active.binding.id is not None:
            return active.binding.id
        keymap = self.app.effective_keymap
        for klass in type(screen).__mro__:
            for binding in vars(klass).get("BINDINGS", []):
                binding_id = getattr(binding, "id", None)
                keys = keymap.get(binding_id, getattr(binding, "key", "")) if binding_id else ""
                if key in (k.strip() for k in keys.split(",")):
                    return binding_id
        return None

    def _alive(self) -> bool:
        return self.app.is_running and self.app.return_code is None

    def _scan(self) -> None:
        """Turn worker errors and exception-naming notifications into failures."""
        for message in self._events[self._checked :]:
            if isinstance(message, Worker.StateChanged):
                if message.state is WorkerState.ERROR:
                    error = message.worker.error
                    self.fail(
                        f"worker {message.worker.name!r} failed: {type(error).__name__}: {error}"
                    )
            elif isinstance(message, Notify):
                note = message.notification
                text = f"{note.title} {note.message}".strip()
                if EXCEPTION_NAME.search(text):
                    self.fail(f"{note.severity} notification names an exception: {text}")
        self._checked = len(self._events)

    # --- which keys ------------------------------------------------------------------

    def _keys(self, nodes: Callable[[DOMNode], bool], *, choosing_only: bool = False) -> list[str]:
        """Keys of the active bindings whose node passes ``nodes``: every key of an
        id'd binding, one key per action of the others (Textual's own)."""
        keys: list[str] = []
        actions: set[tuple[int, str]] = set()
        active: ActiveBinding
        for key, active in self.app.screen.active_bindings.items():
            if not nodes(active.node):
                continue
            if choosing_only and key not in CHOOSING_KEYS:
                continue
            if active.binding.id is None:
                action = (id(active.node), active.binding.action)
                if action in actions:
                    continue
                actions.add(action)
            keys.append(key)
        return keys

    def area_keys(self) -> list[str]:
        """The keys bound where the focus is, by the focused widget and the containers
        around it (the screen's and the app's keys are walked on their own)."""
        screen, app = self.app.screen, self.app
        return self._keys(lambda node: node is not screen and node is not app)

    def workspace_keys(self, *, exclude: set[str]) -> list[str]:
        """The keys of the workspace screen and of the app, but ``exclude``."""
        screen, app = self.app.screen, self.app
        keys = self._keys(lambda node: node is screen or node is app)
        bindings = screen.active_bindings
        return [k for k in keys if k not in exclude and bindings[k].binding.id not in exclude]

    def dialog_keys(self) -> list[str]:
        """The dialog's own keys and, in the console's own dialogs, the keys that move
        and choose of the widget with the focus; the keys that close it last."""
        dialog, app = self.app.screen, self.app
        keys = self._keys(lambda node: node is dialog)
        if type(dialog).__module__.startswith("cs_console."):
            keys += self._keys(
                lambda node: node is not dialog and node is not app, choosing_only=True
            )
        bindings = dialog.active_bindings

        def closes(key: str) -> bool:
            return key == "escape" or bindings[key].binding.action in CLOSING_ACTIONS

        return [k for k in keys if not closes(k)] + [k for k in keys if closes(k)]

    # --- focus areas ---------------------------------------------------------------

    def area_key(self, area: str) -> str:
        """The key that focuses ``area`` (as remapped by the keymap)."""
        binding_id = AREAS[area][0]
        if binding_id not in BY_ID:
            raise AssertionError(f"no binding {binding_id}")
        keys = self.app.effective_keymap.get(binding_id, BY_ID[binding_id].keys)
        return keys.split(",")[0].strip()

    def in_area(self, area: str) -> bool:
        """Whether the focus is on the area's widget."""
        return self.app.focused is AREAS[area][1](self.app)

    async def focus_area(self, area: str) -> bool:
        """Put the focus on ``area`` with its key (from the queue if the focused widget
        keeps that key for itself, as the composer keeps F6); False if it cannot."""
        await self.to_workspace()
        for attempt in range(3):
            if self.in_area(area):
                return True
            if attempt:
                await self.press("workspace", self.area_key("queue"))
            await self.press("workspace", self.area_key(area))
        if self.in_area(area):
            return True
        self.fail(f"the {area} key ({self.area_key(area)}) does not put the focus there")
        return False

    async def press_in_area(self, area: str, keys: list[str], *, where: str = "") -> None:
        """Press each key with the focus on ``area``; walk each dialog a key opens."""
        for key in keys:
            done = (self._stage, where or area, key)
            if done in self._done:
                continue  # pressed in a console that died since
            if not await self.focus_area(area):
                return
            self._done.add(done)
            await self.press_from(area, key, where=where or area)

    async def press_from(self, area: str, key: str, *, where: str) -> None:
        """Press ``key`` in ``area`` (focused); if it opens a dialog, walk it and close it."""
        step = await self.press(where, key)
        if isinstance(self.app.screen, WorkspaceScreen):
            return
        cls = type(self.app.screen)

        async def reopen() -> bool:
            if not await self.focus_area(area):
                return False
            await self.press(where, key)
            return type(self.app.screen) is cls

        # The quick-reply keys and other keys without a binding share one walk per area.
        await self.enter_dialog(step.binding_id or f"{where}:unbound", reopen, depth=1)

    # --- dialogs -------------------------------------------------------------------

    async def enter_dialog(self, opened_by: str, reopen: Reopen, *, depth: int) -> None:
        """Walk the dialog on top unless one of its class was walked from ``opened_by``
        already; then Escape back to the workspace."""
        cls = type(self.app.screen)
        self.log.dialogs.add(cls.__name__)
        mark = (cls.__name__, opened_by)
        if mark not in self._walked and depth <= MAX_DEPTH:
            self._walked.add(mark)
            await self.walk_dialog(reopen, depth=depth)
        await self.to_workspace()

    async def walk_dialog(self, reopen: Reopen, *, depth: int) -> None:
        """Press every key of the dialog on top; open it again when a key closed it."""
        dialog = self.app.screen
        name = type(dialog).__name__
        for key in self.dialog_keys():
            if self.app.screen is not dialog:
                await self.to_workspace()
                if not await reopen():
                    return  # it cannot be opened again the same way (the shift start)
                dialog = self.app.screen
            step = await self.press(name, key)
            top = self.app.screen
            if top is not dialog and not isinstance(top, WorkspaceScreen):
                await self.nested_dialog(step, reopen, depth)

    async def nested_dialog(self, step: Step, reopen_parent: Reopen, depth: int) -> None:
        """A dialog's key opened another dialog: walk that one too."""
        cls = type(self.app.screen)

        async def reopen() -> bool:
            if not await reopen_parent():
                return False
            await self.press(step.where, step.key)
            return type(self.app.screen) is cls

        opened_by = step.binding_id or f"{step.where}:{step.key}"
        await self.enter_dialog(opened_by, reopen, depth=depth + 1)

    async def to_workspace(self) -> None:
        """Escape until the workspace is on top again."""
        for _ in range(MAX_ESCAPES):
            if isinstance(self.app.screen, WorkspaceScreen):
                return
            await self.press(type(self.app.screen).__name__, "escape")
        if not isinstance(self.app.screen, WorkspaceScreen):
            name = type(self.app.screen).__name__
            self.fail(f"{name} does not close with Escape")
            raise AppStopped(f"{name} does not close with Escape")

    # --- the start and the end -------------------------------------------------------

    async def shift_start(self) -> None:
        """Walk the shift-start screen that the previous shift's handover brings up."""
        if self.log.sessions > 1:
            return  # the first console died before this; the screen is shown only once
        try:
            await wait_until(
                self.pilot,
                lambda: isinstance(self.app.screen, HandoverScreen),
                what="the shift-start screen with the previous shift's handover",
            )
        except AssertionError as exc:
            self.fail(str(exc))
            return

        async def cannot_reopen() -> bool:
            return False

        await self.enter_dialog("start", cannot_reopen, depth=1)

    async def quit(self) -> None:
        """Press the quit key last, and check that the console ends cleanly."""
        await self.to_workspace()
        key = self.app.effective_keymap.get("app.quit", "ctrl+q").split(",")[0].strip()
        self.log.steps.append(Step("workspace", key, "app.quit"))
        await self.pilot.press(key)
        try:
            await wait_until(self.pilot, lambda: not self.app.is_running, what="the quit")
        except AssertionError as exc:
            self.fail(str(exc))
        self._scan()
        if self.app.return_code not in (None, 0):
            self.fail(f"the console quit with return code {self.app.return_code}")
