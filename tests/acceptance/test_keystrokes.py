"""How many keys the agent's commonest tasks take on the demo shop (issue 15, item 7),
each write checked on the server, exactly once. The README lists the same counts; the
tmux script ``bench/keystrokes.py`` measures them on a real terminal.

Keys are counted one per chord; text (a reply's words, an amount, a remark's reason) is
typed, not counted.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from cs_console.domain import (
    CaseCategory,
    CaseStatus,
    ConversationStatus,
    FlagColour,
    MessageKind,
    Resolution,
)
from cs_console.replies.placeholders import HOLE_RE
from cs_console.services import orders as order_service
from cs_console.ui.app import ConsoleApp
from cs_console.ui.screens.case_form import CaseFormScreen
from cs_console.ui.screens.choice import ChoiceScreen
from cs_console.ui.screens.handover import HandoverScreen
from cs_console.ui.screens.remark_form import RemarkFormScreen
from cs_console.ui.screens.workspace import WorkspaceScreen
from cs_console.ui.widgets.order_pane import OrderPane
from tests.acceptance.shop import DemoShop, demo_app, demo_settings, everything
from tests.ui_support import composer, context, type_text, wait_loaded, wait_until, workspace

SIZE = (160, 45)
AGENT = "Lan"
#: The bound quick-reply keys (as the shift test tries them).
HOTKEYS = tuple(f"alt+{letter}" for letter in "asdghjklzxqwe")


class Keys:
    """Presses keys and counts them; text is typed uncounted."""

    def __init__(self, pilot: Pilot[None]) -> None:
        self.pilot = pilot
        self.count = 0

    async def press(self, *keys: str) -> None:
        """Press ``keys``, one count each."""
        self.count += len(keys)
        await self.pilot.press(*keys)

    async def type(self, text: str) -> None:
        """Type ``text`` (not counted: the agent's own words or figures)."""
        await type_text(self.pilot, text)


async def shift_started(pilot: Pilot[None], app: ConsoleApp) -> None:
    """Past the handover screen, the quick replies loaded."""
    await wait_loaded(pilot)
    await wait_until(pilot, lambda: isinstance(app.screen, HandoverScreen), what="handover")
    await pilot.press("escape")
    await wait_until(pilot, lambda: isinstance(app.screen, WorkspaceScreen), what="workspace")
    await wait_until(pilot, lambda: app.replies is not None, what="the quick replies")


def longest_waiting(shop: DemoShop) -> str:
    """The conversation Ctrl+G should open, as the server has it."""
    waiting = [
        c
        for c in everything(shop.state).conversations
        if c.status is ConversationStatus.OPEN
        and c.waiting_since is not None
        and c.assignee in (None, AGENT)
    ]
    return min(waiting, key=lambda c: (c.waiting_since, c.id)).id


async def test_answer_the_longest_waiting_with_a_filled_reply_in_3_keys(
    tmp_path: Path, shop: DemoShop
) -> None:
    app = demo_app(shop, demo_settings(tmp_path / "client", shop, agent=AGENT, undo_seconds=0))
    async with app.run_test(size=SIZE) as pilot:
        await shift_started(pilot, app)
        keys = Keys(pilot)
        first = longest_waiting(shop)
        await keys.press("ctrl+g")
        assert workspace(app).open_id == first
        assert app.focused is composer(app), "Ctrl+G lands in the composer"
        # The reply that fits this customer's order: Alt+D (dispatch time) when it is
        # unshipped. Which conversation waits longest depends on the demo's clock, so
        # the agent's choice is found here, uncounted: each key that leaves a blank (a
        # shipped order has no ship-by) is taken back; only the one sent is counted.
        numbers = [o.number for o in order_service.for_customer(context(app), customer(app))]
        text = ""
        for key in ("alt+d", *HOTKEYS):
            await pilot.press(key)
            text = composer(app).text.strip()
            if text and not HOLE_RE.search(text) and any(n in text for n in numbers):
                break
            await pilot.press("ctrl+a", "backspace")
            text = ""
        assert text, "no quick reply names this customer's order without a blank"
        keys.count += 1  # the one quick-reply key the agent presses
        await keys.press("enter")
        await wait_until(
            pilot,
            lambda: [m for m in everything(shop.state).messages if m.body == text],
            15,
            what="the reply on the server",
        )
        sent = [m for m in everything(shop.state).messages if m.body == text]
        assert len(sent) == 1
        assert sent[0].kind is MessageKind.AGENT
        assert sent[0].conversation_id == first
        assert keys.count == 3


def customer(app: ConsoleApp) -> str:
    """The open conversation's customer."""
    from cs_console.services import conversations

    open_id = workspace(app).open_id
    assert open_id is not None
    info = conversations.info(context(app), open_id)
    assert info is not None
    return info.customer_id


async def test_log_a_refund_case_in_6_keys_plus_the_amount(tmp_path: Path, shop: DemoShop) -> None:
    app = demo_app(shop, demo_settings(tmp_path / "client", shop, agent=AGENT))
    async with app.run_test(size=SIZE) as pilot:
        await shift_started(pilot, app)
        await pilot.press("ctrl+g")  # the conversation the case is for (not counted)
        conversation_id = workspace(app).open_id
        order = workspace(app).query_one("#orders", OrderPane).selected_order
        assert order is not None, "the longest-waiting customer has an order"
        before = len(everything(shop.state).cases)
        keys = Keys(pilot)
        await keys.press("ctrl+l")
        assert isinstance(app.screen, CaseFormScreen)
        guessed = app.screen.draft.category
        # Tab to the resolution, "r" picks Refund, Tab to the amount.
        await keys.press("tab", "r", "tab")
        assert isinstance(app.focused, Input)
        assert app.focused.id == "refund"
        await keys.type("15.00")
        await keys.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="refund offer")
        await keys.press("enter")  # Refund now
        await wait_until(
            pilot,
            lambda: len(everything(shop.state).cases) == before + 1,
            what="the case on the server",
        )
        [case] = [c for c in everything(shop.state).cases if c.conversation_id == conversation_id]
        assert case.category is CaseCategory(guessed)
        assert case.resolution is Resolution.REFUND
        assert case.refund_minor == 1500
        assert case.status is not CaseStatus.AWAITING_APPROVAL
        assert keys.count == 6


