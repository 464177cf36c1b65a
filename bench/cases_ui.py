"""Cases 2, 3 and 7: keystrokes through the real widgets of a headless console on the
big store, against bare Textual widgets doing the equivalent.

A keystroke is timed from posting the key event until the app has handled it, every
message it set off has been handled and the screen has been rendered with the
result: the harness awaits ``pilot.pause(0)`` (which waits for the screen's widgets
to drain their queues, then renders) until the expected state is on screen.
``pilot.press`` is not used for timing: it sleeps in 20 ms steps until the process
looks idle, a floor of about 60 ms per key whatever the app does.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import math
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import events
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from bench.core import Context, Result, Skip, Target
from bench.data import BigStore
from cs_console.services import conversations
from cs_console.services.events import StoreOpened
from cs_console.services.session import Session
from cs_console.settings import load_settings
from cs_console.ui.app import ConsoleApp, make_app
from cs_console.ui.messages import SessionMessage
from cs_console.ui.panes.conversation_pane import THREAD_PAGE
from cs_console.ui.screens.workspace import WorkspaceScreen
from cs_console.ui.widgets.queue_list import QueueList
from cs_console.ui.widgets.thread_view import ThreadView

SIZE = (160, 45)
STUCK_AFTER_S = 3.0
#: More StoreOpened messages a second than this while idle means the echo loop is on.
ECHO_LOOP_PER_S = 2.0
LOAD_TIMEOUT_S = 120.0

Done = Callable[[], bool]
Samples = dict[str, list[float]]


class StuckError(RuntimeError):
    """The app never reached the state a keystroke should lead to."""


async def settle(pilot: Pilot[Any], done: Done, timeout: float = STUCK_AFTER_S) -> None:
    """Let the app work and render until ``done()`` holds after a render."""
    deadline = time.monotonic() + timeout
    rounds = 0
    while time.monotonic() < deadline:
        await pilot.pause(0)
        rounds += 1
        if rounds >= 2 and done():
            return
    raise StuckError("the screen never showed the expected result")


async def keystroke(pilot: Pilot[Any], key: str, done: Done) -> float:
    """Milliseconds from the key event to the rendered result; infinity if the result
    never showed (the keystroke counts as failed, and fails any latency target)."""
    character = key if len(key) == 1 else None
    started = time.perf_counter()
    pilot.app.post_message(events.Key(key, character))
    try:
        await settle(pilot, done)
    except StuckError:
        return math.inf
    return (time.perf_counter() - started) * 1000


async def wait_until(pilot: Pilot[Any], condition: Done, timeout: float = LOAD_TIMEOUT_S) -> None:
    """Poll ``condition`` while the app runs."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise StuckError("the console did not load its queue in time")
        await pilot.pause(0.02)


def _raw_connect(store: BigStore) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{store.store_path}?mode=ro", uri=True)


