"""An unexpected error: the sync worker stops, the terminal gets one line that points
to a log, the log has the traceback without local variables or the token, and the
exit code says it failed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.worker import Worker

from cs_console.crash import REDACTED, crash_log_text
from cs_console.ui.app import Crashed
from tests.inprocess import InProcessServer
from tests.ui_support import live_app, wait_loaded


async def test_a_crash_logs_without_locals_stops_sync_and_fails(
    tmp_path: Path, inproc_server: InProcessServer, tokens: dict[str, str]
) -> None:
    token = tokens["Lan"]
    app = live_app(tmp_path / "lan", inproc_server, token)

    def handler_with_a_bug() -> None:
        customer_message = "my address is 12 Secret Lane"  # a local the screen used to show
        raise ValueError(f"cannot parse {len(customer_message)} chars for {token}")

    workers: list[Worker[None]] = []

    async def run_into_the_bug() -> None:
        async with app.run_test(size=(120, 30)) as pilot:
            await wait_loaded(pilot)
            workers.extend(w for w in app.workers if w.group == "sync")
            app.call_later(handler_with_a_bug)
            await pilot.pause(0.2)

    with pytest.raises(Crashed) as raised:
        await run_into_the_bug()
    sync_worker = workers[0]
    assert app.return_code == 1
    assert isinstance(raised.value.__cause__, ValueError)

    logs = list((tmp_path / "lan" / "logs").glob("crash-*.log"))
    assert len(logs) == 1
    assert logs[0] == raised.value.log
    assert logs[0].stat().st_mode & 0o077 == 0
    text = logs[0].read_text(encoding="utf-8")
    assert "handler_with_a_bug" in text
    assert "ValueError" in text
    assert "12 Secret Lane" not in text, "no local variables in the log"
    assert token not in text
    assert REDACTED in text

    # The sync worker ends with the app instead of keeping the process alive.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not sync_worker.is_finished:
        time.sleep(0.05)
    assert sync_worker.is_finished


def test_the_log_text_blanks_secrets_and_escape_sequences() -> None:
    try:
        raise RuntimeError("token abc123 \x1b]52;c;SGVsbG8=\x07")
    except RuntimeError as exc:
        text = crash_log_text(exc, secrets=["abc123"])
    assert "abc123" not in text
    assert "\x1b" not in text
    assert "\x07" not in text
