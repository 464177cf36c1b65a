"""Attachments on the demo shop, with real keys: a customer's photo shows in the thread
as a line and ``o`` opens it; Ctrl+U picks a PNG and the server ends up holding one
message with that one file, byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from cs_console import protocol as p
from cs_console.demo.photos import cracked_kettle
from cs_console.services import attachments
from cs_console.ui.app import ConsoleApp
from cs_console.ui.panes.base import OpenConversation
from cs_console.ui.screens.file_picker import FilePickerScreen, complete_path
from cs_console.ui.screens.handover import HandoverScreen
from tests.acceptance.shop import DemoShop, demo_app, demo_settings, demo_shop, everything
from tests.test_attachments import png
from tests.ui_support import composer, thread_text, thread_view, wait_loaded, wait_until, workspace

SIZE = (160, 45)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[DemoShop]:
    with demo_shop(tmp_path) as running:
        yield running


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the system viewer was asked to open (no viewer is run)."""
    asked: list[str] = []

    def fake_open(target: str) -> bool:
        asked.append(target)
        return True

    monkeypatch.setattr(attachments, "system_open", fake_open)
    monkeypatch.setattr(attachments, "is_remote_session", lambda env=None: False)
    return asked


async def start_on_kettle(pilot: Pilot[None]) -> ConsoleApp:
    """Past the shift-start screen, with the broken-kettle conversation open."""
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until(pilot, lambda: isinstance(app.screen, HandoverScreen), what="shift start")
    await pilot.press("escape")
    await wait_loaded(pilot)
    workspace(app).post_message(OpenConversation("conv-010"))
    await wait_until(pilot, lambda: workspace(app).open_id == "conv-010", what="conv-010")
    await wait_until(pilot, lambda: "kettle-crack.png" in thread_text(app), what="the photo")
    return app


async def test_customer_photo_shows_as_a_line_and_o_opens_it(
    shop: DemoShop, tmp_path: Path, opened: list[str]
) -> None:
    app = demo_app(shop, demo_settings(tmp_path / "client", shop, undo_seconds=0))
    async with app.run_test(size=SIZE) as pilot:
        await start_on_kettle(pilot)
        text = thread_text(app)
        assert "📎 kettle-crack.png · " in text
        assert "· image" in text
        thread_view(app).focus()
        await pilot.press("o")
        await wait_until(pilot, lambda: bool(opened), what="the viewer")
        # The newest attachment of the thread: the second photo of that message.
        assert Path(opened[0]).name == "box-corner.png"
        assert Path(opened[0]).is_file()


async def test_ctrl_u_sends_a_png_through_the_outbox_once(
    shop: DemoShop, tmp_path: Path, opened: list[str]
) -> None:
    photo = tmp_path / "receipt.png"
    photo.write_bytes(png(5, 3))
    app = demo_app(shop, demo_settings(tmp_path / "client", shop, undo_seconds=0))
    async with app.run_test(size=SIZE) as pilot:
        await start_on_kettle(pilot)
        composer(app).focus()
        await pilot.press("ctrl+u")
        await wait_until(pilot, lambda: isinstance(app.screen, FilePickerScreen), what="picker")
        path_box = app.screen.query_one("#path", Input)
        path_box.value = str(photo)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, FilePickerScreen), what="pick")

        def sent() -> list[p.MessageRecord]:
            return [
                m
                for m in everything(shop.state).messages
                if m.conversation_id == "conv-010" and m.author == "Lan" and m.attachments
            ]

        await wait_until(pilot, lambda: bool(sent()), what="the server has it")
        await wait_until(pilot, lambda: "receipt.png" in thread_text(app), what="the thread")
        (message,) = sent()
        (attachment,) = message.attachments
        caller = shop.state.authenticate(shop.tokens["Lan"])
        assert caller is not None
        found = shop.state.attachment_file(caller, attachment.id)
        assert found is not None
        assert found[1].read_bytes() == png(5, 3)
        assert attachment.file_name == "receipt.png"
    assert len(sent()) == 1


def test_demo_photo_is_a_real_png() -> None:
    assert p.sniff_type(cracked_kettle()) == "image/png"
    assert len(cracked_kettle()) < 4096


def test_path_completion(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "kettle.png").write_bytes(png())
    assert complete_path(str(tmp_path) + "/ph") == str(tmp_path) + "/photos/"
    assert complete_path(str(tmp_path) + "/photos/k") == str(tmp_path) + "/photos/kettle.png"
    assert complete_path(str(tmp_path) + "/zz") == str(tmp_path) + "/zz"


def test_a_path_typed_after_the_start_folder_starts_over() -> None:
    from cs_console.ui.screens.file_picker import complete_path, restarted

    assert restarted("/home/lan//srv/photo.png") == "/srv/photo.png"
    assert restarted("/home/lan/~/Pictures/a.png") == "~/Pictures/a.png"
    assert restarted("/home/lan/a.png") == "/home/lan/a.png"
    here = str(Path(__file__).parent)
    assert complete_path(f"/somewhere//{here}/test_ui_attach") == f"{here}/test_ui_attachments.py"