def status_counts(store: BigStore) -> dict[str, int]:
    """Conversations per status, read directly."""
    with closing(_raw_connect(store)) as conn:
        rows = conn.execute("SELECT status, count(*) FROM conversation GROUP BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


# --- the real console ----------------------------------------------------------------


@dataclass(slots=True)
class Console:
    """Handles on a running headless console."""

    app: ConsoleApp
    workspace: WorkspaceScreen
    queue: QueueList
    thread: ThreadView

    def shows(self, conversation_id: str | None) -> bool:
        """The thread shows ``conversation_id`` (its newest message is from it)."""
        messages = self.thread.messages
        return (
            conversation_id is not None
            and bool(messages)
            and messages[-1].conversation_id == conversation_id
        )

    def shows_highlighted(self) -> bool:
        """The thread shows the conversation under the queue's cursor."""
        row = self.queue.highlighted
        return row is not None and self.shows(row.conversation_id)


def console_app(store: BigStore) -> ConsoleApp:
    """The console on the big store, without sync (there is no backend)."""
    return make_app(Session(load_settings(home=store.home)), sync=False)


async def open_console(pilot: Pilot[Any], app: ConsoleApp) -> Console:
    """Wait for the queue to load and the start-up workers to finish."""

    def loaded() -> bool:
        screen = app.screen
        return (
            isinstance(screen, WorkspaceScreen) and screen.query_one("#queue", QueueList).total > 0
        )

    await wait_until(pilot, loaded)
    await app.workers.wait_for_complete()
    workspace = app.screen
    assert isinstance(workspace, WorkspaceScreen)
    console = Console(
        app=app,
        workspace=workspace,
        queue=workspace.query_one("#queue", QueueList),
        thread=workspace.query_one("#thread", ThreadView),
    )
    await settle(pilot, console.shows_highlighted, timeout=LOAD_TIMEOUT_S)
    return console


@asynccontextmanager
async def running_console(
    store: BigStore, *, hits: list[float], problems: list[str]
) -> AsyncIterator[tuple[Pilot[Any], Console]]:
    """A headless console on ``store``, loaded; its store is closed afterwards (the
    app leaves that to process exit, and the store's writer lock is per process).

    An error raised while the app shuts down, after the measurements, is noted in
    ``problems`` rather than thrown away with them.
    """
    gc.collect()  # every session starts from the same, clean heap
    app = console_app(store)
    measured = False
    try:
        async with app.run_test(size=SIZE, message_hook=count_store_opened(hits)) as pilot:
            yield pilot, await open_console(pilot, app)
            measured = True
    except Exception as exc:
        if not measured:
            raise
        problems.append(f"the console failed on exit: {type(exc).__name__}: {exc}")
    finally:
        if app.context is not None:
            app.context.close()


def count_store_opened(hits: list[float]) -> Callable[[Message], None]:
    """A message hook noting each StoreOpened the app hands on (an echo loop, where a
    forwarded copy bubbles back up and is forwarded again, shows as a rate)."""

    def hook(message: Message) -> None:
        if isinstance(message, SessionMessage) and isinstance(message.event, StoreOpened):
            hits.append(time.monotonic())

    return hook


async def echo_rate(pilot: Pilot[Any], hits: list[float]) -> float:
    """StoreOpened messages per second while the console sits idle."""
    before = len(hits)
    await pilot.pause(0.5)
    return (len(hits) - before) / 0.5


# --- case 2: queue operations ------------------------------------------------------------


async def console_queue_session(store: BigStore, reps: int, *, problems: list[str]) -> Samples:
    """Filter change, page down and next-waiting through the real queue."""
    counts = status_counts(store)
    samples: Samples = {"filter": [], "page_down": [], "next_waiting": []}
    hits: list[float] = []
    async with running_console(store, hits=hits, problems=problems) as (
        pilot,
        console,
    ):
        queue = console.queue
        samples["echo_per_s"] = [await echo_rate(pilot, hits)]
        for _ in range(reps):
            for key, status in (("2", "pending"), ("1", "open")):

                def filtered(status: str = status) -> bool:
                    return bool(
                        console.workspace.filter.status.value == status
                        and queue.total == counts.get(status, 0)
                        and console.shows_highlighted()
                    )

                samples["filter"].append(await keystroke(pilot, key, filtered))
            for _ in range(2):
                page = max(1, queue.size.height // 2)
                target = min(queue.cursor + page, queue.total - 1)

                def paged(target: int = target) -> bool:
                    return bool(queue.cursor == target and console.shows_highlighted())

                samples["page_down"].append(await keystroke(pilot, "pagedown", paged))

            def at_top() -> bool:
                return bool(queue.cursor == 0 and console.shows_highlighted())

            samples["next_waiting"].append(await keystroke(pilot, "n", at_top))
            # Next waiting lands in the composer (to answer at once): back to the queue,
            # unmeasured, for the next round's single-letter keys.
            await pilot.press("escape")
            await settle(pilot, lambda: console.app.focused is queue)
    return samples


class OptionQueueApp(App[None]):
    """The baseline: one OptionList holding every conversation's two-line row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        ("1", "show('open')", "Open"),
        ("2", "show('pending')", "Pending"),
        ("n", "next_waiting", "Next waiting"),
    ]
    CSS = "#queue { width: 32%; height: 1fr; }"

    def __init__(self, rows: dict[str, list[tuple[str, bool]]]) -> None:
        super().__init__()
        self.rows = rows
        self.status = "open"

    def compose(self) -> ComposeResult:
        yield OptionList(*self._options("open"), id="queue", markup=False)
        yield Static("thread", id="thread")

    def _options(self, status: str) -> list[Option]:
        return [Option(prompt) for prompt, _ in self.rows.get(status, [])]

    def action_show(self, status: str) -> None:
        """Replace the options by the rows of ``status`` (as the console re-reads)."""
        self.status = status
        queue = self.query_one("#queue", OptionList)
        queue.set_options(self._options(status))
        queue.highlighted = 0

    def action_next_waiting(self) -> None:
        """Highlight the first waiting row."""
        rows = self.rows.get(self.status, [])
        index = next((i for i, (_, waiting) in enumerate(rows) if waiting), 0)
        self.query_one("#queue", OptionList).highlighted = index


def queue_rows(store: BigStore) -> dict[str, list[tuple[str, bool]]]:
    """Every conversation as the console's two queue lines, per status, in queue order."""
    by_status: dict[str, list[tuple[str, bool]]] = {}
    with closing(_raw_connect(store)) as conn:
        cursor = conn.execute(
            'SELECT c.status, cu.name, c."group", c.waiting_since, c.snippet, c.unread_count, '
            "c.assignee FROM conversation c JOIN customer cu ON cu.id = c.customer_id "
            "ORDER BY c.queue_rank, c.id"
        )
        for status, name, group, waiting, snippet, unread, assignee in cursor:
            clock = "12m05s" if waiting else ""
            prompt = (
                f" {name:<30} {group[:5]:<6}{clock:>7}\n   {snippet[:30]:<30}"
                f"{'●' + str(unread) if unread else '':<4}{assignee or '—':<9}"
            )
            by_status.setdefault(str(status), []).append((prompt, waiting is not None))
    return by_status


async def option_queue_session(store: BigStore, reps: int) -> Samples:
    """The same keystrokes on the bare OptionList. The rows are read here and dropped
    afterwards, so that they do not weigh on the console's garbage collections."""
    rows = queue_rows(store)
    gc.collect()
    samples: Samples = {"filter": [], "page_down": [], "next_waiting": []}
    app = OptionQueueApp(rows)
    async with app.run_test(size=SIZE) as pilot:
        queue = app.query_one("#queue", OptionList)
        queue.focus()
        queue.highlighted = 0
        await settle(pilot, lambda: queue.option_count > 0)
        for _ in range(reps):
            for key, status in (("2", "pending"), ("1", "open")):
                expected = len(rows.get(status, []))

                def filtered(expected: int = expected, status: str = status) -> bool:
                    return app.status == status and queue.option_count == expected

                samples["filter"].append(await keystroke(pilot, key, filtered))
            for _ in range(2):
                before = queue.highlighted or 0
                await pilot.pause(0)

                def paged(before: int = before) -> bool:
                    return (queue.highlighted or 0) > before

                samples["page_down"].append(await keystroke(pilot, "pagedown", paged))

            def at_first_waiting() -> bool:
                return queue.highlighted == 0

            samples["next_waiting"].append(await keystroke(pilot, "n", at_first_waiting))
    return samples


def run_queue(ctx: Context) -> list[Result]:
    """Case 2: queue keystrokes on the big store vs a bare OptionList of the same rows."""
    store = ctx.store
    sessions = max(2, ctx.runs // 2) if not ctx.quick else 1
    reps = 2 if ctx.quick else 6
    ours: Samples = {}
    theirs: Samples = {}
    problems: list[str] = []

    def add(into: Samples, got: Samples) -> None:
        for key, values in got.items():
            into.setdefault(key, []).extend(values)

    for index in range(sessions):
        order = ("console", "baseline") if index % 2 else ("baseline", "console")
        for who in order:
            if who == "console":
                got = console_queue_session(store, reps, problems=problems)
                add(ours, asyncio.run(got))
            else:
                add(theirs, asyncio.run(option_queue_session(store, reps)))
    echo = max(ours.get("echo_per_s", [0.0]))
    if echo > ECHO_LOOP_PER_S:
        problems.append(f"the console re-posts StoreOpened {echo:.0f}/s while idle (echo loop)")
    for problem in sorted(set(problems)):
        ctx.log(f"  note: {problem}")
    results = []
    target = [Target("p90", "<", 50, "ms")]
    for metric in ("filter", "page_down", "next_waiting"):
        results.append(
            Result(
                "queue",
                metric,
                "ms",
                ours[metric],
                "OptionList",
                theirs[metric],
                list(target),
                note=f"{store.size.conversations:,} conversations",
            )
        )
    return results


# --- case 3: opening a 10,000-message conversation ---------------------------------------------


def raw_thread(store: BigStore, conversation_id: str, limit: int = THREAD_PAGE) -> float:
    """Milliseconds to read the newest ``limit`` messages with plain sqlite3."""
    started = time.perf_counter()
    with closing(_raw_connect(store)) as conn:
        rows = conn.execute(
            "SELECT seq, id, conversation_id, kind, author, body, created_at, delivery "
            "FROM message WHERE conversation_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
            (conversation_id, limit),
        ).fetchall()
    rows.reverse()
    assert len(rows) == limit
    return (time.perf_counter() - started) * 1000


async def console_thread_session(store: BigStore, reps: int, *, problems: list[str]) -> Samples:
    """Open the big conversation from the queue, and read it through the service."""
    big = store.big_conversation_id
    samples: Samples = {"open_10k": [], "open_small": [], "query": [], "raw": [], "raw_q": []}
    hits: list[float] = []
    async with running_console(store, hits=hits, problems=problems) as (
        pilot,
        console,
    ):
        samples["echo_per_s"] = [await echo_rate(pilot, hits)]
        app = console.app
        queue = console.queue
        second = queue.row(1)
        if second is None or second.conversation_id != big:
            raise StuckError(f"{big} is not second in the open queue")
        for _ in range(reps):

            def on_big() -> bool:
                return bool(
                    queue.cursor == 1
                    and console.shows(big)
                    and len(console.thread.messages) == THREAD_PAGE
                )

            samples["open_10k"].append(await keystroke(pilot, "down", on_big))
            samples["raw"].append(raw_thread(store, big))
            context = app.context
            assert context is not None
            started = time.perf_counter()
            rows = conversations.messages(context, big, THREAD_PAGE)
            samples["query"].append((time.perf_counter() - started) * 1000)
            assert len(rows) == THREAD_PAGE
            samples["raw_q"].append(raw_thread(store, big))

            def on_first() -> bool:
                return bool(queue.cursor == 0 and console.shows_highlighted())

            samples["open_small"].append(await keystroke(pilot, "up", on_first))
    return samples


def run_thread(ctx: Context) -> list[Result]:
    """Case 3: open a conversation of 10,000 messages vs reading its 200 rows raw."""
    store = ctx.store
    reps = 4 if ctx.quick else max(10, ctx.runs * 2)
    problems: list[str] = []
    got = asyncio.run(console_thread_session(store, reps, problems=problems))
    target = [Target("p90", "<", 50, "ms")]
    results = [
        Result(
            "thread",
            "open_10k",
            "ms",
            got["open_10k"],
            f"sqlite3 {THREAD_PAGE} rows",
            got["raw"],
            list(target),
            note="keystroke to the rendered thread, through the queue",
        ),
        Result(
            "thread",
            f"query_{THREAD_PAGE}",
            "ms",
            got["query"],
            f"sqlite3 {THREAD_PAGE} rows",
            got["raw_q"],
            list(target),
            note=f"services.conversations.messages(ctx, id, {THREAD_PAGE})",
        ),
        Result(
            "thread",
            "open_small",
            "ms",
            got["open_small"],
            f"sqlite3 {THREAD_PAGE} rows",
            got["raw"],
            note="back to a ~10-message conversation",
        ),
    ]
    if max(got["echo_per_s"]) > ECHO_LOOP_PER_S:
        problems.append("the console re-posts StoreOpened while idle (echo loop)")
    for problem in sorted(set(problems)):
        ctx.log(f"  note: {problem}")
    return results


# --- case 7: quick-reply search -------------------------------------------------------------------

REPLIES = 5_000
VISIBLE_HITS = 100
#: Typed a character at a time: words, a typo, Chinese, pinyin initials.
QUERIES = ("ship", "refnud", "fh", "物流", "tracking", "addr", "退款", "damaged", "size", "thank")
_LANGUAGE_OF = ("en", "zh-CN", "vi", "es")


@dataclass(frozen=True, slots=True)
class ReplyText:
    """The searchable text of one generated quick reply."""

    id: str
    language: str
    group: str
    title: str
    body: str
    keywords: tuple[str, ...]


def reply_texts() -> list[ReplyText]:
    """5,000 quick replies in four languages, built from the data set's phrases."""
    from bench.data import _PHRASES

    groups = ("greeting", "shipping", "refund", "logistics", "product", "closing")
    out = []
    for index in range(REPLIES):
        phrase = _PHRASES[index % len(_PHRASES)]
        other = _PHRASES[(index * 7 + 3) % len(_PHRASES)]
        language = _LANGUAGE_OF[index % len(_LANGUAGE_OF)]
        group = groups[index % len(groups)]
        out.append(
            ReplyText(
                id=f"{language}.{group}.reply-{index}",
                language=language,
                group=group,
                title=f"{phrase[:36]} {index}",
                body=f"{phrase} {other}",
                keywords=(group, other.split()[0]),
            )
        )
    return out


class FilterApp(App[None]):
    """A query line and an OptionList of at most 100 hits, refreshed per keystroke."""

    def __init__(self, search: Callable[[str], list[str]]) -> None:
        super().__init__()
        self.search = search
        self.query_text = ""
        self.shown_for = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="query", markup=False)
        yield OptionList(id="hits", markup=False)

    def on_key(self, event: events.Key) -> None:
        if event.key == "backspace":
            self.query_text = self.query_text[:-1]
        elif event.character and event.character.isprintable():
            self.query_text += event.character
        else:
            return
        self.query_one("#query", Static).update(self.query_text)
        hits = self.search(self.query_text)[:VISIBLE_HITS]
        self.query_one("#hits", OptionList).set_options(Option(hit) for hit in hits)
        self.shown_for = self.query_text


async def filter_session(
    search: Callable[[str], list[str]], queries: tuple[str, ...]
) -> list[float]:
    """Type each query a character at a time, then erase it; ms per keystroke."""
    app = FilterApp(search)
    samples: list[float] = []

    def showing(expected: str) -> Done:
        return lambda: app.shown_for == expected

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0)
        for query in queries:
            for character in query:
                expected = app.query_text + character
                samples.append(await keystroke(pilot, character, showing(expected)))
            for _ in query:
                expected = app.query_text[:-1]
                samples.append(await keystroke(pilot, "backspace", showing(expected)))
    return samples


def reply_search(replies: list[ReplyText]) -> Callable[[str], list[str]]:
    """``ReplyIndex(replies).search`` over our replies, as titles; Skip if the module is
    not there (it is being written)."""
    try:
        search_module = importlib.import_module("cs_console.replies.search")
        library_module = importlib.import_module("cs_console.replies.library")
    except ImportError as exc:
        raise Skip(f"replies search not available ({exc})") from None
    index_class = getattr(search_module, "ReplyIndex", None)
    reply_class = getattr(library_module, "QuickReply", None)
    if index_class is None or reply_class is None:
        raise Skip("replies search not available (no ReplyIndex or QuickReply)")
    known = {
        "audience": "both",
        "hotkey": None,
        "actions": (),
        "source": "bench",
        "line": 0,
        "scenario": "bench",
    }
    built = []
    for reply in replies:
        fields = {
            "id": reply.id,
            "language": reply.language,
            "group": reply.group,
            "title": reply.title,
            "body": reply.body,
            "keywords": reply.keywords,
        }
        try:
            built.append(reply_class(**fields, **known))
        except TypeError as exc:
            raise Skip(f"replies search changed shape: QuickReply({exc})") from None
    index = index_class(built)

    def search(query: str) -> list[str]:
        hits = index.search(query, language="en", limit=VISIBLE_HITS)
        return [str(hit.reply.title) for hit in hits]

    return search


def run_replies(ctx: Context) -> list[Result]:
    """Case 7: palette keystroke over 5,000 quick replies vs a plain substring filter."""
    replies = reply_texts()
    search = reply_search(replies)
    lowered = [(r.title, f"{r.title} {r.body}".lower()) for r in replies]

    def substring(query: str) -> list[str]:
        needle = query.lower()
        hits = []
        for title, text in lowered:
            if needle in text:
                hits.append(title)
                if len(hits) == VISIBLE_HITS:
                    break
        return hits

    queries = QUERIES[:3] if ctx.quick else QUERIES
    ours: list[float] = []
    theirs: list[float] = []
    rounds = 1 if ctx.quick else 3
    for index in range(rounds):
        pair = [(ours, search), (theirs, substring)]
        for into, function in pair if index % 2 == 0 else pair[::-1]:
            into.extend(asyncio.run(filter_session(function, queries)))
    search_ms: list[float] = []
    substring_ms: list[float] = []
    for _ in range(rounds):
        for query in queries:
            for end in range(1, len(query) + 1):
                for into, function in ((search_ms, search), (substring_ms, substring)):
                    started = time.perf_counter()
                    function(query[:end])
                    into.append((time.perf_counter() - started) * 1000)
    return [
        Result(
            "replies",
            "search_only",
            "ms",
            search_ms,
            "substring filter",
            substring_ms,
            note="ReplyIndex.search per typed prefix, without the widget",
        ),
        Result(
            "replies",
            "keystroke",
            "ms",
            ours,
            "substring filter",
            theirs,
            [Target("p90", "<", 50, "ms"), Target("ratio", "<=", 1.5)],
            note=f"{REPLIES:,} replies, at most {VISIBLE_HITS} hits shown",
        ),
    ]
