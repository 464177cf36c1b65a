"""Helpers for the TUI tests: building the app, waiting for it, reading what it shows.

Pilot tests run the real app against the live reference server from ``conftest.py``.
Snapshot tests never talk to a server: they get a client store filled from a
``ServerState`` whose shop is dated relative to :data:`FIXED_NOW`, and a frozen clock,
so every pixel of the screenshot is the same on every run.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.cells import cell_len
from textual.message import Message
from textual.pilot import Pilot

from cs_console import protocol as p
from cs_console.domain import (
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderEventKind,
    OrderStatus,
    Role,
)
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.state import ServerState
from cs_console.services.context import AgentContext
from cs_console.services.events import Synced
from cs_console.services.session import Session
from cs_console.settings import Settings
from cs_console.store.db import Database
from cs_console.store.ingest import apply_page
from cs_console.sync.engine import SyncReport
from cs_console.timeutil import utcnow
from cs_console.ui.app import ConsoleApp, make_app
from cs_console.ui.messages import SessionMessage
from cs_console.ui.screens.workspace import WorkspaceScreen
from cs_console.ui.widgets.composer import Composer
from cs_console.ui.widgets.queue_list import QueueList
from cs_console.ui.widgets.status_bar import StatusBar
from cs_console.ui.widgets.thread_view import ThreadView
from tests.inprocess import InProcessServer

#: The frozen "now" of every snapshot: a Friday morning in the shop.
FIXED_NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)

#: How long a test waits for sync or a worker before it calls the app stuck.
DEFAULT_TIMEOUT_S = 5.0


def frozen_clock() -> datetime:
    """The clock snapshot apps run on."""
    return FIXED_NOW


# --- building apps -------------------------------------------------------------------


def live_app(
    home: Path,
    server: str | InProcessServer,
    token: str,
    *,
    undo_seconds: float = 0.0,
    sync_interval_s: float = 0.2,
) -> ConsoleApp:
    """A console that syncs with the test server: fast, and by default without undo delay.

    Args:
        home: The client's home directory (store, drafts).
        server: The in-process server, or a live server's URL (for tests of HTTP itself
            or of other processes beside the console).
        token: The agent's API token.
        undo_seconds: How long a reply waits in the outbox before it may leave.
        sync_interval_s: Seconds between sync cycles.

    Returns:
        The app, not yet running.
    """
    url = server if isinstance(server, str) else server.url
    settings = Settings(
        paths=Paths(home),
        token=Secret(token),
        backend={"url": url},
        shift={"undo_seconds": undo_seconds, "sync_interval_s": sync_interval_s},
    )
    return make_app(session_for(settings, server))


def session_for(
    settings: Settings,
    server: str | InProcessServer | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> Session:
    """A session on ``settings``: through ``server`` when it is in-process, else by HTTP."""
    if isinstance(server, InProcessServer):
        return server.session(settings, clock=clock)
    return Session(settings, clock=clock)


# --- reaching into the running app (public widget API only) -------------------------


def workspace(app: ConsoleApp) -> WorkspaceScreen:
    """The workspace screen, even while a modal screen is on top of it."""
    for screen in app.screen_stack:
        if isinstance(screen, WorkspaceScreen):
            return screen
    raise AssertionError(f"no workspace screen in {app.screen_stack!r}")


def queue_list(app: ConsoleApp) -> QueueList:
    """The queue widget."""
    return workspace(app).query_one("#queue", QueueList)


def composer(app: ConsoleApp) -> Composer:
    """The composer widget."""
    return workspace(app).query_one("#composer", Composer)


def thread_view(app: ConsoleApp) -> ThreadView:
    """The thread widget."""
    return workspace(app).query_one("#thread", ThreadView)


def status_bar(app: ConsoleApp) -> StatusBar:
    """The status bar widget."""
    return workspace(app).query_one("#status", StatusBar)


def context(app: ConsoleApp) -> AgentContext:
    """The app's service context (the store); fails if the store is not open yet."""
    assert app.context is not None, "the store is not open"
    return app.context


