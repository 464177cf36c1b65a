"""What the console really writes to the terminal when customers send hostile text.

SVG snapshots cannot show escape sequences, so this runs ``cs-console`` in a real
pseudo-terminal on a store full of hostile text and reads the bytes it writes. The
hostile rows go into the store twice: through the protocol (sanitised at ingest) and
raw with sqlite3, as an older or damaged store might hold them, so the render-time
sanitiser is proven on its own.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import select
import signal
import sqlite3
import struct
import sys
import termios
import time
from pathlib import Path

import pyte
import pytest

from cs_console.store.db import Database

PAYLOADS = [
    "\x1b]52;c;SGVsbG8=\x07",  # OSC 52: write the agent's clipboard
    "\x1b]8;;http://evil.example/\x1b\\click me\x1b]8;;\x1b\\",  # OSC 8: hidden link
    "\x1b]0;pwned-title\x07",  # OSC 0: window title
    "\x1b[2J\x1b[H",  # CSI: clear the screen, cursor home
    "\x9b31mC1-CSI\x9d0;c1-osc\x07",  # 8-bit CSI and OSC
    "\x1bP1$rDCS\x1b\\",  # DCS
    "line\rover",  # CR
    "back\bspace\x00nul",  # BS, NUL
    "\u202eevil-bidi\u202c zero\u200bwidth",  # bidi override, zero width
    "[bold]b[/bold] [@click=app.quit]clickme[/] [link=file:///etc/passwd]x[/link]",
    "[urgent] trailing\\",
    "[/] lone [",
]
BODY = " | ".join(PAYLOADS)
#: Byte strings that must never reach the terminal: each is a payload's own sequence.
FORBIDDEN = [
    b"\x1b]52;",
    b"\x1b]8;;http://evil",
    b"\x1b]0;pwned",
    b"\x1bP1$r",
    b"\x1b[31mC1",
    b"\xc2\x9b",  # C1 CSI, UTF-8 encoded
    b"\xc2\x9d",  # C1 OSC
    b"\x9b31m",
]


def hostile_store(home: Path) -> None:
    """A client store whose every text field carries the payloads, written raw."""
    Database(home / "store.db").close()
    now = "2026-11-20T10:00:00.000000Z"
    conn = sqlite3.connect(home / "store.db")
    conn.execute(
        "INSERT INTO customer (id, name, email, phone, language, notes, updated_at, tags_json) "
        "VALUES ('cus-x', ?, ?, ?, 'en', ?, ?, ?)",
        (f"Eve {BODY}", "eve@example.com", BODY, BODY, now, json.dumps([BODY])),
    )
    conn.execute(
        'INSERT INTO conversation (id, customer_id, channel, "group", status, assignee, '
        "snoozed_until, waiting_since, last_activity_at, unread_count, snippet, queue_rank, "
        "updated_at) VALUES ('conv-x', 'cus-x', 'web', 'after-sale', 'open', ?, NULL, ?, ?, 1, ?, "
        "'02026-11-20T10:00:00.000000Z', ?)",
        (BODY, now, now, BODY, now),
    )
    for index, payload in enumerate([BODY, *PAYLOADS]):
        conn.execute(
            "INSERT INTO message (id, conversation_id, kind, author, body, created_at, delivery) "
            "VALUES (?, 'conv-x', 'customer', ?, ?, ?, 'sent')",
            (f"m-{index}", f"Eve {payload}", payload, now),
        )
    items = '[{"sku": "X", "name": ' + _json(BODY) + ', "quantity": 1, "unit_price_minor": 100}]'
    conn.execute(
        "INSERT INTO orders (id, number, customer_id, status, items_json, total_minor, currency, "
        "carrier, tracking_number, shipping_address, placed_at, paid_at, group_formed_at, "
        "shipped_at, delivered_at, updated_at) VALUES ('ord-x', ?, 'cus-x', 'shipped', ?, 100, "
        "'CNY', ?, ?, ?, ?, ?, NULL, ?, NULL, ?)",
        ("N-" + PAYLOADS[0], items, BODY, BODY, BODY, now, now, now, now),
    )
    conn.execute("INSERT INTO order_event VALUES ('e-x', 'ord-x', 'shipped', ?, ?)", (now, BODY))
    conn.execute(
        "INSERT INTO order_remark VALUES ('r-x', 'ord-x', 'red', ?, ?, ?, 'sent')",
        (BODY, f"Eve {BODY}", now),
    )
    conn.execute("INSERT INTO sync_state VALUES ('last_error', ?)", (f"server said: {BODY}",))
    conn.commit()
    conn.close()


def _json(text: str) -> str:
    import json

    return json.dumps(text)


def run_in_pty(
    home: Path,
    keys: list[bytes],
    seconds: float,
    *,
    env: dict[str, str] | None = None,
    size: tuple[int, int] = (160, 45),
) -> tuple[bytes, pyte.Screen, bool]:
    """Run the console, type ``keys`` one by one, and return every byte it wrote, the
    final screen, and whether it was still running at the end. ``env`` is laid over a
    256-colour xterm's."""
    cols, rows = size
    screen = pyte.Screen(cols, rows)
    stream = pyte.ByteStream(screen)
    pid, fd = pty.fork()
    if pid == 0:  # the child: the console, nothing else
        os.environ.update(TERM="xterm-256color", CS_CONSOLE_HOME=str(home), TZ="UTC")
        for name in ("COLORTERM", "NO_COLOR"):
            os.environ.pop(name, None)
        os.environ.update(env or {})
        # Size the terminal before the console starts: set from the parent, it races
        # the console's first look at its size.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        for name in ("CS_CONSOLE_BACKEND_URL", "CS_CONSOLE_TOKEN", "CS_CONSOLE_TOKEN_FILE"):
            os.environ.pop(name, None)
        # An explicit environment: something in the test run puts COLUMNS=80 and LINES=24
        # into the C-level environment (not os.environ), and they would override the
        # pty's size in the console.
        child_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        os.execve(sys.executable, [sys.executable, "-m", "cs_console", "run"], child_env)  # noqa: S606
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    written = bytearray()
    started = time.monotonic()
    pending = list(keys)
    next_key_at = started + 3.0
    alive = True
    try:
        while time.monotonic() - started < seconds:
            if pending and time.monotonic() >= next_key_at:
                os.write(fd, pending.pop(0))
                next_key_at = time.monotonic() + 0.4
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    alive = False
                    break
                if not chunk:
                    alive = False
                    break
                written += chunk
                stream.feed(chunk)
        finished, _ = os.waitpid(pid, os.WNOHANG)
        alive = alive and finished == 0
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    return bytes(written), screen, alive


@pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pty")
def test_no_customer_escape_sequence_or_markup_reaches_the_terminal(tmp_path: Path) -> None:
    hostile_store(tmp_path)
    # Open the conversation, open the order list, the help and the quick-reply palette.
    keys = [b"\r", b"\x1b", b"\x1bOQ", b"\x1b", b"\x1b[17~", b"\x1b"]
    written, screen, alive = run_in_pty(tmp_path, keys, seconds=9.0)
    assert alive, "the console died on hostile text"
    for forbidden in FORBIDDEN:
        assert forbidden not in written, f"{forbidden!r} reached the terminal"
    text = "\n".join(screen.display)
    assert "Eve" in text  # the hostile customer is on screen ...
    assert "␛]52" in text  # ... with ESC shown as a visible picture
    assert "[@click=app.quit]" in text  # markup is shown as text, not run
