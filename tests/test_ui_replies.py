"""Pilot tests: quick replies by hotkey, by palette (pinyin, characters, typos), with
blanks for missing values, and suggestions; and the keymap from the config."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from cs_console.ui.app import ConsoleApp, make_app
from cs_console.ui.screens.reply_palette import ReplyPaletteScreen
from tests.inprocess import InProcessServer
from tests.ui_support import (
    composer,
    live_app,
    session_for,
    type_text,
    wait_loaded,
    wait_until,
    workspace,
)

SIZE = (160, 45)


def app_for(tmp_path: Path, inproc_server: InProcessServer, token: str) -> ConsoleApp:
    return live_app(tmp_path / "client", inproc_server, token)


async def open_first(pilot: Pilot[None], app: ConsoleApp) -> None:
    await wait_loaded(pilot)
    await wait_until(pilot, lambda: app.replies is not None)
    await pilot.press("enter")  # conv-1, 王芳, order 20261115-0001 (shipped, ZTO)
    await wait_until(pilot, lambda: composer(app).has_focus)


async def palette_titles(pilot: Pilot[None], app: ConsoleApp, query: str) -> list[str]:
    await pilot.press("ctrl+t")
    await wait_until(pilot, lambda: isinstance(app.screen, ReplyPaletteScreen))
    if query.isascii():
        await type_text(pilot, query)
    else:
        # Pilot presses keys, which cannot carry CJK; an IME sets the text the same way.
        app.screen.query_one("#query", Input).value = query
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, ReplyPaletteScreen)
    titles = [f"{r.language}:{r.group}:{r.title}" for r in screen.hits[:5]]
    await pilot.press("escape")
    await wait_until(pilot, lambda: not isinstance(app.screen, ReplyPaletteScreen))
    return titles


async def test_hotkey_inserts_a_reply_filled_from_the_order(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = app_for(tmp_path, inproc_server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, app)
        # The customer writes Chinese: Alt+G is the zh-CN "how long does delivery take".
        await pilot.press("alt+g")
        await wait_until(pilot, lambda: bool(composer(app).text))
        text = composer(app).text
        assert "亲" in text
        # Stacking: a second reply goes on its own line at the cursor.
        await pilot.press("end")
        await pilot.press("alt+s")
        await wait_until(pilot, lambda: composer(app).text.count("\n") >= 1)
        assert composer(app).text.startswith(text.rstrip())


async def test_palette_finds_by_pinyin_characters_and_typos(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = app_for(tmp_path, inproc_server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, app)
        by_initials = await palette_titles(pilot, app, "fh")
        assert any("发货" in t for t in by_initials), by_initials
        by_characters = await palette_titles(pilot, app, "发货")
        assert all(t.startswith("zh-CN") for t in by_characters[:3]), by_characters


async def test_palette_forgives_a_typo_in_an_english_conversation(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = app_for(tmp_path, inproc_server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await wait_until(pilot, lambda: app.replies is not None)
        await pilot.press("down", "enter")  # conv-2: Alice Brown writes English
        await wait_until(pilot, lambda: composer(app).has_focus)
        by_typo = await palette_titles(pilot, app, "refnud")
        assert all(t.startswith("en:") and "refund" in t.lower() for t in by_typo), by_typo


async def test_missing_value_is_a_blank_the_cursor_lands_on_and_send_refuses(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app = app_for(tmp_path, inproc_server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, app)
        await pilot.press("ctrl+t")
        await wait_until(pilot, lambda: isinstance(app.screen, ReplyPaletteScreen))
        # The order has shipped, so it has no ship-by deadline: {ship_by} stays blank.
        await type_text(pilot, "48")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplyPaletteScreen)
        index = next(i for i, r in enumerate(screen.hits) if "{ship_by}" in r.body)
        for _ in range(index):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "‹ship_by›" in composer(app).text)
        assert composer(app).selected_text == "‹ship_by›"
        await pilot.press("enter")  # send: refused while a blank is left
        await pilot.pause(0.3)
        assert "‹ship_by›" in composer(app).text
        assert inproc_server.state.messages_with_body(composer(app).text) == 0
        await type_text(pilot, "tomorrow")
        sent = composer(app).text
        assert "‹" not in sent
        await pilot.press("enter")
        await wait_until(pilot, lambda: inproc_server.state.messages_with_body(sent) == 1)


async def test_a_parcel_question_gets_a_logistics_suggestion(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    inproc_server.state.add_customer_message(
        "conv-1", "where is my parcel? it has not moved for days"
    )
    app = app_for(tmp_path, inproc_server, tokens["Lan"])
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot, app)
        await wait_until(pilot, lambda: "alt+q" in workspace(app).conversation.replies.keys)
        suggested = workspace(app).conversation.replies.keys["alt+q"]
        assert suggested.group in ("logistics", "shipping"), suggested.id
        await pilot.press("alt+q")
        await wait_until(pilot, lambda: bool(composer(app).text))


async def test_a_remapped_key_works_and_the_old_one_does_not(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    base = app_for(tmp_path, inproc_server, tokens["Lan"])
    settings = base.settings.model_copy(update={"keymap": {"workspace.cases": "f9"}})
    app = make_app(session_for(settings, inproc_server))
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("f7")
        await pilot.pause(0.3)
        assert app.screen is workspace(app)
        await pilot.press("f9")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "CasesScreen")
