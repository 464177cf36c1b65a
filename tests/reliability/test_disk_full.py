"""A full disk and a read-only store, met by the real app with real keys.

The store refuses writes the way SQLite itself does: every connection of the app's
store gets ``PRAGMA max_page_count`` set to the file's current size, so the next
write that needs a page fails with SQLITE_FULL ("database or disk is full"), or
``PRAGMA query_only`` for SQLITE_READONLY. (A size-limited filesystem needs a mount,
and root ignores file permissions, so neither is reliable on a CI runner.) The pragma
is set on every checkout from the store's pool, so it covers every write the app makes.

For each: sending a reply and saving a draft say what is wrong in plain words (no
traceback, no SQL), the composer keeps the text, what was committed before is still
there, and once the store takes writes again the same Enter sends it, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from textual.message import Message
from textual.notifications import Notify

from cs_console.services import conversations
from cs_console.services.sync import make_engine
from cs_console.store.db import Database
from cs_console.ui.app import ConsoleApp
from cs_console.ui.widgets.composer import REPLY
from tests.harness import client_context
from tests.inprocess import InProcessServer
from tests.ui_support import (
    composer,
    context,
    live_app,
    screen_text,
    server_messages,
    type_text,
    wait_loaded,
    wait_until,
)

SIZE = (160, 45)
Listener = Callable[[Any, Any, Any], None]


def full_disk(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    cursor = dbapi_connection.cursor()
    pages = cursor.execute("PRAGMA page_count").fetchone()[0]
    cursor.execute(f"PRAGMA max_page_count = {pages}")
    cursor.close()


def read_only(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only = 1")
    cursor.close()


@contextmanager
def refusing(db: Database, listener: Listener) -> Iterator[None]:
    """Every connection handed out inside the block refuses to grow (or to write);
    afterwards the pool is emptied, so no connection keeps the limit."""
    event.listen(db.engine, "checkout", listener)
    try:
        yield
    finally:
        event.remove(db.engine, "checkout", listener)
        db.engine.dispose()


def fill_store(db: Database) -> None:
    """Leave no free page in the file: the next write that needs a page must grow it."""
    raw = db.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
    finally:
        raw.close()


def no_traceback(text: str) -> None:
    for leak in ("Traceback", "sqlalche.me", "[SQL:", "OperationalError", "sqlite3."):
        assert leak not in text, f"{leak!r} on screen:\n{text}"


@pytest.mark.parametrize(
    ("listener", "words"),
    [(full_disk, "disk is full"), (read_only, "read-only")],
    ids=["disk-full", "read-only"],
)
async def test_send_and_draft_survive_a_store_that_refuses_writes(
    tmp_path: Path,
    inproc_server: InProcessServer,
    tokens: dict[str, str],
    listener: Listener,
    words: str,
) -> None:
    app: ConsoleApp = live_app(tmp_path / "client", inproc_server, tokens["Lan"])
    before = "Committed before the disk filled."
    # Longer than a page: the write must take new pages, which a full disk refuses.
    body = "This reply must not be lost. " + "Details follow. " * 400
    notes: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await wait_loaded(pilot)
        ctx = context(app)
        await pilot.press("enter")
        await type_text(pilot, before)
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: inproc_server.state.messages_with_body(before) == 1, what="first reply"
        )
        app.session.stop_sync()  # sync writes too: keep the test about the agent's writes
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "sync"])
        fill_store(ctx.db)

        with refusing(ctx.db, listener):
            assert app.focused is composer(app), f"focus on {app.focused!r}"
            await type_text(pilot, body[:10])
            composer(app).insert(body[10:])
            await pilot.pause(0.6)  # the draft's autosave fires 0.4 s after typing stops
            await pilot.press("enter")
            await wait_until(pilot, lambda: any("Not sent" in n for n in notes), what="the error")
            shown = "\n".join([*notes, screen_text(app)])
            assert composer(app).text == body, f"the composer lost the text:\n{shown}"
            assert words in shown, f"no plain {words!r} on screen:\n{shown}"
            assert "Not sent" in shown
            assert "Draft not saved" in shown
            no_traceback(shown)
            assert app.is_running

        # Space is back: everything committed is still there, and the same Enter sends.
        assert [m.body for m in conversations.messages(ctx, "conv-1")].count(before) == 1
        await pilot.press("enter")
        assert composer(app).text == ""
        queued = [m for m in conversations.messages(ctx, "conv-1") if m.body == body]
        assert len(queued) == 1
        assert conversations.draft(ctx, "conv-1", REPLY) == ""
    # Sync was stopped for the test: one cycle on the same store delivers the reply.
    after = client_context(tmp_path / "client", inproc_server, tokens["Lan"])
    try:
        engine = make_engine(after, inproc_server.backend(after.settings))
        engine.run_once()
        engine.backend.close()
    finally:
        after.close()
    delivered = [m.body for m in server_messages(inproc_server.state, "conv-1")]
    assert delivered.count(before) == 1
    assert delivered.count(body) == 1


async def test_switching_to_a_note_on_a_full_disk_keeps_the_text(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    app: ConsoleApp = live_app(tmp_path / "client", inproc_server, tokens["Lan"])
    body = "Half-written reply. " * 300
    notes: list[str] = []

    def hook(message: Message) -> None:
        if isinstance(message, Notify):
            notes.append(message.notification.message)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await wait_loaded(pilot)
        ctx = context(app)
        app.session.stop_sync()
        await app.workers.wait_for_complete([w for w in app.workers if w.group == "sync"])
        await pilot.press("enter")
        fill_store(ctx.db)
        with refusing(ctx.db, full_disk):
            composer(app).insert(body)
            await pilot.press("ctrl+n")  # to an internal note: the reply's draft is saved
            await wait_until(pilot, lambda: any("Draft not saved" in n for n in notes))
            shown = "\n".join([*notes, screen_text(app)])
            assert composer(app).text == body, f"the composer lost the text:\n{shown}"
            assert "disk is full" in shown
            no_traceback(shown)
            assert app.is_running
