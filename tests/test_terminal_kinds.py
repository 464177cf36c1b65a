"""The console in terminals of every kind: 16 colours, 256, true colour, NO_COLOR, screen.

Run in a real pseudo-terminal; the bytes it writes are read back. A terminal that knows
only the 16 ANSI colours must get nothing else (an unknown 256-colour or RGB sequence
shows as garbage or as nothing on such a terminal), and NO_COLOR (no-color.org) means
greys only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.reliability.test_terminal_output import hostile_store, run_in_pty

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="needs a Linux pty")

SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def colours(written: bytes) -> dict[str, list[tuple[int, ...]]]:
    """Every colour the console set, by kind: 16-colour codes, 256-colour indexes, RGB."""
    found: dict[str, list[tuple[int, ...]]] = {"16": [], "256": [], "rgb": []}
    for match in SGR.finditer(written):
        params = [int(x) for x in match.group(1).split(b";") if x]
        i = 0
        while i < len(params):
            code = params[i]
            if code in (38, 48) and i + 1 < len(params):
                if params[i + 1] == 5:
                    found["256"].append((params[i + 2],))
                    i += 3
                    continue
                if params[i + 1] == 2:
                    found["rgb"].append(tuple(params[i + 2 : i + 5]))
                    i += 5
                    continue
            if 30 <= code <= 37 or 40 <= code <= 47 or 90 <= code <= 97 or 100 <= code <= 107:
                found["16"].append((code,))
            i += 1
    return found


def is_grey_256(index: int) -> bool:
    if index >= 232 or index in (0, 7, 8, 15):
        return True
    if 16 <= index <= 231:
        r, g, b = (index - 16) // 36, (index - 16) // 6 % 6, (index - 16) % 6
        return r == g == b
    return False


def start(tmp_path: Path, env: dict[str, str], size: tuple[int, int] = (160, 45)) -> bytes:
    hostile_store(tmp_path)
    written, screen, alive = run_in_pty(tmp_path, [], 5.0, env=env, size=size)
    assert alive, "the console exited"
    shown = "\n".join(screen.display)
    assert "open" in shown, shown
    assert "Conversation" in shown, shown
    return written


@pytest.mark.parametrize("term", ["xterm", "screen", "vt220"])
def test_a_16_colour_terminal_gets_only_the_16_colours(tmp_path: Path, term: str) -> None:
    found = colours(start(tmp_path, {"TERM": term}))
    assert found["16"], "no colour at all"
    assert found["256"] == []
    assert found["rgb"] == []


def test_256_colours_under_tmux_or_screen(tmp_path: Path) -> None:
    found = colours(start(tmp_path, {"TERM": "screen-256color"}))
    assert found["256"]
    assert found["rgb"] == []


def test_true_colour_when_the_terminal_says_so(tmp_path: Path) -> None:
    found = colours(start(tmp_path, {"TERM": "xterm-256color", "COLORTERM": "truecolor"}))
    assert found["rgb"]


def test_no_color_means_greys_only(tmp_path: Path) -> None:
    found = colours(start(tmp_path, {"TERM": "xterm-256color", "NO_COLOR": "1"}))
    assert found["256"], "nothing drawn"
    assert all(is_grey_256(index) for (index,) in found["256"]), sorted(set(found["256"]))
    assert all(r == g == b for r, g, b in found["rgb"])


def test_80x24_in_16_colours(tmp_path: Path) -> None:
    start(tmp_path, {"TERM": "xterm"}, size=(80, 24))


@pytest.mark.parametrize("size", [(120, 40), (200, 60)])
def test_the_workspace_fills_larger_terminals(tmp_path: Path, size: tuple[int, int]) -> None:
    hostile_store(tmp_path)
    _, screen, alive = run_in_pty(tmp_path, [], 8.0, env={"TERM": "xterm-256color"}, size=size)
    assert alive
    shown = screen.display
    assert "Customer & orders" in "\n".join(shown)  # the order pane is there at both sizes
    assert shown[-1].strip(), "the footer is on the last line"
