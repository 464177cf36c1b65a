"""Pilot tests: markup and escape sequences in shop data are shown as text, never obeyed.

Order numbers, customer names and flag meanings come from a backend or a config file.
Textual parses markup in plain-string labels (``Select`` options among them): a stray
``[/]`` ends the app with a MarkupError, and ``[@click=app.quit]`` becomes a live
action. The shop here is built to carry both, and the app must stay up and show them
literally.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Select

from cs_console import protocol as p
from cs_console.domain import (
    ConversationStatus,
    FlagColour,
    Group,
    MessageKind,
    OrderStatus,
    Role,
)
from cs_console.paths import Paths
from cs_console.secret import Secret
from cs_console.server.state import ServerState
from cs_console.settings import Settings
from cs_console.timeutil import utcnow
from cs_console.ui.app import ConsoleApp, make_app
from cs_console.ui.screens.case_form import CaseFormScreen
from cs_console.ui.screens.remark_form import RemarkFormScreen
from cs_console.ui.widgets.order_pane import OrderPane
from tests.inprocess import InProcessServer, in_process
from tests.ui_support import (
    offline_app,
    offline_settings,
    screen_text,
    wait_loaded,
    wait_until,
    workspace,
)

CLOSING_TAG = "N[/]"
CLICK_ACTION = "[@click=app.quit]x"
#: What the customer's name says once sanitised at ingest: ESC shows as ␛.
SHOWN_NAME = "Eve [b]Bold[/b] ␛]2;pwned␛\\"
HOSTILE_MEANING = "courier matter [/] [@click=app.quit]quit"


def hostile_shop(state: ServerState) -> str:
    """One customer with a markup-and-escape name and two orders whose numbers are
    markup; returns Lan's token."""
    now = utcnow()
    earlier = now - timedelta(days=3)
    state.load_records(
        {
            "customer": [
                p.CustomerRecord(
                    id="cus-x", name="Eve [b]Bold[/b] \x1b]2;pwned\x1b\\", updated_at=earlier
                )
            ],
            "conversation": [
                p.ConversationRecord(
                    id="conv-x",
                    customer_id="cus-x",
                    group=Group.AFTER_SALE,
                    status=ConversationStatus.OPEN,
                    waiting_since=now - timedelta(minutes=3),
                    last_activity_at=now - timedelta(minutes=3),
                    unread_count=1,
                    updated_at=now - timedelta(minutes=3),
                )
            ],
            "message": [
                p.MessageRecord(
                    id="m-x",
                    conversation_id="conv-x",
                    kind=MessageKind.CUSTOMER,
                    author="Eve",
                    body="where are my parcels?",
                    created_at=now - timedelta(minutes=3),
                )
            ],
            "order": [
                p.OrderRecord(
                    id=f"ord-{index}",
                    number=number,
                    customer_id="cus-x",
                    status=OrderStatus.SHIPPED,
                    total_minor=1000,
                    currency="CNY",
                    placed_at=earlier - timedelta(hours=index),
                    shipped_at=earlier,
                    updated_at=earlier,
                )
                for index, number in enumerate((CLOSING_TAG, CLICK_ACTION), start=1)
            ],
        }
    )
    return state.add_agent("Lan", Role.AGENT, "after-sale")


@pytest.fixture
def hostile_server(tmp_path: Path) -> Iterator[tuple[InProcessServer, str]]:
    state = ServerState(f"sqlite:///{tmp_path / 'hostile.db'}")
    token = hostile_shop(state)
    with in_process(state) as server:
        yield server, token
    state.close()


def hostile_app(home: Path, server: InProcessServer, token: str) -> ConsoleApp:
    settings = Settings(
        paths=Paths(home),
        token=Secret(token),
        backend={"url": server.url},
        shift={"undo_seconds": 0.0, "sync_interval_s": 0.2},
        flags={FlagColour.RED.value: HOSTILE_MEANING},
    )
    return make_app(server.session(settings))


