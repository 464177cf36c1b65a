"""Time a terminal app from exec to its first frame, to "ready" and to a settled screen.

The app runs in a real pseudo-terminal (``pty.fork``) whose output feeds a ``pyte``
screen, the way a terminal emulator would draw it:

* **first**: the screen first shows ``min_lines`` non-blank lines;
* **ready**: the screen first matches ``ready`` (a regular expression, e.g. a waiting
  clock in the queue), or the first frame when there is none;
* **settled**: the last change of the screen's text, with digit runs masked so that a
  ticking clock ("shift 3s") does not count as a change, within the watch window.

The window runs ``window`` seconds past the first frame, and at least ``linger``
seconds past ready. The child's resident set size is read from ``/proc`` at the end
of the window, that is after it settled.
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
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyte

_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Paint:
    """One timed start of a terminal app (seconds since exec; NaN: never happened)."""

    first: float
    ready: float
    settled: float
    rss_bytes: int
    screen: str
    #: How the app ended on its own before the window closed ("exit 1", "signal 11").
    ended: str | None = None


def resident_bytes(pid: int) -> int:
    """VmRSS of a live process, in bytes (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Terminal(pyte.Screen):
    """A pyte screen that answers the queries pyte understands (cursor position,
    device attributes) as a terminal would: some apps wait for the answer."""

    reply_fd: int | None = None

    def write_process_input(self, data: str) -> None:
        """Send pyte's answer back to the app."""
        if self.reply_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self.reply_fd, data.encode())


def _exec_child(
    argv: Sequence[str], env: Mapping[str, str], cols: int, rows: int, cwd: str | None
) -> None:
    """In the forked child: size the terminal, then become the app. Never returns."""
    try:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if cwd is not None:
            os.chdir(cwd)
        os.execvpe(argv[0], list(argv), dict(env))  # noqa: S606 - the app under test
    finally:
        os._exit(127)  # only reached if exec failed


def measure(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cols: int = 160,
    rows: int = 45,
    min_lines: int = 10,
    ready: str | None = None,
    window: float = 3.0,
    linger: float = 1.5,
    timeout: float = 60.0,
    cwd: str | None = None,
) -> Paint:
    """Start ``argv`` in a pseudo-terminal and time its painting (see the module doc)."""
    child_env = dict(env)
    child_env.update(TERM="xterm-256color", COLUMNS=str(cols), LINES=str(rows))
    ready_pattern = re.compile(ready) if ready else None
    screen = Terminal(cols, rows)
    stream = pyte.ByteStream(screen)
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        _exec_child(argv, child_env, cols, rows, cwd)
    screen.reply_fd = fd
    nan = float("nan")
    first = ready_at = settled = nan
    masked: list[str] = []
    rss = 0
    ended: str | None = None
    try:
        while True:
            elapsed = time.perf_counter() - started
            if elapsed > timeout:
                break
            if first == first:
                end = first + window
                if ready_pattern is not None:
                    end = max(end, (ready_at if ready_at == ready_at else timeout) + linger)
                if elapsed > end:
                    break
            readable, _, _ = select.select([fd], [], [], 0.01)
            if not readable:
                continue
            try:
                data = os.read(fd, 1 << 16)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            at = time.perf_counter() - started
            stream.feed(data)
            display: list[str] = screen.display
            now_masked = [_DIGITS.sub("#", line) for line in display]
            if now_masked == masked:
                continue
            masked = now_masked
            settled = at
            if first != first and sum(1 for line in display if line.strip()) >= min_lines:
                first = at
            if first == first and ready_at != ready_at:
                text = "\n".join(display)
                if ready_pattern is None or ready_pattern.search(text):
                    ready_at = at
        rss = resident_bytes(pid)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            ended = _describe_status(status)
    finally:
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        os.close(fd)
    return Paint(first, ready_at, settled, rss, "\n".join(screen.display), ended)


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit {os.waitstatus_to_exitcode(status)}"
