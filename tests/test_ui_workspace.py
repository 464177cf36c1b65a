"""The workspace driven with real keys against a live reference server.

Each test presses keys with Pilot and checks the outcome where it counts: in the
client store (through the services) and on the server (``inproc_server.state``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Protocol

import pytest
from rich.cells import cell_len
from textual.message import Message
from textual.widgets import OptionList, Static

from cs_console.domain import ConversationStatus, Group, MessageKind
from cs_console.services import conversations
from cs_console.services.context import open_context
from cs_console.services.events import StoreOpened
from cs_console.store.db import Database
from cs_console.store.ingest import apply_page
from cs_console.ui.app import ConsoleApp
from cs_console.ui.messages import SessionMessage
from cs_console.ui.screens.choice import ChoiceScreen
from cs_console.ui.screens.help import HelpScreen
from cs_console.ui.screens.new_activity import NewActivityScreen
from cs_console.ui.widgets.composer import NOTE, REPLY
from tests.inprocess import InProcessServer
from tests.ui_support import (
    SyncWatcher,
    composer,
    context,
    highlighted_id,
    live_app,
    offline_app,
    offline_settings,
    queue_list,
    screen_text,
    server_conversation,
    server_messages,
    stop_sync,
    thread_text,
    thread_view,
    type_text,
    wait_for_sync_cycles,
    wait_loaded,
    wait_until,
    workspace,
)

SIZE = (160, 45)


class MakeApp(Protocol):
    """Builds a console for one agent on the test's client home."""

    def __call__(
        self, agent: str = "Lan", *, undo_seconds: float = 0.0, sync_interval_s: float = 0.2
    ) -> ConsoleApp: ...