def highlighted_id(app: ConsoleApp) -> str | None:
    """The conversation under the queue cursor."""
    row = queue_list(app).highlighted
    return None if row is None else row.conversation_id


def is_online(app: ConsoleApp) -> bool:
    """Whether the status bar reports a working link to the backend."""
    sync = status_bar(app).sync
    return sync is not None and sync.online


def thread_text(app: ConsoleApp) -> str:
    """Every line the thread holds (also those scrolled away), as plain text."""
    thread = thread_view(app)
    # render_line(y) draws screen row y, i.e. line scroll_y + y of the thread.
    top = -int(thread.scroll_y)
    return "\n".join(
        thread.render_line(y).text for y in range(top, top + thread.virtual_size.height)
    )


_SVG_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', re.S)
#: Rich's SVG export: 20 px characters with an aspect ratio of 0.61.
_SVG_CELL_WIDTH = 20 * 0.61


def screen_text(app: ConsoleApp) -> str:
    """What the terminal shows, as plain text, one line per screen row.

    Read from ``export_screenshot()`` (public API): the SVG holds each styled run as
    a ``<text>`` element at its cell position (runs of blanks are left out), so the
    runs are put back in place row by row.
    """
    rows: dict[float, list[tuple[int, str]]] = {}
    for x, y, body in _SVG_TEXT.findall(app.export_screenshot()):
        column = round(float(x) / _SVG_CELL_WIDTH)
        rows.setdefault(float(y), []).append((column, html.unescape(body).replace("\xa0", " ")))
    lines = []
    for _, runs in sorted(rows.items()):
        line = ""
        for column, text in sorted(runs):
            line += " " * max(0, column - cell_len(line)) + text
        lines.append(line.rstrip())
    return "\n".join(lines)


# --- waiting ----------------------------------------------------------------------


async def wait_until(
    pilot: Pilot[None],
    predicate: Callable[[], object],
    timeout: float = DEFAULT_TIMEOUT_S,
    *,
    what: str = "",
) -> None:
    """Let the app run until ``predicate()`` is true; fail after ``timeout`` seconds.

    Sync and the store run in thread workers, so there is nothing to await directly:
    this polls in short pauses, each of which lets the app process its messages.

    Args:
        pilot: The running app's pilot.
        predicate: Checked after every pause; any truthy value ends the wait.
        timeout: Seconds before giving up.
        what: Said in the failure message.

    Raises:
        AssertionError: The predicate stayed false for ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or predicate}")
        await pilot.pause(0.05)


async def wait_loaded(pilot: Pilot[None], *, online: bool = True) -> None:
    """Wait until the store is open, the queue shows rows, the highlighted conversation
    is on screen and (if ``online``) sync ran."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)

    def loaded() -> bool:
        if not app.is_running:
            # A crash at start-up: say so now, not "the queue did not load" in 5 s.
            raise AssertionError("the console stopped while loading")
        # The highlighted conversation is shown by a message handler after the queue
        # fills: wait for it too, or a test may look at the workspace a moment early.
        return (
            app.context is not None
            and queue_list(app).total > 0
            and (is_online(app) or not online)
            and workspace(app).open_id == highlighted_id(app)
        )

    try:
        await wait_until(pilot, loaded, what="the queue to load")
    except AssertionError as exc:
        found = (
            f"store open: {app.context is not None}, queue rows: {queue_list(app).total}, "
            f"sync: {status_bar(app).sync!r}"
        )
        raise AssertionError(f"{exc} ({found})") from None


async def wait_for_stable_screen(
    pilot: Pilot[None], timeout: float = DEFAULT_TIMEOUT_S, *, frames: int = 3
) -> None:
    """Wait until ``frames`` screenshots in a row, 50 ms apart, show the same text.

    Widgets that change size (the customer card, the footer) settle a frame or two
    after their data; a snapshot taken before that would differ from run to run.
    """
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    recent: list[str] = []

    def stable() -> bool:
        recent.append(screen_text(app))
        del recent[:-frames]
        return len(recent) == frames and len(set(recent)) == 1

    await wait_until(pilot, stable, timeout, what="the screen to stop changing")


