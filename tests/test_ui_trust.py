"""Issue 14's workspace bugs, driven by real keys over the demo shop's own data:
note mode that stuck across conversations, undo that left the customer without their
waiting clock, snoozes that never woke, and the cursor after resolving."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cs_console.domain import ConversationStatus, MessageKind
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.demo import load_demo
from cs_console.server.state import ServerState
from cs_console.services import queue
from cs_console.settings import Settings
from cs_console.store import threads
from cs_console.timeutil import utcnow
from cs_console.ui.app import ConsoleApp, make_app
from cs_console.ui.screens.choice import ChoiceScreen
from cs_console.ui.screens.handover import HandoverScreen
from cs_console.ui.widgets.composer import NOTE, REPLY
from tests.inprocess import InProcessServer, in_process
from tests.ui_support import (
    composer,
    context,
    highlighted_id,
    screen_text,
    server_conversation,
    server_messages,
    type_text,
    wait_loaded,
    wait_until,
    workspace,
)

SIZE = (160, 45)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[InProcessServer, dict[str, str]]]:
    """The demo shop (as `cs-console demo` serves it), in this process."""
    state = ServerState(f"sqlite:///{tmp_path / 'server.db'}")
    tokens = load_demo(state)
    with in_process(state) as server:
        yield server, tokens
    state.close()


class Clock:
    """A clock the test can move forward; starts at the real time."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


async def ready(pilot: Pilot[None]) -> None:
    """Loaded, and past the morning shift's handover that the demo shows at start."""
    await wait_loaded(pilot)
    app = pilot.app
    await wait_until(pilot, lambda: isinstance(app.screen, HandoverScreen), what="handover")
    await pilot.press("escape")
    await wait_until(pilot, lambda: not isinstance(app.screen, HandoverScreen))


def demo_app(
    home: Path,
    server: InProcessServer,
    token: str,
    *,
    undo_seconds: float = 0.0,
    clock: Clock | None = None,
) -> ConsoleApp:
    settings = Settings(
        paths=Paths(home),
        token=Secret(token),
        backend={"url": server.url},
        shift={"undo_seconds": undo_seconds, "sync_interval_s": 0.2},
    )
    return make_app(server.session(settings, clock=clock or utcnow))


async def test_note_mode_stays_with_its_conversation(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g")
        first = workspace(app).open_id
        assert first is not None
        await pilot.press("ctrl+n")  # Ctrl+G landed in the composer
        await type_text(pilot, "checked the warehouse log")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: any(
                m.kind is MessageKind.NOTE and m.body == "checked the warehouse log"
                for m in server_messages(server.state, first)
            ),
        )
        await pilot.press("escape", "j")
        second = workspace(app).open_id
        assert second is not None
        assert second != first
        assert composer(app).mode == REPLY, "a new conversation opens as a reply"
        await pilot.press("r")
        await type_text(pilot, "your parcel left today")
        await pilot.press("enter")
        await wait_until(
            pilot,
            lambda: any(
                m.body == "your parcel left today" for m in server_messages(server.state, second)
            ),
        )
        sent = [
            m for m in server_messages(server.state, second) if m.body == "your parcel left today"
        ]
        assert [m.kind for m in sent] == [MessageKind.AGENT]
        # The conversation switched to note is still a note when the agent comes back.
        # (Answering moved the queue around: open it directly.)
        workspace(app).show_conversation(first)
        assert composer(app).mode == NOTE


async def test_a_quick_reply_into_a_note_asks_first(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await wait_until(pilot, lambda: app.replies is not None, what="quick replies")
        await pilot.press("ctrl+g", "ctrl+n")
        await wait_until(pilot, lambda: "alt+a" in composer(app).reply_keys)
        await pilot.press("alt+a")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        assert composer(app).text == ""
        await pilot.press("1")  # switch to a reply and insert it
        await wait_until(pilot, lambda: composer(app).text != "")
        assert composer(app).mode == REPLY
        # And the other answer keeps the note, with the reply's text in it.
        composer(app).load_text("")
        await pilot.press("ctrl+n")
        assert composer(app).mode == NOTE
        await pilot.press("alt+a")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("2")
        await wait_until(pilot, lambda: composer(app).text != "")
        assert composer(app).mode == NOTE


async def test_undo_puts_back_the_waiting_clock_and_the_replys_actions(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"], undo_seconds=60)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g")
        target = workspace(app).open_id
        assert target is not None
        ctx = context(app)
        before = threads.conversation_info(ctx.db, target)
        rows_before = queue.page(ctx, workspace(app).filter, 0, 5)
        assert rows_before[0].conversation_id == target
        waiting_since = rows_before[0].waiting_since
        assert waiting_since is not None
        server_count = len(server_messages(server.state, target))

        await type_text(pilot, "let me check that for you")  # Ctrl+G: in the composer
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: queue.page(ctx, workspace(app).filter, 0, 1)[0].conversation_id != target
        )
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: composer(app).text.startswith("let me check"))

        rows_after = queue.page(ctx, workspace(app).filter, 0, 5)
        assert rows_after[0].conversation_id == target, "back at the top of the queue"
        assert rows_after[0].waiting_since == waiting_since
        assert threads.conversation_info(ctx.db, target) == before
        # Past the undo window and a few sync cycles: the server never heard of it.
        await pilot.pause(0.6)
        assert len(server_messages(server.state, target)) == server_count