async def test_resolve_and_answer_the_next_in_1_key(tmp_path: Path, shop: DemoShop) -> None:
    app = demo_app(shop, demo_settings(tmp_path / "client", shop, agent=AGENT))
    async with app.run_test(size=SIZE) as pilot:
        await shift_started(pilot, app)
        await pilot.press("ctrl+g")
        first = workspace(app).open_id
        assert first is not None
        keys = Keys(pilot)
        await keys.press("ctrl+d")
        await wait_until(
            pilot,
            lambda: (
                next(c for c in everything(shop.state).conversations if c.id == first).status
                is ConversationStatus.RESOLVED
            ),
            what="resolved on the server",
        )
        await wait_until(
            pilot, lambda: workspace(app).open_id not in (None, first), what="the next one"
        )
        assert workspace(app).open_id == longest_waiting(shop)
        assert app.focused is composer(app)
        assert keys.count == 1


async def test_flag_an_order_in_another_colour_in_3_keys_plus_text(
    tmp_path: Path, shop: DemoShop
) -> None:
    app = demo_app(shop, demo_settings(tmp_path / "client", shop, agent=AGENT))
    async with app.run_test(size=SIZE) as pilot:
        await shift_started(pilot, app)
        await pilot.press("ctrl+g", "escape")  # a conversation with an order, in the queue
        order = workspace(app).query_one("#orders", OrderPane).selected_order
        assert order is not None
        keys = Keys(pilot)
        await keys.press("f")
        assert isinstance(app.screen, RemarkFormScreen)
        await keys.press("2")  # the second colour: yellow
        reason = "Customer will collect it at the depot"
        await keys.type(reason)
        await keys.press("enter")
        await wait_until(
            pilot,
            lambda: [r for r in everything(shop.state).remarks if reason in r.text],
            what="the remark on the server",
        )
        [remark] = [r for r in everything(shop.state).remarks if reason in r.text]
        assert remark.flag is FlagColour.YELLOW
        assert remark.order_id == order.order_id
        assert remark.text.startswith(reason), "the digit went into the reason"
        assert keys.count == 3