@pytest.fixture
def make_app(
    tmp_path: Path,
    inproc_server: InProcessServer,
    tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> MakeApp:
    """Builds consoles for Lan (or another agent) on one client home, synced every 0.2 s."""

    def make(
        agent: str = "Lan", *, undo_seconds: float = 0.0, sync_interval_s: float = 0.2
    ) -> ConsoleApp:
        return live_app(
            tmp_path / "client",
            inproc_server,
            tokens[agent],
            undo_seconds=undo_seconds,
            sync_interval_s=sync_interval_s,
        )

    return make


def queue_ids(app: ConsoleApp) -> list[str]:
    """The conversations the queue shows, top to bottom."""
    queue = queue_list(app)
    rows = (queue.row(index) for index in range(queue.total))
    return [row.conversation_id for row in rows if row is not None]


def outbox_is_empty(app: ConsoleApp) -> bool:
    """Nothing queued or failed is left to send."""
    return not conversations.outbox_entries(context(app))


# --- the queue -----------------------------------------------------------------------


async def test_queue_starts_on_longest_waiting_and_n_jumps_back(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        # conv-1 has waited 5 minutes, conv-2 one; conv-3 (Mei's) waits for nobody.
        assert queue_ids(app) == ["conv-1", "conv-2", "conv-3"]
        assert highlighted_id(app) == "conv-1"
        assert workspace(app).open_id == "conv-1"

        await pilot.press("down", "down")
        assert highlighted_id(app) == "conv-3"
        await pilot.press("n")
        assert highlighted_id(app) == "conv-1"
        assert workspace(app).open_id == "conv-1"
        # Next waiting lands in the composer: the next key answers (issue 15, item 7).
        assert app.focused is composer(app)


async def test_filter_keys_change_the_queue(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        queue = queue_list(app)
        assert queue.total == 3  # open, everyone's

        await pilot.press("2")  # pending: none in the tiny shop
        assert queue.total == 0
        assert queue.highlighted is None

        await pilot.press("1")
        assert queue.total == 3

        await pilot.press("u")  # conv-3 is Mei's
        assert queue_ids(app) == ["conv-1", "conv-2"]

        await pilot.press("m")  # Lan has none yet
        assert queue.total == 0

        await pilot.press("a", "v")  # everyone's, pre-sale only
        assert queue_ids(app) == ["conv-2", "conv-3"]
        await pilot.press("v")  # after-sale only
        assert queue_ids(app) == ["conv-1"]
        await pilot.press("v")  # both again
        assert queue.total == 3


# --- writing -------------------------------------------------------------------------


async def test_enter_opens_and_enter_sends_exactly_once(
    make_app: MakeApp, inproc_server: InProcessServer
) -> None:
    app = make_app()
    watcher = SyncWatcher()
    body = "Checking it now."
    async with app.run_test(size=SIZE, message_hook=watcher) as pilot:
        await wait_loaded(pilot)
        await pilot.press("enter")
        assert app.focused is composer(app)

        await type_text(pilot, body)
        assert composer(app).text == body
        await pilot.press("enter")
        assert composer(app).text == ""

        await wait_until(pilot, lambda: outbox_is_empty(app), what="the outbox to drain")
        assert inproc_server.state.messages_with_body(body) == 1
        sent = server_messages(inproc_server.state, "conv-1")[-1]
        assert (sent.kind, sent.author, sent.body) == (MessageKind.AGENT, "Lan", body)
        # Later cycles must not send it again.
        await wait_for_sync_cycles(pilot, watcher, 3)
        assert inproc_server.state.messages_with_body(body) == 1
        assert body in thread_text(app)
        assert conversations.draft(context(app), "conv-1", REPLY) == ""


async def test_ctrl_n_sends_an_internal_note(
    make_app: MakeApp, inproc_server: InProcessServer
) -> None:
    app = make_app()
    body = "Escalate if lost"
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("enter", "ctrl+n")
        assert composer(app).mode == NOTE

        await type_text(pilot, body)
        await pilot.press("enter")
        assert composer(app).text == ""

        await wait_until(
            pilot,
            lambda: inproc_server.state.messages_with_body(body) == 1,
            what="the note on the server",
        )
        note = server_messages(inproc_server.state, "conv-1")[-1]
        assert (note.kind, note.author) == (MessageKind.NOTE, "Lan")
        # A note is not an answer: the customer still waits and nobody claimed it.
        conversation = server_conversation(inproc_server.state, "conv-1")
        assert conversation.waiting_since is not None
        assert conversation.assignee is None


async def test_drafts_are_kept_per_conversation(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("enter")
        await type_text(pilot, "Your parcel")
        await pilot.press("escape", "down", "enter")
        assert workspace(app).open_id == "conv-2"
        assert composer(app).text == ""
        await type_text(pilot, "Yes, in stock")
        await pilot.press("escape", "up")
        assert workspace(app).open_id == "conv-1"
        assert composer(app).text == "Your parcel"
        await pilot.press("down")
        assert composer(app).text == "Yes, in stock"

        ctx = context(app)
        assert conversations.draft(ctx, "conv-1", REPLY) == "Your parcel"
        assert conversations.draft(ctx, "conv-2", REPLY) == "Yes, in stock"


async def test_draft_survives_a_restart(make_app: MakeApp) -> None:
    first = make_app()
    async with first.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("enter")
        await type_text(pilot, "Let me check")
        await pilot.press("escape")
        await stop_sync(pilot)

    second = make_app()
    async with second.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        assert workspace(second).open_id == "conv-1"
        assert composer(second).text == "Let me check"
        await stop_sync(pilot)


async def test_draft_typed_just_before_quitting_survives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = offline_settings(tmp_path)
    app = offline_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot, online=False)
        await pilot.press("enter")
        await type_text(pilot, "Be right back")
        await pilot.press("ctrl+q")

    ctx = open_context(settings)
    try:
        assert conversations.draft(ctx, "conv-1", REPLY) == "Be right back"
    finally:
        ctx.close()


# --- acting on the conversation ----------------------------------------------------


async def test_claim_transfer_resolve_reach_the_server(
    make_app: MakeApp, inproc_server: InProcessServer
) -> None:
    app = make_app()
    state = inproc_server.state
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("down")
        assert workspace(app).open_id == "conv-2"

        await pilot.press("c")
        await wait_until(
            pilot,
            lambda: server_conversation(state, "conv-2").assignee == "Lan",
            what="the claim on the server",
        )

        await pilot.press("t")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("2")  # 1 pre-sale desk, 2 after-sale desk, then the agents
        await wait_until(
            pilot,
            lambda: server_conversation(state, "conv-2").group is Group.AFTER_SALE,
            what="the transfer on the server",
        )
        assert server_conversation(state, "conv-2").assignee is None  # back to the desk

        await pilot.press("x")
        await wait_until(
            pilot,
            lambda: server_conversation(state, "conv-2").status is ConversationStatus.RESOLVED,
            what="the resolution on the server",
        )
        # The "2" above also reached the queue's "pending" key
        # (test_choosing_by_number_leaves_the_queue_filter_alone); show open ones again.
        await pilot.press("1")
        await wait_until(pilot, lambda: queue_ids(app) == ["conv-1", "conv-3"])


async def test_choosing_by_number_leaves_the_queue_filter_alone(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("t", "2")
        assert not isinstance(app.screen, ChoiceScreen)
        assert workspace(app).filter.status is ConversationStatus.OPEN
        assert queue_list(app).total == 3


async def test_transfer_to_an_agent(make_app: MakeApp, inproc_server: InProcessServer) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("t")
        choices = app.screen.query_one("#choices", OptionList)
        labels = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
        # The desks, then every active agent but Lan herself.
        assert labels == [
            "1  Pre-sale desk",
            "2  After-sale desk",
            "3  Agent Mei",
            "4  Agent Sofia",
        ]
        await pilot.press("3")
        await wait_until(
            pilot,
            lambda: server_conversation(inproc_server.state, "conv-1").assignee == "Mei",
            what="the transfer to Mei on the server",
        )
        assert server_conversation(inproc_server.state, "conv-1").group is Group.AFTER_SALE


# --- send safety and undo --------------------------------------------------------------


async def test_send_safety_when_the_customer_writes_while_the_agent_types(
    make_app: MakeApp, inproc_server: InProcessServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("down", "enter")
        await type_text(pilot, "In stock!")
        inproc_server.state.add_customer_message("conv-2", "still there?")
        await wait_until(
            pilot,
            lambda: "still there?" in thread_text(app),
            what="sync to pull the customer's message",
        )
        await pilot.press("enter")
        assert isinstance(app.screen, NewActivityScreen)


async def test_send_safety_dialog_back_and_send_anyway(
    make_app: MakeApp, inproc_server: InProcessServer
) -> None:
    # Sync every minute, so no cycle redraws the thread during the test: the message
    # lands in the store the way a sync cycle writes it, before the screen shows it.
    app = make_app(sync_interval_s=60.0)
    body = "In stock!"
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("down", "enter")  # opening marks it read: one more cycle
        await wait_until(pilot, lambda: outbox_is_empty(app), what="mark-read to be sent")
        await type_text(pilot, body)
        inproc_server.state.add_customer_message("conv-2", "still there?")
        apply_page(context(app).db, inproc_server.state.changes(0, 1000))
        assert "still there?" not in thread_text(app)

        await pilot.press("enter")
        assert isinstance(app.screen, NewActivityScreen)
        assert "still there?" in screen_text(app)

        await pilot.press("escape")  # back to editing: nothing goes out
        assert not isinstance(app.screen, NewActivityScreen)
        assert app.focused is composer(app)
        assert composer(app).text == body
        assert outbox_is_empty(app)
        assert "still there?" in thread_text(app)  # the dialog showed it in the thread too

        inproc_server.state.add_customer_message("conv-2", "hello??")
        apply_page(context(app).db, inproc_server.state.changes(0, 1000))
        await pilot.press("enter")
        assert isinstance(app.screen, NewActivityScreen)
        assert [m.body for m in app.screen.new_messages] == ["hello??"]
        await pilot.press("enter")  # send anyway
        assert not isinstance(app.screen, NewActivityScreen)
        assert composer(app).text == ""
        await wait_until(
            pilot,
            lambda: inproc_server.state.messages_with_body(body) == 1,
            what="the reply on the server",
        )
        await wait_until(pilot, lambda: outbox_is_empty(app), what="the outbox to drain")
        assert inproc_server.state.messages_with_body(body) == 1


async def test_ctrl_r_takes_a_queued_reply_back(
    make_app: MakeApp, inproc_server: InProcessServer
) -> None:
    app = make_app(undo_seconds=30.0)
    watcher = SyncWatcher()
    body = "Wrong chat"
    async with app.run_test(size=SIZE, message_hook=watcher) as pilot:
        await wait_loaded(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: outbox_is_empty(app), what="mark-read to be sent")
        await type_text(pilot, body)
        await pilot.press("enter")
        assert composer(app).text == ""
        assert [e.conversation_id for e in conversations.outbox_entries(context(app))] == ["conv-1"]

        await pilot.press("ctrl+r")
        assert outbox_is_empty(app)
        assert composer(app).text == body
        assert app.focused is composer(app)
        await wait_for_sync_cycles(pilot, watcher, 3)
        assert inproc_server.state.messages_with_body(body) == 0
        assert body not in thread_text(app)


# --- help ----------------------------------------------------------------------------


async def test_f1_lists_every_binding_in_words(make_app: MakeApp) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await wait_until(pilot, lambda: bool(app.screen.query(".help-area")), what="the keys")
        shown = "\n".join(
            str(static.content) for static in app.screen.query(".help-area").results(Static)
        )
        for words in ("Undo send", "Claim", "Transfer", "Newest", "Reply/Note", "Search"):
            assert words in shown
        # Words, not the ids a [keymap] uses (``cs-console keys`` lists those).
        assert "workspace.undo_send" not in shown
        assert "queue.claim" not in shown

        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert app.screen is workspace(app)


# --- untrusted text ------------------------------------------------------------------

HOSTILE = "\x1b]52;c;SGVsbG8=\x07 [@click=app.quit]x[/] [bold]b[/bold] trailing\\"


async def test_hostile_customer_text_is_shown_literally_and_inert(
    make_app: MakeApp, inproc_server: InProcessServer
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        inproc_server.state.add_customer_message("conv-2", HOSTILE)
        await wait_until(
            pilot,
            lambda: any(
                m.body.endswith("trailing\\")
                for m in conversations.messages(context(app), "conv-2")
            ),
            what="sync to pull the message",
        )
        await pilot.press("down")
        await wait_until(pilot, lambda: "trailing" in thread_text(app), what="the thread")

        # Control characters become visible pictures; markup stays text (the thread
        # wraps, so the pieces are checked one by one).
        thread_lines = thread_text(app)
        for piece in ("␛]52;c;SGVsbG8=␇", "[@click=app.quit]x[/]", "[bold]b[/bold]", "trailing\\"):
            assert piece in thread_lines
        shown = screen_text(app)
        assert "[@click=app.quit]" in shown
        assert "[bold]b[/bold]" in shown
        assert "␛" in shown
        assert "\x1b" not in thread_lines

        # Clicking the would-be link does nothing.
        thread = thread_view(app)
        lines = thread_text(app).split("\n")
        row = next(i for i, text in enumerate(lines) if "[@click" in text)
        column = cell_len(lines[row][: lines[row].index("[@click")])
        left = thread.content_region.x - thread.region.x
        top = thread.content_region.y - thread.region.y
        await pilot.click(thread, offset=(left + column + 2, top + row - int(thread.scroll_y)))
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None


# --- app bugs, pinned ----------------------------------------------------------------


async def test_forwarded_messages_do_not_echo(tmp_path: Path) -> None:
    # A store that needs no server.
    app = offline_app(offline_settings(tmp_path))
    seen: Counter[type[object]] = Counter()

    def count(message: Message) -> None:
        if isinstance(message, SessionMessage):
            seen[type(message.event)] += 1

    async with app.run_test(size=SIZE, message_hook=count) as pilot:
        await wait_loaded(pilot, online=False)
        await pilot.pause(0.5)  # long enough for an echo to go round hundreds of times
        handled = seen[StoreOpened]
        app.exit()
    # The session tells the app once; the app hands the workspace one copy, which does
    # not bubble back up to be handed on again.
    assert handled == 2


async def test_app_releases_the_store_on_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = offline_settings(tmp_path)
    app = offline_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot, online=False)
    Database(settings.paths.store).close()  # no StoreBusy: the lock was released


async def test_r_and_the_function_keys_move_between_panes(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = live_app(tmp_path / "client", inproc_server, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await pilot.press("r")
        await wait_until(
            pilot, lambda: app.focused is composer(app), what="r to reach the composer"
        )
        await pilot.press("f2")
        await wait_until(
            pilot, lambda: app.focused is queue_list(app), what="F2 to reach the queue"
        )
        await pilot.press("f3")
        await wait_until(pilot, lambda: app.focused is thread_view(app), what="F3: the thread")
        await pilot.press("f4")
        await wait_until(pilot, lambda: app.focused is composer(app), what="F4: the composer")
