"""At 100x30 the order pane gives way; F6 brings the orders in place of the queue."""

from __future__ import annotations

from pathlib import Path

from tests.inprocess import InProcessServer
from tests.ui_support import live_app, screen_text, wait_loaded, wait_until


async def test_f6_shows_the_order_timeline_in_a_narrow_terminal(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = live_app(tmp_path / "client", inproc_server, tokens["Lan"])
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_loaded(pilot)
        assert "ZT123456789" not in screen_text(app)  # the order pane is hidden
        await pilot.press("f6")
        await wait_until(pilot, lambda: "ZT123456789" in screen_text(app))
        assert "Timeline" in screen_text(app)
        await pilot.press("f6")  # and back to the queue
        await wait_until(pilot, lambda: "ZT123456789" not in screen_text(app))
