"""Customer channels in the console: the queue's channel marker, the thread's header line
(channel, an email's subject, "typing…"), and the email composer's To/Subject line, with
the reply refused where there is no address. Real keys, an in-process reference server
with a web chat and two email conversations opened through its channel desk.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Static

from cs_console.demo.stories import build_demo_shop
from cs_console.mail_subject import reply_subject
from cs_console.sanitize import sanitize_line
from cs_console.server.channel_desk import Contact
from cs_console.server.state import ServerState
from cs_console.services import attachments, conversations
from cs_console.ui.app import ConsoleApp
from cs_console.ui.panes import conversation_pane
from cs_console.ui.widgets.composer import NOTE
from cs_console.ui.widgets.queue_list import CHANNEL_MARKERS, OTHER_CHANNEL_MARKER, channel_marker
from cs_console.views import channel_kind
from tests.inprocess import InProcessServer
from tests.ui_support import (
    composer,
    context,
    highlighted_id,
    live_app,
    queue_list,
    screen_text,
    server_messages,
    thread_text,
    wait_loaded,
    wait_until,
    workspace,
)

SUBJECT = "发票 [b]申请[/b] [@click=app.quit]x[/] \x1b]52;c;SGVsbG8=\x07"


class Channels:
    """The conversations the tests open on the server, by what they are."""

    def __init__(self, state: ServerState) -> None:
        desk = state.channels
        self.web = desk.open_conversation("web", Contact(name="Web Visitor", email=None))
        desk.customer_writes(self.web, "is the mug dishwasher safe?")
        self.email = desk.open_conversation(
            "email",
            Contact(name="Wang [i]Siyuan[/i]", email="siyuan@example.cn"),
            subject=SUBJECT,
        )
        desk.customer_writes(self.email, "请开一张专票。\n\n公司名称：思远\n税号：91310115")
        self.no_address = desk.open_conversation(
            "email", Contact(name="Nobody Mailable", phone="+86 139 0000 0000"), subject="退款"
        )
        desk.customer_writes(self.no_address, "退款到了吗")
        self.desk = desk


@pytest.fixture
def channels(inproc_server: InProcessServer) -> Channels:
    return Channels(inproc_server.state)


def _app(tmp_path: Path, server: InProcessServer, tokens: dict[str, str]) -> ConsoleApp:
    return live_app(tmp_path / "client", server, tokens["Lan"])


def _plain(widget: Static) -> str:
    """What a Static shows, as text (it holds Content, never markup)."""
    content = widget.content
    assert isinstance(content, Content)
    return content.plain


def _header(app: ConsoleApp) -> str:
    return _plain(workspace(app).query_one("#thread-header", Static))


def _reply_to(app: ConsoleApp) -> Static:
    return workspace(app).query_one("#reply-to", Static)


def _in_queue(app: ConsoleApp, conversation_id: str) -> bool:
    rows = queue_list(app)
    return any(
        (row := rows.row(index)) is not None and row.conversation_id == conversation_id
        for index in range(rows.total)
    )


async def _open(pilot: Pilot[None], app: ConsoleApp, conversation_id: str) -> None:
    """Walk the queue with ``j`` to the conversation, then Enter (as an agent would)."""
    await wait_until(
        pilot, lambda: _in_queue(app, conversation_id), what=f"{conversation_id} in the queue"
    )
    await pilot.press("g")
    for _ in range(queue_list(app).total):
        if highlighted_id(app) == conversation_id:
            break
        await pilot.press("j")
    assert highlighted_id(app) == conversation_id
    await pilot.press("enter")
    await wait_until(pilot, lambda: workspace(app).open_id == conversation_id)


# --- the markers ---------------------------------------------------------------------


def test_every_marker_is_one_narrow_cell() -> None:
    for marker in (*CHANNEL_MARKERS.values(), OTHER_CHANNEL_MARKER):
        assert cell_len(marker) == 1, marker
        # Never "ambiguous" (two cells in a CJK terminal) nor "wide".
        assert unicodedata.east_asian_width(marker) == "N", marker
    assert len(set(CHANNEL_MARKERS.values()) | {OTHER_CHANNEL_MARKER}) == 4


def test_backends_channel_names_map_to_the_known_kinds() -> None:
    assert channel_kind("web") == channel_kind("webwidget") == "web"  # Chatwoot's widget
    assert channel_kind("email") == "email"
    assert channel_kind("app") == "app"
    assert channel_kind("whatsapp") == "other"
    assert channel_marker("webwidget") == CHANNEL_MARKERS["web"]
    assert channel_marker("twiliosms") == OTHER_CHANNEL_MARKER


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
async def test_queue_rows_show_the_channel_and_stay_within_the_screen(
    size: tuple[int, int],
    tmp_path: Path,
    inproc_server: InProcessServer,
    tokens: dict[str, str],
    channels: Channels,
) -> None:
    app = _app(tmp_path, inproc_server, tokens)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        await wait_until(pilot, lambda: "✉" in screen_text(app), what="an email row")
        lines = screen_text(app).split("\n")
        width, _height = size
        assert [line for line in lines if cell_len(line) > width] == []
        # The marker leads the second line of its row; the two lines of one row keep
        # the queue's columns (the frame's right edge) where they were.
        queue_lines = [line for line in lines if line.startswith("│ ")]
        marked = [line for line in queue_lines if line[2:3] in ("✉", "❝")]
        assert {line[2] for line in marked} == {"✉", "❝"}
        edges = {cell_len(line.split("│")[1]) for line in queue_lines if line.count("│") >= 2}
        assert len(edges) == 1, edges


# --- the thread's header ----------------------------------------------------------------


async def test_the_header_says_the_channel_and_an_emails_subject_literally(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str], channels: Channels
) -> None:
    app = _app(tmp_path, inproc_server, tokens)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await _open(pilot, app, channels.web)
        assert "Web Visitor" in _header(app)
        assert "Web chat" in _header(app)
        assert not _reply_to(app).display  # a chat reply goes to the widget: no To line

        await pilot.press("escape")
        await _open(pilot, app, channels.email)
        header = _header(app)
        assert "Email" in header
        # Markup in the name and subject is text; the escape sequence is not sent.
        assert "Wang [i]Siyuan[/i]" in header
        assert "发票 [b]申请[/b] [@click=app.quit]x[/]" in header
        assert "\x1b" not in header
        assert "\x1b" not in screen_text(app)
        assert app.is_running
        # An email's paragraphs are indented under the message header, every line.
        body = [line for line in thread_text(app).split("\n") if "公司名称" in line]
        assert [line.rstrip() for line in body] == ["  公司名称：思远"]


async def test_typing_shows_beside_the_name_and_goes_by_itself(
    tmp_path: Path,
    inproc_server: InProcessServer,
    tokens: dict[str, str],
    channels: Channels,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conversation_pane, "TYPING_SHOWN_S", 1.0)
    app = _app(tmp_path, inproc_server, tokens)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await _open(pilot, app, channels.web)
        assert "typing…" not in _header(app)
        channels.desk.customer_typing(channels.web)
        await wait_until(pilot, lambda: "Web Visitor typing…" in _header(app), what="typing…")
        # No news comes after: the window runs out and the timer takes it away.
        await wait_until(pilot, lambda: "typing…" not in _header(app), what="typing… to go")
        assert "Web Visitor" in _header(app)


# --- the email composer ----------------------------------------------------------------


async def test_the_email_composer_says_to_whom_and_under_what_subject(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str], channels: Channels
) -> None:
    app = _app(tmp_path, inproc_server, tokens)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await _open(pilot, app, channels.email)
        line = _plain(_reply_to(app))
        assert "To: Wang [i]Siyuan[/i] <siyuan@example.cn>" in line
        expected = reply_subject(SUBJECT, channels.email)
        assert expected.endswith(f"[#{channels.email}]")
        # The whole subject as the server will send it, cut to the pane's width.
        shown_subject = line.split("\n")[-1].removesuffix("…").rstrip()
        assert shown_subject.startswith("Subject: Re: 发票 [b]申请[/b]")
        assert ("Subject: " + sanitize_line(expected)).startswith(shown_subject)
        assert not _reply_to(app).has_class("-warning")

        await pilot.press("ctrl+n")  # a note: never sent, whatever the channel
        await wait_until(pilot, lambda: composer(app).mode == NOTE)
        assert _plain(_reply_to(app)) == "internal note: never sent"
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: "To:" in _plain(_reply_to(app)))

        await pilot.press("o", "k", "enter")  # and the reply goes
        await wait_until(
            pilot,
            lambda: any(
                m.body == "ok" for m in server_messages(inproc_server.state, channels.email)
            ),
            what="the reply on the server",
        )


async def test_the_email_composer_at_80_columns_keeps_the_subject(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str], channels: Channels
) -> None:
    app = _app(tmp_path, inproc_server, tokens)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        await _open(pilot, app, channels.email)
        await wait_until(pilot, lambda: _reply_to(app).has_class("-two-lines"))
        shown = screen_text(app)
        assert "To: Wang" in shown
        assert "Subject: Re:" in shown
        assert [line for line in shown.split("\n") if cell_len(line) > 80] == []


async def test_no_address_is_said_and_the_reply_refused(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str], channels: Channels
) -> None:
    app = _app(tmp_path, inproc_server, tokens)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        await _open(pilot, app, channels.no_address)
        line = _reply_to(app)
        assert _plain(line) == "no email address: this reply cannot be sent"
        assert line.has_class("-warning")

        await pilot.press("o", "k", "enter")
        await wait_until(
            pilot,
            lambda: "no email address: this reply cannot be sent" in screen_text(app),
            what="the refusal",
        )
        assert composer(app).text == "ok"  # the text is kept
        ctx = context(app)
        assert [m.body for m in conversations.messages(ctx, channels.no_address)] == ["退款到了吗"]
        assert [m.body for m in server_messages(inproc_server.state, channels.no_address)] == [
            "退款到了吗"
        ]

        # A note has no address to reach: it goes (each mode keeps its own draft).
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: composer(app).mode == NOTE)
        await pilot.press("n", "b", "enter")
        await wait_until(
            pilot,
            lambda: any(
                m.body == "nb" for m in server_messages(inproc_server.state, channels.no_address)
            ),
            what="the note on the server",
        )


# --- the rule, in the services ------------------------------------------------------


async def test_the_services_refuse_a_reply_or_file_with_nowhere_to_go(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str], channels: Channels
) -> None:
    app = _app(tmp_path, inproc_server, tokens)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_loaded(pilot)
        ctx = context(app)
        await wait_until(pilot, lambda: conversations.info(ctx, channels.no_address) is not None)
        with pytest.raises(conversations.ActionError, match="no email address"):
            conversations.send(ctx, channels.no_address, "hello")
        photo = tmp_path / "note.txt"
        photo.write_text("receipt")
        with pytest.raises(conversations.ActionError, match="no email address"):
            attachments.attach(ctx, channels.no_address, photo)
        # A note, and a reply where there is an address, are queued.
        assert isinstance(
            conversations.send(ctx, channels.no_address, "asked finance", note=True),
            conversations.Queued,
        )
        assert isinstance(
            conversations.send(ctx, channels.email, "hello", force=True), conversations.Queued
        )


# --- the demo ---------------------------------------------------------------------------


def test_the_demo_shows_both_channels_with_a_chinese_email_subject() -> None:
    shop = build_demo_shop(datetime(2025, 11, 20, 6, 30, tzinfo=UTC))
    kinds = {channel_kind(c.channel) for c in shop.conversations}
    assert {"web", "email"} <= kinds
    emails = [c for c in shop.conversations if c.channel == "email"]
    assert len(emails) == 1
    subject = emails[0].subject or ""
    assert "发票" in subject
    assert "{" not in subject  # its placeholder was filled in
    customers = {c.id: c for c in shop.customers}
    assert customers[emails[0].customer_id].email  # a reply can go
    assert all(c.subject is None for c in shop.conversations if c.channel != "email")
