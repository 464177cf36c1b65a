"""`cs-console demo` never leaves its demo shop running behind it, also when the terminal
window is closed under it (SIGHUP) rather than quit with Ctrl+Q."""

from __future__ import annotations

import contextlib
import os
import pty
import signal
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs /proc and a pty")


def demo_servers(home: Path) -> list[int]:
    """Pids of demo shop servers whose command line names ``home``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmdline and any(str(home).encode() in part for part in cmdline):
            found.append(int(entry.name))
    return found


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)
    return False


def test_closing_the_terminal_stops_the_demo_shop(tmp_path: Path) -> None:
    pid, fd = pty.fork()
    if pid == 0:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        env["TERM"] = "xterm-256color"
        os.execve(  # noqa: S606
            sys.executable,
            [sys.executable, "-m", "cs_console", "--home", str(tmp_path), "demo", "--rate", "0"],
            env,
        )
    try:
        # Read what the console draws (so it never blocks on a full pty) until the
        # workspace shows conversations from the running shop.
        drawn = bytearray()

        def running() -> bool:
            with contextlib.suppress(OSError):
                drawn.extend(os.read(fd, 65536))
            # Synced: the status bar says so, or the shift-start screen (the morning
            # shift's handover, shown after the first sync) covers it.
            synced = b"synced" in drawn or b"Morning shift (Mei)" in drawn
            return bool(demo_servers(tmp_path)) and synced

        assert wait_for(running, 40), "the demo did not come up"
        os.close(fd)  # the terminal window closes: the console gets SIGHUP
        assert wait_for(lambda: not demo_servers(tmp_path), 15), "the demo shop outlived us"
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for server in demo_servers(tmp_path):
            with contextlib.suppress(ProcessLookupError):
                os.kill(server, signal.SIGKILL)
