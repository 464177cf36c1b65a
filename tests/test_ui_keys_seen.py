"""Keys that are seen (issue 15): the footer fits its width with whole keys, F1 lists
every key in words (the quick replies' Alt keys and ``/`` too) without binding ids, the
palette and the footer show a remapped chord, and Alt is written for the platform."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.binding import ActiveBinding, Binding
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Static

import cs_console.ui.screens.workspace as workspace_module
from cs_console.i18n import set_language
from cs_console.ui.actions import ACTIONS, BY_ID, SUGGESTION_KEYS, key_label, keys_label
from cs_console.ui.app import ConsoleApp
from cs_console.ui.keys import KeySection, binding_table, key_sections
from cs_console.ui.palette import system_commands
from cs_console.ui.screens.help import HelpScreen, section_content
from cs_console.ui.widgets.key_footer import KeyFooter, ShownKey, fit, footer_keys
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
BINDING_ID = re.compile(r"\b(app|workspace|queue|thread|composer|orders)\.[a-z_]+\b")

#: The focus keys and the area each puts the focus in.
FOCUS = {"f2": "queue", "f3": "thread", "f4": "composer", "f6": "orders"}

#: The key each area's footer must show at any width (after F1 Help).
MUST_SHOW = {
    "queue": "Enter Open",
    "thread": "Ctrl+G Next waiting",
    "composer": "Ctrl+T Quick replies",
    "orders": "Ctrl+G Next waiting",
}


@pytest.fixture(autouse=True)
def key_footer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The workspace with the fitted footer. (Until ``workspace.py`` composes
    ``KeyFooter`` itself; harmless after.)"""
    monkeypatch.setattr(workspace_module, "Footer", KeyFooter, raising=False)


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def app(tmp_path: Path, utc: None) -> Iterator[ConsoleApp]:
    console = offline_app(offline_settings(tmp_path))
    yield console
    if console.context is not None:
        console.context.close()


