"""SVG snapshots of the workspace: fixed terminal sizes, a frozen clock, UTC, no server.

The store is filled before the app starts (``ui_support.offline_settings``) and sync
is off, so each screenshot depends only on the code (and on FIXED_NOW lying in the
past: see test_waiting_too_long_count_follows_the_app_clock). Update the baselines
with ``pytest tests/test_ui_snapshots.py --snapshot-update`` and read the diff.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cs_console.ui.app import ConsoleApp
from cs_console.ui.screens.help import HelpScreen
from tests.ui_support import (
    composer,
    context,
    offline_app,
    offline_settings,
    queue_list,
    screen_text,
    status_bar,
    wait_for_stable_screen,
    wait_loaded,
    wait_until,
    workspace,
)

SnapCompare = Callable[..., bool]


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, utc: None) -> Iterator[ConsoleApp]:
    """A console on the fixed shop, frozen at FIXED_NOW, sync off."""
    console = offline_app(offline_settings(tmp_path))
    yield console
    if console.context is not None:
        console.context.close()


async def settled(pilot: Pilot[None]) -> None:
    """conv-1 (the longest wait) is open and the screen has stopped changing."""
    await wait_loaded(pilot, online=False)
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until(pilot, lambda: workspace(app).open_id == "conv-1", what="conv-1 to open")
    # The reply library loads in a worker; its suggestions bar changes the layout.
    await wait_until(pilot, lambda: app.replies is not None, what="quick replies to load")
    composer(app).cursor_blink = False
    await wait_for_stable_screen(pilot)


def then(
    *steps: Callable[[Pilot[None]], Awaitable[None]],
) -> Callable[[Pilot[None]], Awaitable[None]]:
    """One ``run_before`` that runs ``steps`` in order."""

    async def run(pilot: Pilot[None]) -> None:
        for step in steps:
            await step(pilot)

    return run


async def open_help(pilot: Pilot[None]) -> None:
    await pilot.press("f1")
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    assert isinstance(app.screen, HelpScreen)
    await wait_until(pilot, lambda: bool(app.screen.query(".help-area")), what="the keys")
    await wait_for_stable_screen(pilot)


def test_workspace_wide(app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(160, 45), run_before=settled)


def test_workspace_medium(app: ConsoleApp, snap_compare: SnapCompare) -> None:
    # Under 120 columns the order pane gives way to the queue and the thread.
    assert snap_compare(app, terminal_size=(100, 30), run_before=settled)


def test_workspace_narrow_terminal(app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)


def test_help_screen(app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(160, 45), run_before=then(settled, open_help))


# --- what the snapshots rely on ------------------------------------------------------


async def test_frozen_clock_drives_the_queue_clocks(app: ConsoleApp) -> None:
    async with app.run_test(size=(160, 45)) as pilot:
        await settled(pilot)
        shown = screen_text(app)
        assert "王芳" in shown
        assert "Alice Brown" in shown
        assert "5m00s" in shown  # conv-1 has waited 5 minutes at FIXED_NOW
        assert "1m00s" in shown
        assert "shift 0s" in shown
        # Let the one-second refresh timers fire: with the clock frozen, nothing moves.
        await pilot.pause(1.1)
        assert screen_text(app) == shown
        assert queue_list(app).total == 3


async def test_waiting_too_long_count_follows_the_app_clock(app: ConsoleApp) -> None:
    async with app.run_test(size=(160, 45)) as pilot:
        await settled(pilot)
        assert context(app).settings.shift.alert_after_s == 180.0
        assert status_bar(app).over_alert == 1


async def test_filter_bar_keeps_the_scope_line_below_120_columns(app: ConsoleApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        assert "a all 3" in screen_text(app)


@pytest.mark.parametrize(
    "theme", ["cs-dark", "cs-light", "cs-high-contrast", "cs-colour-safe", "cs-ansi16"]
)
def test_each_shipped_theme(
    theme: str, tmp_path: Path, utc: None, snap_compare: SnapCompare
) -> None:
    plain = offline_settings(tmp_path)
    console = offline_app(
        plain.model_copy(update={"ui": plain.ui.model_copy(update={"theme": theme})})
    )
    try:
        assert snap_compare(console, terminal_size=(120, 32), run_before=settled)
        assert console.theme == theme
    finally:
        if console.context is not None:
            console.context.close()
