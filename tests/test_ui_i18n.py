"""The interface in the agent's language: Chinese snapshots, and wide text that fits.

Same set-up as ``test_ui_snapshots.py`` (the fixed shop, a frozen clock, UTC, sync
off), with ``ui.language`` set. Update the baselines with
``pytest tests/test_ui_i18n.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot

from cs_console.i18n import set_language
from cs_console.ui.app import ConsoleApp
from cs_console.ui.screens.help import HelpScreen
from tests.ui_support import (
    composer,
    offline_app,
    offline_settings,
    screen_text,
    wait_for_stable_screen,
    wait_loaded,
    wait_until,
    workspace,
)

SnapCompare = Callable[..., bool]


def app_in(language: str, tmp_path: Path) -> ConsoleApp:
    """A console on the fixed shop with ``ui.language`` set to ``language``.

    The language is also chosen here, before the app is built, as the start-up path
    does; the console's own start-up choice from its settings gives the same.
    """
    plain = offline_settings(tmp_path)
    settings = plain.model_copy(update={"ui": plain.ui.model_copy(update={"language": language})})
    set_language(language)
    return offline_app(settings)


@pytest.fixture
def zh_app(tmp_path: Path, utc: None) -> Iterator[ConsoleApp]:
    """The console in Simplified Chinese; English again afterwards for other tests."""
    console = app_in("zh-CN", tmp_path)
    yield console
    if console.context is not None:
        console.context.close()
    set_language("en")


async def settled(pilot: Pilot[None]) -> None:
    """conv-1 (the longest wait) is open and the screen has stopped changing."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_loaded(pilot, online=False)
    await wait_until(pilot, lambda: workspace(app).open_id == "conv-1", what="conv-1 to open")
    await wait_until(pilot, lambda: app.replies is not None, what="quick replies to load")
    composer(app).cursor_blink = False
    await wait_for_stable_screen(pilot)


async def help_open(pilot: Pilot[None]) -> None:
    """The workspace settled, then the help screen open and drawn."""
    await settled(pilot)
    await pilot.press("f1")
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    assert isinstance(app.screen, HelpScreen)
    await wait_until(pilot, lambda: bool(app.screen.query(".help-area")), what="the keys")
    await wait_for_stable_screen(pilot)


def test_workspace_in_chinese_wide(zh_app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(zh_app, terminal_size=(160, 45), run_before=settled)


def test_workspace_in_chinese_80x24(zh_app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(zh_app, terminal_size=(80, 24), run_before=settled)


def test_help_screen_in_chinese(zh_app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(zh_app, terminal_size=(160, 45), run_before=help_open)


# --- what the snapshots cannot say on their own -------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 45)])
async def test_chinese_never_pushes_a_line_past_the_edge(
    zh_app: ConsoleApp, size: tuple[int, int]
) -> None:
    width, height = size
    async with zh_app.run_test(size=size) as pilot:
        await settled(pilot)
        lines = screen_text(zh_app).split("\n")
        assert len(lines) <= height
        too_wide = [line for line in lines if cell_len(line) > width]
        assert too_wide == []
        shown = "\n".join(lines)
        # The queue, the open conversation's header and the footer, in Chinese.
        assert "王芳" in shown
        assert "下一位" in shown  # footer: Next waiting
        assert "Next waiting" not in shown
        assert "本班" in shown or width < 100  # status bar: shift clock


async def test_chinese_pane_titles_and_order_pane(zh_app: ConsoleApp) -> None:
    async with zh_app.run_test(size=(160, 45)) as pilot:
        await settled(pilot)
        shown = screen_text(zh_app)
        for word in ("会话列表", "会话 · 进行中", "买家与订单", "回复", "订单动态", "已发货"):
            assert word in shown, word
        assert "¥78.00" in shown


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("vi", ("Hàng đợi", "Trả lời", "Người chờ tiếp", "Khách & đơn hàng")),
        ("es", ("Cola", "Responder", "Siguiente", "Cliente y pedidos", "78,00")),
    ],
)
async def test_main_screen_in_vietnamese_and_spanish(
    language: str, words: tuple[str, ...], tmp_path: Path, utc: None
) -> None:
    console = app_in(language, tmp_path)
    try:
        async with console.run_test(size=(160, 45)) as pilot:
            await settled(pilot)
            shown = screen_text(console)
            for word in words:
                assert word in shown, word
    finally:
        if console.context is not None:
            console.context.close()
        set_language("en")
