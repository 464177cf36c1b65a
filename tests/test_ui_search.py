"""Ctrl+F on the demo shop: type, move, Enter, and the hit's conversation is open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from cs_console.services import orders, search
from cs_console.services.search import HitKind
from cs_console.ui.app import ConsoleApp
from cs_console.ui.screens.handover import HandoverScreen
from cs_console.ui.screens.search import SearchScreen
from tests.acceptance.shop import DemoShop, demo_app, demo_settings, demo_shop
from tests.ui_support import context, type_text, wait_loaded, wait_until, workspace

SIZE = (160, 45)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoShop]:
    with demo_shop(tmp_path) as running:
        yield running


def lan(shop: DemoShop, tmp_path: Path) -> ConsoleApp:
    return demo_app(shop, demo_settings(tmp_path / "client", shop))


async def start(pilot: Pilot[None]) -> ConsoleApp:
    """Past the shift-start screen, the queue loaded."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until(pilot, lambda: isinstance(app.screen, HandoverScreen), what="shift start")
    await pilot.press("escape")
    await wait_loaded(pilot)
    return app


def search_screen(app: ConsoleApp) -> SearchScreen:
    screen = app.screen
    assert isinstance(screen, SearchScreen), screen
    return screen


def answered(app: ConsoleApp, text: str) -> bool:
    screen = app.screen
    return (
        isinstance(screen, SearchScreen)
        and screen.results is not None
        and screen.results.query == text
    )


async def test_order_number_tail_opens_the_customers_conversation(
    shop: DemoShop, tmp_path: Path
) -> None:
    app = lan(shop, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        # The tail of an order number as an agent reads it off a screenshot.
        number = next(o for o in shop.state.changes(0, 10_000).orders if o.id == "ord-0003")
        tail = number.number[-4:]
        expected = orders.conversation_of_customer(context(app), number.customer_id)
        assert expected is not None
        assert expected != workspace(app).open_id

        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen), what="search")
        await type_text(pilot, tail)
        await wait_until(pilot, lambda: answered(app, tail), what="the hits")
        results = search_screen(app).results
        assert results is not None
        assert results.orders[0].ref == "ord-0003"
        # The first hit is highlighted; move to the order's row, whatever comes before it.
        hits = search_screen(app).hits
        for _ in range(hits.index(results.orders[0])):
            await pilot.press("down")
        await pilot.press("enter")

        await wait_until(pilot, lambda: not isinstance(app.screen, SearchScreen), what="close")
        await wait_until(pilot, lambda: workspace(app).open_id == expected, what="open")


async def test_chinese_and_pinyin_find_a_message_and_escape_changes_nothing(
    shop: DemoShop, tmp_path: Path
) -> None:
    app = lan(shop, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        before = workspace(app).open_id

        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen), what="search")
        screen = search_screen(app)
        # Pilot types ASCII only: the Chinese goes in as an input method would put it.
        screen.query_one("#query", Input).insert_text_at_cursor("发货")
        await wait_until(pilot, lambda: answered(app, "发货"), what="the hits")
        assert screen.results is not None
        assert screen.results.messages
        assert all("发货" in hit.label.text for hit in screen.results.messages)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, SearchScreen), what="close")
        assert workspace(app).open_id == before

        await pilot.press("ctrl+f")
        await wait_until(pilot, lambda: isinstance(app.screen, SearchScreen), what="search")
        await type_text(pilot, "fahuo")
        await wait_until(pilot, lambda: answered(app, "fahuo"), what="the hits")
        screen = search_screen(app)
        assert screen.results is not None
        messages = [h for h in screen.hits if h.kind is HitKind.MESSAGE]
        # Pick a message in another conversation than the one on screen.
        target = next(h for h in messages if h.conversation_id != before)
        for _ in range(screen.hits.index(target)):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: workspace(app).open_id == target.conversation_id, what="open"
        )
        assert search.conversation_for(context(app), target) == target.conversation_id
