"""The customer's history and a case's history on screen, by keyboard, on the demo shop
(and on the tiny shop for the register)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import OptionList

from cs_console.domain import CaseCategory, CaseStatus
from cs_console.services import cases
from cs_console.ui.app import ConsoleApp
from cs_console.ui.panes.base import GoToConversation
from cs_console.ui.screens.case_form import CaseFormScreen
from cs_console.ui.screens.cases import CasesScreen
from cs_console.ui.screens.handover import HandoverScreen
from cs_console.ui.screens.past_conversation import PastConversationScreen
from cs_console.ui.widgets.case_history import CaseHistory
from cs_console.ui.widgets.customer_history import CustomerHistory
from cs_console.ui.widgets.thread_view import ThreadView
from tests.acceptance.shop import DemoShop, demo_app, demo_settings, demo_shop
from tests.inprocess import InProcessServer
from tests.test_history import add_earlier_conversation
from tests.ui_support import context, live_app, screen_text, wait_loaded, wait_until, workspace

SIZE = (160, 45)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoShop]:
    with demo_shop(tmp_path) as running:
        yield running


def history_widget(app: ConsoleApp) -> CustomerHistory:
    return workspace(app).query_one(CustomerHistory)


def history_text(app: ConsoleApp) -> str:
    entries = history_widget(app).entries
    return "\n".join(
        str(entries.get_option_at_index(i).prompt) for i in range(entries.option_count)
    )


def widget_text(widget: CaseHistory) -> str:
    return str(widget.query_one("#case-history-body").render())


async def test_earlier_conversation_listed_and_opened_read_only(
    tmp_path: Path, shop: DemoShop
) -> None:
    _customer, earlier = add_earlier_conversation(shop, "conv-001")
    app = demo_app(shop, demo_settings(tmp_path / "client", shop, undo_seconds=0.0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, HandoverScreen))
        await pilot.press("escape")
        await wait_loaded(pilot)
        workspace(app).post_message(GoToConversation("conv-001"))
        await wait_until(pilot, lambda: workspace(app).open_id == "conv-001")
        await wait_until(pilot, lambda: "dishwasher" in history_text(app))
        listed = history_text(app)
        # The customer's words, literally: "[bold]" is text, not markup.
        assert "[bold]Is this[/] cup dishwasher safe?" in listed
        assert "resolved" in listed
        assert "conv-001" not in listed  # the conversation on screen is not "earlier"
        summary = str(history_widget(app).query_one("#history-summary").render())
        assert "2 earlier conversations" in summary  # the added one and the demo story's
        assert "1 refund" in summary  # the story's refund request

        workspace(app).query_one("#queue").focus()
        await pilot.press("h")
        await wait_until(pilot, lambda: app.focused is history_widget(app).entries)
        entries = history_widget(app).entries
        assert isinstance(entries, OptionList)
        highlighted = entries.highlighted
        assert highlighted is not None
        assert entries.get_option_at_index(highlighted).id == f"conversation:{earlier}"

        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, PastConversationScreen))
        screen = app.screen
        thread = screen.query_one(ThreadView)
        await wait_until(pilot, lambda: len(thread.messages) == 3)
        assert [m.body for m in thread.messages][1] == "Yes, the top rack."
        assert app.focused is thread
        assert "Composer" not in {type(w).__name__ for w in screen.query("*")}
        assert "Read only" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, PastConversationScreen))
        # Escape in the history goes back to the queue.
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.focused is workspace(app).query_one("#queue"))


async def test_register_and_form_show_who_changed_what(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = live_app(tmp_path / "client", inproc_server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        ctx = context(app)
        draft = cases.CaseDraft(
            category=CaseCategory.NO_TRACKING_UPDATE, conversation_id="conv-1", customer_id="cus-1"
        )
        case_id = cases.save(ctx, draft).case_id
        draft.case_id = case_id
        draft.status = CaseStatus.WAITING_COURIER
        draft.refund_minor = 1250
        draft.notes = "[red]courier[/] asked"
        cases.save(ctx, draft)
        await wait_until(pilot, lambda: len(cases.history(ctx, case_id)) == 2, what="the sync")

        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(app.screen, CasesScreen))
        panel = app.screen.query_one("#case-history", CaseHistory)
        await wait_until(pilot, lambda: "changed" in widget_text(panel))
        shown = widget_text(panel)
        assert "Lan created the case" in shown
        assert "Status: open → waiting for courier" in shown
        assert "Refund: ¥0.00 → ¥12.50" in shown
        assert "Notes edited" in shown

        # The customer's history lists the case; the form opened on it shows its history.
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CasesScreen))
        await wait_until(pilot, lambda: case_id in str(history_widget(app).history))
        workspace(app).query_one("#queue").focus()
        await pilot.press("h")
        entries = history_widget(app).entries
        await wait_until(pilot, lambda: app.focused is entries)
        highlighted = entries.highlighted
        assert highlighted is not None
        assert entries.get_option_at_index(highlighted).id == f"case:{case_id}"
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, CaseFormScreen))
        form_history = app.screen.query_one(CaseHistory)
        await wait_until(pilot, lambda: "waiting for courier" in widget_text(form_history))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CaseFormScreen))