def assert_alive(app: ConsoleApp) -> None:
    assert app.is_running, "the app ended"
    assert app.return_code is None
    # Nothing on screen may carry an escape sequence to the terminal.
    assert "\x1b" not in app.export_screenshot()


async def open_select(pilot: Pilot[None], select: Select[str]) -> None:
    """Focus a Select and drop its list down, as Tab and Space would (Enter on a case
    form's closed list saves the form)."""
    select.focus()
    await pilot.pause()
    await pilot.press("space")
    await wait_until(pilot, lambda: select.expanded, what="the select to open")


async def test_markup_in_order_numbers_and_names_is_shown_literally(
    tmp_path: Path, hostile_server: tuple[InProcessServer, str]
) -> None:
    server, token = hostile_server
    app = hostile_app(tmp_path / "client", server, token)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await wait_until(
            pilot,
            lambda: len(workspace(app).query_one("#orders", OrderPane).orders) == 2,
            what="the customer's two orders",
        )
        assert SHOWN_NAME in screen_text(app)

        # The case form: both order numbers are options of the order Select.
        await pilot.press("l")
        await wait_until(pilot, lambda: isinstance(app.screen, CaseFormScreen), what="case form")
        await pilot.pause()
        assert_alive(app)
        await open_select(pilot, app.screen.query_one("#order", Select))
        shown = screen_text(app)
        assert CLOSING_TAG in shown
        assert CLICK_ACTION in shown
        assert_alive(app)
        await pilot.press("escape")  # closes the list
        await pilot.press("escape")  # closes the form
        await wait_until(pilot, lambda: not isinstance(app.screen, CaseFormScreen), what="close")

        # The remark form, once on each order: its title names the order, and the flag
        # Select shows the configured meanings.
        for _order in range(2):
            pane = workspace(app).query_one("#orders", OrderPane)
            order = pane.selected_order
            assert order is not None
            await pilot.press("f8")
            await wait_until(
                pilot, lambda: isinstance(app.screen, RemarkFormScreen), what="remark form"
            )
            await pilot.pause()
            assert_alive(app)
            assert f"Remark on order {order.number}" in screen_text(app)
            await open_select(pilot, app.screen.query_one("#flag", Select))
            assert HOSTILE_MEANING in screen_text(app)
            assert_alive(app)
            await pilot.press("escape")
            await pilot.press("escape")
            await wait_until(
                pilot, lambda: not isinstance(app.screen, RemarkFormScreen), what="close"
            )
            # The next order: the order list has the focus after F6.
            await pilot.press("f6", "down")
        assert_alive(app)


async def test_a_theme_file_cannot_put_escapes_or_markup_in_the_theme_picker(
    tmp_path: Path,
) -> None:
    settings = offline_settings(tmp_path)
    themes = settings.paths.user_themes_dir
    themes.mkdir(parents=True)
    (themes / "fine.toml").write_text('name = "fine"\nprimary = "#336699"\n', "utf-8")
    (themes / "title.toml").write_text(
        'name = "evil\\u001b]2;pwned\\u001b\\\\"\nprimary = "#336699"\n', "utf-8"
    )
    (themes / "click.toml").write_text(
        'name = "[@click=app.quit]quit"\nprimary = "#336699"\n', "utf-8"
    )
    app = offline_app(settings)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await wait_loaded(pilot, online=False)
        assert "fine" in app.available_themes
        assert not [name for name in app.available_themes if "\x1b" in name or "[" in name]
        # Each bad file is reported once.
        await wait_until(
            pilot, lambda: screen_text(app).count("Theme skipped") == 2, what="two reports"
        )
        # The picker lists every theme by name.
        app.action_change_theme()
        await pilot.pause()
        await pilot.press("f", "i", "n")
        await wait_until(pilot, lambda: "fine" in screen_text(app), what="the picker")
        assert_alive(app)
