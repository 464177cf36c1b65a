"""The running console really rings and notifies: the bytes it writes to a real terminal.

``cs-console run`` starts in a pseudo-terminal against a live reference server, with an
environment that says WezTerm (a terminal that shows OSC 9 notifications). Once it has
synced (the first look is a baseline: nothing rings for what is already there), a
customer opens a new conversation on the server; the next sync must put a bell (BEL
outside any escape sequence) and an OSC 9 notification naming the customer on the
terminal, and never the message's text.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

from cs_console import protocol as p
from cs_console.domain import ConversationStatus, Group, MessageKind
from cs_console.timeutil import utcnow
from tests.harness import LiveServer

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pty")

#: Every OSC, DCS or APC string (ended by BEL or ST): what is left holds the lone bells.
_STRINGS = re.compile(rb"\x1b[\]P_][^\x07\x1b]*(?:\x07|\x1b\\)")
#: Environment variables a terminal guess reads (ui/alerts.py): none leaks from the run.
_TERMINAL_MARKS = (
    "TMUX",
    "STY",
    "TERM_PROGRAM",
    "LC_TERMINAL",
    "ITERM_SESSION_ID",
    "WEZTERM_PANE",
    "KITTY_WINDOW_ID",
    "GHOSTTY_RESOURCES_DIR",
    "KONSOLE_VERSION",
    "VTE_VERSION",
    "COLUMNS",
    "LINES",
)


def console_home(home: Path, server: LiveServer, token: str) -> Path:
    """A console home whose backend is ``server``, syncing every 0.3 s."""
    home.mkdir()
    token_file = home / "token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    (home / "config.toml").write_text(
        f'[backend]\nurl = "{server.url}"\ntoken_file = "token"\n'
        "[shift]\nsync_interval_s = 0.3\nundo_seconds = 0\n",
        encoding="utf-8",
    )
    return home


def lone_bells(written: bytes) -> int:
    """BEL bytes that are a bell, not the end of an OSC."""
    return _STRINGS.sub(b"", written).count(b"\x07")


def test_a_new_conversation_rings_and_notifies(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    home = console_home(tmp_path / "home", live_server, tokens["Lan"])
    cols, rows = 160, 45
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console, nothing else
        env = {k: v for k, v in os.environ.items() if k not in _TERMINAL_MARKS}
        for name in ("CS_CONSOLE_BACKEND_URL", "CS_CONSOLE_TOKEN", "CS_CONSOLE_TOKEN_FILE"):
            env.pop(name, None)
        env.update(TERM="xterm-256color", TERM_PROGRAM="WezTerm", CS_CONSOLE_HOME=str(home))
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execve(sys.executable, [sys.executable, "-m", "cs_console", "run"], env)  # noqa: S606
    written = bytearray()

    def read_until(done: object, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if callable(done) and done():
                return True
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return False
                written.extend(chunk)
                stream.feed(chunk)
        return False

    def on_screen(text: str) -> bool:
        return any(text in line for line in screen.display)

    try:
        assert read_until(lambda: on_screen("synced"), 12), "\n".join(screen.display)
        # Two more syncs: the baseline look is taken, and nothing already there rang.
        read_until(lambda: False, 1.0)
        assert b"\x1b]9;" not in written
        bells_before = lone_bells(bytes(written))
        now = utcnow()
        live_server.state.load_records(
            {
                "conversation": [
                    p.ConversationRecord(
                        id="conv-pty",
                        customer_id="cus-2",
                        group=Group.PRE_SALE,
                        status=ConversationStatus.OPEN,
                        waiting_since=now,
                        last_activity_at=now,
                        unread_count=1,
                        updated_at=now,
                    )
                ],
                "message": [
                    p.MessageRecord(
                        id="m-pty",
                        conversation_id="conv-pty",
                        kind=MessageKind.CUSTOMER,
                        author="Alice Brown",
                        body="the private message text",
                        created_at=now,
                    )
                ],
            }
        )
        notified = b"\x1b]9;cs-console: New conversation from Alice Brown\x07"
        assert read_until(lambda: notified in written, 8), bytes(written[-2000:])
        read_until(lambda: lone_bells(bytes(written)) > bells_before, 2)
        assert lone_bells(bytes(written)) == bells_before + 1
        # The notification names the customer; the message's text stays in the console.
        for sequence in re.findall(rb"\x1b\]9;[^\x07]*\x07", bytes(written)):
            assert b"private message" not in sequence
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