async def settled(pilot: Pilot[None]) -> None:
    """conv-1 open, the reply library loaded, the screen still."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_loaded(pilot, online=False)
    await wait_until(pilot, lambda: workspace(app).open_id == "conv-1", what="conv-1 to open")
    await wait_until(pilot, lambda: app.replies is not None, what="quick replies to load")
    composer(app).cursor_blink = False
    await wait_for_stable_screen(pilot)


def footer_line(app: ConsoleApp) -> str:
    return screen_text(app).splitlines()[-1]


# --- the footer ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 45)])
async def test_the_footer_shows_whole_keys_within_the_width(
    app: ConsoleApp, size: tuple[int, int]
) -> None:
    width = size[0]
    async with app.run_test(size=size) as pilot:
        await settled(pilot)
        footer = workspace(app).query_one(KeyFooter)
        for focus_key, area in FOCUS.items():
            await pilot.press(focus_key)
            await wait_for_stable_screen(pilot)
            line = footer_line(app)
            shown = footer.shown
            assert shown[0].binding.id == "app.help", line
            assert line.startswith("F1 Help"), line
            assert MUST_SHOW[area] in line, (area, line)
            for key in shown:
                # Every key on show is drawn whole, in the order of the footer.
                assert f"{key.label} {key.description}" in line, (area, key, line)
            assert cell_len(line) <= width
            for hint in footer.query("KeyHint"):
                assert hint.region.right <= width, (area, hint)
            # What was left out is less important than anything shown.
            candidates = footer_keys(workspace(app).active_bindings, app.COMMAND_PALETTE_BINDING)
            assert [k.binding.id for k in shown[1:]] == [
                k.binding.id for k in candidates if k.binding.id != "app.help"
            ][: len(shown) - 1]


async def test_the_footer_fits_in_chinese_at_80_columns(tmp_path: Path, utc: None) -> None:
    plain = offline_settings(tmp_path)
    settings = plain.model_copy(update={"ui": plain.ui.model_copy(update={"language": "zh-CN"})})
    set_language("zh-CN")
    app = offline_app(settings)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settled(pilot)
            footer = workspace(app).query_one(KeyFooter)
            for focus_key in ("f2", "f4"):
                await pilot.press(focus_key)
                await wait_for_stable_screen(pilot)
                line = footer_line(app)
                assert len(footer.shown) > 1, line
                for key in footer.shown:
                    # Chinese words are two cells a character: still whole, still inside.
                    assert f"{key.label} {key.description}" in line, (key, line)
                assert cell_len(line) <= 80
    finally:
        set_language("en")
        if app.context is not None:
            app.context.close()


async def test_the_footer_fits_again_when_the_terminal_narrows(app: ConsoleApp) -> None:
    async with app.run_test(size=(160, 45)) as pilot:
        await settled(pilot)
        wide = len(workspace(app).query_one(KeyFooter).shown)
        await pilot.resize_terminal(80, 24)
        await wait_for_stable_screen(pilot)
        footer = workspace(app).query_one(KeyFooter)
        assert len(footer.shown) < wide
        line = footer_line(app)
        for key in footer.shown:
            assert f"{key.label} {key.description}" in line


async def test_the_footer_shows_one_key_per_thing(app: ConsoleApp) -> None:
    async with app.run_test(size=(160, 45)) as pilot:
        await settled(pilot)
        await pilot.press("f2")
        await wait_for_stable_screen(pilot)
        line = footer_line(app)
        # n and Ctrl+G both open the next waiting customer: the queue's own key shows.
        assert "n Next waiting" in line
        assert "Ctrl+G Next waiting" not in line


def shown_key(binding_id: str, label: str, words: str, importance: int) -> ShownKey:
    return ShownKey(
        Binding("x", binding_id, words, id=binding_id), label, words, True, "", importance
    )


def test_fit_keeps_help_and_drops_the_least_important_whole() -> None:
    keys = [
        shown_key("a", "Ctrl+A", "First thing", 90),  # 18 cells
        shown_key("app.help", "F1", "Help", 100),  # 7 cells
        shown_key("b", "b", "Second", 80),  # 8 cells
        shown_key("c", "c", "Third", 70),  # 7 cells
    ]
    assert [k.binding.id for k in fit(keys, 200)] == ["app.help", "a", "b", "c"]
    # 7 + 2 + 18 + 2 + 8 = 37: "c" does not fit in 40, and is left out whole.
    assert [k.binding.id for k in fit(keys, 40)] == ["app.help", "a", "b"]
    # Once one does not fit, the less important ones stay out too (no reshuffling).
    assert [k.binding.id for k in fit(keys, 20)] == ["app.help"]
    assert [k.binding.id for k in fit(keys, 3)] == ["app.help"]  # Help, whatever the width


def test_footer_keys_order_by_importance_and_skip_hidden_rows(english: None) -> None:
    node = Widget()
    active = {
        "ctrl+q": ActiveBinding(node, BY_ID["app.quit"].binding(), True, ""),
        "ctrl+g": ActiveBinding(node, BY_ID["workspace.next_waiting"].binding(), True, ""),
        "n": ActiveBinding(node, BY_ID["queue.next_waiting"].binding(), True, ""),
        "f2": ActiveBinding(node, BY_ID["workspace.focus_queue"].binding(), True, ""),
        "c": ActiveBinding(node, BY_ID["queue.claim"].binding(), False, "Open one first."),
        "ctrl+p": ActiveBinding(
            node, Binding("ctrl+p", "command_palette", "palette", show=False), True, ""
        ),
    }
    keys = footer_keys(active, "ctrl+p")
    assert [(k.label, k.description) for k in keys] == [
        ("n", "Next waiting"),
        ("c", "Claim"),
        ("Ctrl+P", "palette"),
        ("Ctrl+Q", "Quit"),
    ]
    claim = keys[1]
    assert not claim.enabled
    assert claim.tooltip == "Open one first."


def test_every_shown_row_has_an_importance() -> None:
    assert [a.id for a in ACTIONS if a.show and a.importance <= 0] == []


# --- Alt for the platform ------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "expected"),
    [("linux", "Alt+Q"), ("win32", "Alt+Q"), ("darwin", "⌥Q")],
)
def test_alt_is_written_for_the_platform(
    monkeypatch: pytest.MonkeyPatch, platform: str, expected: str
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    assert key_label("alt+q") == expected
    assert key_label("ctrl+g") == "Ctrl+G"
    assert keys_label(["alt+a", "f11"]) == f"{expected[:-1]}A or F11"
    rows = [row for section in key_sections({}) for row in section.rows]
    assert any(row.keys.startswith(expected) for row in rows)


async def test_the_suggestions_bar_writes_alt_for_the_platform(
    app: ConsoleApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    async with app.run_test(size=(160, 45)) as pilot:
        await settled(pilot)
        shown = screen_text(app)
        assert "Alt+Q 欢迎语" in shown
        assert "⌥" not in shown
        monkeypatch.setattr(sys, "platform", "darwin")
        workspace(app).conversation.replies.refresh()
        await wait_for_stable_screen(pilot)
        assert "⌥Q 欢迎语" in screen_text(app)
        assert "Alt+Q" not in screen_text(app)


async def test_a_suggestion_is_never_split_from_its_key(app: ConsoleApp) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settled(pilot)
        bar = workspace(app).query_one("#suggestions", Static)
        lines = [line.strip() for line in screen_text(app).splitlines()]
        keys = [key_label(key) for key in SUGGESTION_KEYS]
        drawn = [line for line in screen_text(app).splitlines() if any(k in line for k in keys)]
        assert drawn, lines
        for line in drawn:
            for key in keys:
                if key in line:
                    # The key's title follows it on the same line.
                    after = line.split(key, 1)[1]
                    assert after.startswith(" "), line
                    assert after[1:2].strip(), line
        assert bar.size.height <= 2


# --- F1 and cs-console keys ------------------------------------------------------------


def test_f1_lists_every_binding_in_words_without_ids(english: None) -> None:
    sections = key_sections(
        {"workspace.cases": "f12"},
        "Enter / Ctrl+J",
        [("alt+a", "欢迎语"), ("alt+q", "欢迎语")],
    )
    rows = [row for section in sections for row in section.rows]
    assert {row.binding_id for row in rows if row.binding_id} == set(BY_ID)
    text = section_content_text(sections)
    assert BINDING_ID.search(text) is None, BINDING_ID.search(text)
    assert re.search(r"F12\s+Cases", text)
    assert re.search(r"Alt\+A\s+Insert “欢迎语”", text)
    assert re.search(r"/\s+Quick replies, in an empty composer", text)
    assert re.search(r"Alt\+Q / Alt\+W / Alt\+E\s+The three suggested replies", text)
    assert re.search(r"Ctrl\+P\s+Commands", text)
    assert re.search(r"Enter / Ctrl\+J\s+Send / new line", text)


def section_content_text(sections: list[KeySection]) -> str:
    return "\n".join(section_content(section).plain for section in sections)


def test_reply_titles_from_the_shop_are_shown_as_text(english: None) -> None:
    hostile = "[@click=app.quit]x[/] \x1b]52;c;aGk=\x07\x1b[2J\u202e"
    sections = key_sections({}, "", [("alt+a", hostile)])
    content = section_content(sections[-1])
    assert "\x1b" not in content.plain
    assert "\u202e" not in content.plain
    assert "[@click=app.quit]x[/]" in content.plain  # shown, not read as markup
    assert "\x1b" not in binding_table({}, "", [("alt+a", hostile)])


def test_cs_console_keys_text_is_f1_with_the_ids(english: None) -> None:
    plain = binding_table({"queue.claim": "y"})
    assert BINDING_ID.search(plain) is None
    assert re.search(r"\n  y\s+Claim \(Assign it to me\)\n", plain)
    with_ids = binding_table({"queue.claim": "y"}, with_ids=True)
    for action in ACTIONS:
        assert action.id in with_ids
    assert re.search(r"\n  y\s+Claim\s+queue\.claim \*\n", with_ids)


async def test_f1_in_the_running_console(tmp_path: Path, utc: None) -> None:
    settings = offline_settings(tmp_path).model_copy(
        update={"keymap": {"composer.quick_replies": "ctrl+y"}}
    )
    app = offline_app(settings)
    async with app.run_test(size=(160, 45)) as pilot:
        await settled(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await wait_for_stable_screen(pilot)
        text = "\n".join(
            str(static.content) for static in app.screen.query(".help-area").results(Static)
        )
        assert BINDING_ID.search(text) is None
        assert re.search(r"Ctrl\+Y\s+Quick replies", text)
        # The reply library's hotkeys, with their titles.
        assert re.search(r"Alt\+A\s+Insert “欢迎语”", text)
        assert re.search(r"Alt\+X\s+Insert “结束语：求五星好评”", text)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
    if app.context is not None:
        app.context.close()


# --- a remapped key ---------------------------------------------------------------------


async def test_a_remapped_key_shows_in_the_footer_and_the_palette(
    tmp_path: Path, utc: None, english: None
) -> None:
    settings = offline_settings(tmp_path).model_copy(
        update={"keymap": {"composer.quick_replies": "ctrl+y"}}
    )
    app = offline_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot)
        await pilot.press("f4")
        await wait_for_stable_screen(pilot)
        assert "Ctrl+Y Quick replies" in footer_line(app)
        assert "Ctrl+T" not in footer_line(app)
        commands = {c.title: c.help for c in system_commands(app, app.screen)}
        assert commands["Reply: quick replies"] == "Also / in an empty composer (Ctrl+Y)"
    if app.context is not None:
        app.context.close()


# --- snapshots ----------------------------------------------------------------------------


async def focus_composer(pilot: Pilot[None]) -> None:
    await settled(pilot)
    await pilot.press("f4")
    await wait_for_stable_screen(pilot)


async def open_help(pilot: Pilot[None]) -> None:
    await settled(pilot)
    await pilot.press("f1")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
    await wait_for_stable_screen(pilot)


def test_snapshot_footer_in_the_queue_80x24(app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled)


def test_snapshot_footer_in_the_composer_80x24(app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=focus_composer)


def test_snapshot_help_80x24(app: ConsoleApp, snap_compare: SnapCompare) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_help)
