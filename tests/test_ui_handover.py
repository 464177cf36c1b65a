"""Shift handover end to end: one agent hands over, the next one sees it on start."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from cs_console.ui.screens.handover import HandoverScreen
from tests.inprocess import InProcessServer
from tests.ui_support import live_app, screen_text, type_text, wait_loaded, wait_until

SIZE = (160, 45)


async def test_handover_reaches_the_next_shift(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    lan = live_app(tmp_path / "lan", inproc_server, tokens["Lan"])
    async with lan.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("f10")
        await wait_until(pilot, lambda: isinstance(lan.screen, HandoverScreen))
        assert "waiting for an answer" in screen_text(lan)
        await pilot.press("ctrl+s")  # an empty note is refused
        await pilot.pause()
        assert isinstance(lan.screen, HandoverScreen)
        await type_text(pilot, "conv-1 waits for ZTO, call them at 10")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not isinstance(lan.screen, HandoverScreen))
        await wait_until(pilot, lambda: len(inproc_server.state.changes(0, 10_000).handovers) == 1)
    handover = inproc_server.state.changes(0, 10_000).handovers[0]
    assert handover.author == "Lan"
    assert handover.note == "conv-1 waits for ZTO, call them at 10"

    mei = live_app(tmp_path / "mei", inproc_server, tokens["Mei"])
    async with mei.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await wait_until(pilot, lambda: isinstance(mei.screen, HandoverScreen))
        await wait_until(pilot, lambda: bool(mei.screen.query("#previous")))  # composed
        previous = str(mei.screen.query_one("#previous", Static).render())
        assert "call them at 10" in previous
        assert "Lan" in previous
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(mei.screen, HandoverScreen))

    # Shown once: the next start of Mei's console does not show it again.
    again = live_app(tmp_path / "mei", inproc_server, tokens["Mei"])
    async with again.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.pause(0.5)
        assert not isinstance(again.screen, HandoverScreen)