class SyncWatcher:
    """A ``run_test(message_hook=...)`` hook that counts completed sync cycles.

    Each cycle's report reaches several message pumps (the app, then the workspace),
    so cycles are counted by report, not by message.
    """

    def __init__(self) -> None:
        self._reports: list[SyncReport] = []

    def __call__(self, message: Message) -> None:
        event = message.event if isinstance(message, SessionMessage) else None
        report = event.report if isinstance(event, Synced) else None
        if report is not None and not any(seen is report for seen in self._reports):
            self._reports.append(report)

    @property
    def cycles(self) -> int:
        """Sync cycles reported so far."""
        return len(self._reports)


async def wait_for_sync_cycles(
    pilot: Pilot[None], watcher: SyncWatcher, cycles: int, timeout: float = DEFAULT_TIMEOUT_S
) -> None:
    """Wait until ``cycles`` more sync cycles have completed."""
    target = watcher.cycles + cycles
    await wait_until(
        pilot, lambda: watcher.cycles >= target, timeout, what=f"{cycles} more sync cycles"
    )


async def stop_sync(pilot: Pilot[None]) -> None:
    """Stop the sync loop and wait for its worker thread, as a clean exit would.

    Tests that exit an app and open its store again use this first, so no sync
    cycle is still writing when the store changes hands.
    """
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    app.session.stop_sync()
    await app.workers.wait_for_complete([w for w in app.workers if w.group == "sync"])


async def type_text(pilot: Pilot[None], text: str) -> None:
    """Press one key per character (ASCII only: other text goes in with ``insert``)."""
    assert text.isascii(), "pilot keys cannot type non-ASCII text; use Composer.insert"
    await pilot.press(*text)


# --- the server's side ------------------------------------------------------------


def server_conversation(state: ServerState, conversation_id: str) -> p.ConversationRecord:
    """The server's current record of one conversation."""
    for conversation in state.changes(0, 10_000).conversations:
        if conversation.id == conversation_id:
            return conversation
    raise AssertionError(f"the server has no conversation {conversation_id}")


def server_messages(state: ServerState, conversation_id: str) -> list[p.MessageRecord]:
    """The server's messages in one conversation, oldest first."""
    found = [m for m in state.changes(0, 10_000).messages if m.conversation_id == conversation_id]
    return sorted(found, key=lambda m: m.created_at)


# --- a shop dated relative to a fixed time (for snapshots) ------------------------


