"""Pilot tests: logging a case, flagging an order, the register, by keyboard alone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cs_console.ui.app import ConsoleApp
from cs_console.ui.screens.case_form import CaseFormScreen
from cs_console.ui.screens.cases import CasesScreen
from cs_console.ui.screens.remark_form import RemarkFormScreen
from cs_console.ui.widgets.queue_list import QueueList
from tests.inprocess import InProcessServer
from tests.ui_support import live_app


async def wait_for(
    pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def queue_total(app: ConsoleApp) -> int:
    """Rows in the queue, or -1 while the workspace is not up yet."""
    try:
        return app.screen.query_one(QueueList).total
    except Exception:
        return -1


def console(home: Path, server: InProcessServer, token: str) -> ConsoleApp:
    return live_app(home, server, token)


def server_cases(server: InProcessServer) -> dict[str, object]:
    return {c.id: c for c in server.state.changes(0, 10_000).cases}


async def test_log_case_and_remark_by_keyboard(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = console(tmp_path / "client", inproc_server, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: queue_total(app) == 3)
        # conv-1 is highlighted first (longest wait); its customer writes about a stuck parcel.
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseFormScreen))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(server_cases(inproc_server)) == 1)
        case = next(iter(server_cases(inproc_server).values()))
        assert case.category.value == "logistics.no-tracking-update"  # type: ignore[attr-defined]
        assert case.order_id == "ord-1"  # type: ignore[attr-defined]
        assert case.created_by == "Lan"  # type: ignore[attr-defined]

        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, RemarkFormScreen))
        for key in "courier asked to hold":
            await pilot.press("space" if key == " " else key)
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any(r.author == "Lan" for r in inproc_server.state.changes(0, 10_000).remarks),
        )
        remark = next(
            r for r in inproc_server.state.changes(0, 10_000).remarks if r.author == "Lan"
        )
        assert remark.text == "courier asked to hold"
        assert remark.flag.value == "blue"  # the order has shipped

        await pilot.press("f7")
        await wait_for(pilot, lambda: isinstance(app.screen, CasesScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CasesScreen))


async def test_over_limit_compensation_goes_to_approval(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = console(tmp_path / "client", inproc_server, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: queue_total(app) == 3)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseFormScreen))
        await pilot.pause()
        app.screen.query_one("#compensation").focus()
        for key in "35.50":
            await pilot.press("full_stop" if key == "." else key)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(server_cases(inproc_server)) == 1)
        case = next(iter(server_cases(inproc_server).values()))
        assert case.status.value == "awaiting-approval"  # type: ignore[attr-defined]
        assert case.compensation_minor == 3550  # type: ignore[attr-defined]


async def test_bad_amount_keeps_the_form_open(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = console(tmp_path / "client", inproc_server, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: queue_total(app) == 3)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseFormScreen))
        await pilot.pause()
        app.screen.query_one("#refund").focus()
        for key in "abc":
            await pilot.press(key)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, CaseFormScreen)
        await asyncio.sleep(0.3)
        assert server_cases(inproc_server) == {}


FAMILIES = [
    "logistics.lost",
    "goods.quality",
    "fulfilment.wrong-item",
    "refund.before-shipping",
    "invoice.missing",
    "service.attitude",
    "review.negative",
    "feedback.suggestion",
]


@pytest.mark.parametrize("category", FAMILIES)
async def test_a_case_of_each_family_by_keyboard_alone(
    category: str, tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    from cs_console.domain import CaseCategory
    from cs_console.ui.screens.case_form import CATEGORY_LABELS

    order = [c.value for c in CATEGORY_LABELS]
    app = console(tmp_path / "client", inproc_server, tokens["Lan"])
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: queue_total(app) == 3)
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseFormScreen))
        await pilot.pause()
        # The form opens on the guessed category; walk the list to the wanted one.
        guessed = order.index(CaseCategory.NO_TRACKING_UPDATE.value)
        steps = order.index(category) - guessed
        await pilot.press("space")  # opens the list (Enter on a closed list saves)
        for _ in range(abs(steps)):
            await pilot.press("down" if steps > 0 else "up")
        await pilot.press("enter")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(server_cases(inproc_server)) == 1)
        case = next(iter(server_cases(inproc_server).values()))
        assert case.category.value == category  # type: ignore[attr-defined]
        history = [e for e in inproc_server.state.changes(0, 10_000).case_events]
        assert [e.action for e in history] == ["created"]