async def test_undo_takes_back_a_quick_replys_remark(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    from cs_console.replies.library import ReplyAction
    from cs_console.services import conversations, orders

    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"], undo_seconds=60)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ctx = context(app)
        # A conversation whose customer has an order, as a remark action needs one.
        target = order_id = None
        for row in queue.page(ctx, workspace(app).filter, 0, 50):
            found = orders.for_customer(ctx, row.customer_id)
            if found:
                target, order_id = row.conversation_id, found[0].order_id
                break
        assert target is not None
        assert order_id is not None
        remarks_before = [r.remark_id for r in orders.for_customer(ctx, row.customer_id)[0].remarks]
        queued = conversations.send(
            ctx,
            target,
            "we will change the address",
            force=True,
            actions=[ReplyAction("add_remark", {"flag": "purple", "text": "address change"})],
            order_id=order_id,
        )
        assert isinstance(queued, conversations.Queued)
        shown = [r.remark_id for r in orders.for_customer(ctx, row.customer_id)[0].remarks]
        assert len(shown) == len(remarks_before) + 1
        assert conversations.undo(ctx, queued)
        after = [r.remark_id for r in orders.for_customer(ctx, row.customer_id)[0].remarks]
        assert after == remarks_before


async def test_a_snoozed_customer_comes_back_at_the_time(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    server, tokens = demo_server
    clock = Clock()
    app = demo_app(tmp_path / "lan", server, tokens["Lan"], clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g")
        target = workspace(app).open_id
        assert target is not None
        await pilot.press("escape", "z", "1")  # to the queue; snooze 15 minutes
        await wait_until(
            pilot,
            lambda: server_conversation(server.state, target).status is ConversationStatus.SNOOZED,
        )
        ctx = context(app)
        flt = workspace(app).filter
        assert target not in {r.conversation_id for r in queue.page(ctx, flt, 0, 500)}
        clock.offset = timedelta(minutes=16)
        await wait_until(
            pilot,
            lambda: queue.page(ctx, flt, 0, 1)[0].conversation_id == target,
            what="the snoozed customer back at the top of the open queue",
        )


async def test_resolve_goes_on_to_the_next_waiting_customer(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        ctx = context(app)
        flt = workspace(app).filter

        def waiting() -> list[str]:
            return [
                r.conversation_id
                for r in queue.page(ctx, flt, 0, 500)
                if r.waiting_since is not None and r.assignee in (None, ctx.agent_name)
            ]

        # Resolve the one at the bottom: the cursor must not stay down there.
        await pilot.press("G")
        last = workspace(app).open_id
        assert last is not None
        assert last not in waiting()[:1]
        await pilot.press("x")
        await wait_until(pilot, lambda: workspace(app).open_id == waiting()[0])
        assert highlighted_id(app) == waiting()[0]
        # And from the top: resolving the longest-waiting goes on to the next one.
        first, following = waiting()[:2]
        await pilot.press("x")
        await wait_until(pilot, lambda: workspace(app).open_id == following)
        assert highlighted_id(app) == following
        await wait_until(
            pilot,
            lambda: server_conversation(server.state, first).status is ConversationStatus.RESOLVED,
        )


@pytest.mark.parametrize("size", [(80, 24), (100, 30)], ids=["80x24", "100x30"])
async def test_queue_names_never_run_into_the_desk(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]], size: tuple[int, int]
) -> None:
    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"])
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        await pilot.pause(0.2)
        shown = screen_text(app)
        names = {r.customer_name for r in queue.page(context(app), workspace(app).filter, 0, 30)}
    for name in names:
        for desk in ("pre", "after"):
            assert name + desk not in shown, f"{name!r} runs into {desk!r}"


async def test_f7_and_f6_reach_the_register_and_orders_from_the_composer(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    from cs_console.ui.screens.cases import CasesScreen

    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+g")
        assert app.focused is composer(app)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, CasesScreen))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CasesScreen))
        await pilot.press("r", "f6")
        assert app.focused is not composer(app)


async def test_escape_gives_the_queue_back_from_the_orders_in_a_narrow_terminal(
    tmp_path: Path, demo_server: tuple[InProcessServer, dict[str, str]]
) -> None:
    from cs_console.ui.widgets.queue_list import QueueList

    server, tokens = demo_server
    app = demo_app(tmp_path / "lan", server, tokens["Lan"])
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f6")
        assert workspace(app).has_class("-show-orders")
        await pilot.press("escape")
        assert not workspace(app).has_class("-show-orders")
        assert isinstance(app.focused, QueueList)