def fixed_shop(state: ServerState, now: datetime = FIXED_NOW) -> dict[str, str]:
    """The shape of ``tests.harness.tiny_shop``, every time relative to ``now``.

    Two customers, three conversations (conv-1 王芳 after-sale waiting 5 min, conv-2
    Alice pre-sale waiting 1 min, conv-3 assigned to Mei), one shipped order with a
    timeline and one flagged remark. Returns the agents' tokens.
    """

    def ago(minutes: float) -> datetime:
        return now - timedelta(minutes=minutes)

    day = 60 * 24
    customers = [
        p.CustomerRecord(id="cus-1", name="王芳", language="zh-CN", updated_at=ago(600)),
        p.CustomerRecord(
            id="cus-2", name="Alice Brown", email="alice@example.com", updated_at=ago(600)
        ),
    ]
    conversations = [
        p.ConversationRecord(
            id="conv-1",
            customer_id="cus-1",
            group=Group.AFTER_SALE,
            status=ConversationStatus.OPEN,
            waiting_since=ago(5),
            last_activity_at=ago(4),
            unread_count=2,
            updated_at=ago(4),
        ),
        p.ConversationRecord(
            id="conv-2",
            customer_id="cus-2",
            group=Group.PRE_SALE,
            status=ConversationStatus.OPEN,
            waiting_since=ago(1),
            last_activity_at=ago(1),
            unread_count=1,
            updated_at=ago(1),
        ),
        p.ConversationRecord(
            id="conv-3",
            customer_id="cus-2",
            group=Group.PRE_SALE,
            status=ConversationStatus.OPEN,
            assignee="Mei",
            last_activity_at=ago(30),
            updated_at=ago(30),
        ),
    ]

    def message(
        message_id: str, conversation_id: str, kind: MessageKind, author: str, body: str, at: float
    ) -> p.MessageRecord:
        return p.MessageRecord(
            id=message_id,
            conversation_id=conversation_id,
            kind=kind,
            author=author,
            body=body,
            created_at=ago(at),
        )

    messages = [
        message("m-1", "conv-1", MessageKind.CUSTOMER, "王芳", "我的快递怎么8天没动了?", 5),
        message("m-2", "conv-1", MessageKind.CUSTOMER, "王芳", "在吗", 4),
        message(
            "m-3", "conv-2", MessageKind.CUSTOMER, "Alice Brown", "Is the blue mug in stock?", 1
        ),
        message("m-4", "conv-3", MessageKind.AGENT, "Mei", "Thanks, have a nice day!", 30),
    ]
    orders = [
        p.OrderRecord(
            id="ord-1",
            number="20261110-0001",
            customer_id="cus-1",
            status=OrderStatus.SHIPPED,
            items=[p.OrderItem(sku="MUG-1", name="Ceramic mug", quantity=2, unit_price_minor=3900)],
            total_minor=7800,
            currency="CNY",
            carrier="ZTO",
            tracking_number="ZT123456789",
            placed_at=ago(10 * day),
            paid_at=ago(10 * day - 5),
            shipped_at=ago(9 * day),
            updated_at=ago(9 * day),
        )
    ]
    events = [
        p.OrderEventRecord(
            id="e-1", order_id="ord-1", kind=OrderEventKind.PLACED, at=ago(10 * day)
        ),
        p.OrderEventRecord(
            id="e-2", order_id="ord-1", kind=OrderEventKind.PAID, at=ago(10 * day - 5)
        ),
        p.OrderEventRecord(
            id="e-3",
            order_id="ord-1",
            kind=OrderEventKind.SHIPPED,
            at=ago(9 * day),
            detail="ZTO ZT123456789",
        ),
    ]
    remarks = [
        p.RemarkRecord(
            id="r-1",
            order_id="ord-1",
            flag=FlagColour.YELLOW,
            text="Parcel stuck at the Hangzhou hub; carrier asked",
            author="Mei",
            created_at=ago(2 * day),
        )
    ]
    state.load_records(
        {
            "customer": list(customers),
            "conversation": list(conversations),
            "message": list(messages),
            "order": list(orders),
            "order_event": list(events),
            "remark": list(remarks),
        }
    )
    return {
        "Lan": state.add_agent("Lan", Role.AGENT, "after-sale"),
        "Mei": state.add_agent("Mei", Role.AGENT, "pre-sale"),
        "Sofia": state.add_agent("Sofia", Role.SUPERVISOR, None),
    }


def offline_settings(tmp_path: Path) -> Settings:
    """A client home whose store already holds :func:`fixed_shop`, as Lan sees it.

    The shop goes through a real ``ServerState`` and its change feed into the client
    store (the same records sync would write), so an app on these settings needs no
    server or network round trip. (The status bar's "waiting too long" count still
    reads the wall clock; FIXED_NOW being in the past keeps it stable. See
    ``test_ui_snapshots.py::test_waiting_too_long_count_follows_the_app_clock``.)
    """
    state = ServerState(f"sqlite:///{tmp_path / 'offline-server.db'}")
    try:
        fixed_shop(state)
        page = state.changes(0, 1000)
    finally:
        state.close()
    assert not page.has_more
    settings = Settings(
        paths=Paths(tmp_path / "offline-client"),
        agent={"name": "Lan"},
        shift={"undo_seconds": 0.0},
    )
    db = Database(settings.paths.store)
    try:
        apply_page(db, page)
    finally:
        db.close()
    return settings


def offline_app(settings: Settings) -> ConsoleApp:
    """A console on ``settings`` with sync off and the clock frozen at FIXED_NOW."""
    return make_app(Session(settings, clock=frozen_clock), sync=False)
