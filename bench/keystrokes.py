"""Count the keys of the agent's commonest tasks on a real terminal: ``cs-console demo``
in tmux, driven by ``tmux send-keys``, each task's effect read off the screen.

    python bench/keystrokes.py [--size 160x45] [--keep-session]

Prints one line per task (keys pressed, their count, the target) and exits non-zero if
a task did not take effect or took more keys than its target. The README's table comes
from this script's output; ``tests/acceptance/test_keystrokes.py`` asserts the same
counts through Textual's Pilot and checks each write on the server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SESSION = "cs-keystrokes"


@dataclass(frozen=True)
class Task:
    """One task: keys to count, uncounted text typed between them, what shows after."""

    name: str
    #: Each item is a tmux key (counted) or ``("text", ...)`` typed literally (not counted).
    steps: tuple[str | tuple[str, str], ...]
    target: int
    #: Text the screen shows once the task took effect.
    shows: str
    #: Uncounted keys that set the task up (e.g. open a conversation first).
    setup: tuple[str, ...] = ()


TASKS = (
    Task(
        "Answer the longest-waiting customer with an order-filled quick reply",
        ("C-g", ("reply", "M-d"), "Enter"),
        target=3,
        shows="Lan  ·",
    ),
    Task(
        "Log an after-sales case (refund 15.00), refund made",
        ("C-l", "Tab", "r", "Tab", ("text", "15.00"), "Enter", "Enter"),
        target=6,
        shows="Refund of",
        setup=("C-g",),
    ),
    Task(
        "Resolve and go to the next waiting customer",
        ("C-d",),
        target=1,
        shows="Resolved",
        setup=("C-g",),
    ),
    Task(
        "Flag the order with a yellow remark",
        ("f", "2", ("text", "Collect at the depot"), "Enter"),
        target=3,
        shows="Collect at the depot",
        setup=("C-g", "Escape"),
    ),
)


def tmux(*args: str) -> str:
    """Run tmux; its output."""
    done = subprocess.run(["tmux", *args], check=True, capture_output=True, text=True)
    return done.stdout


def screen() -> str:
    """The pane's text now."""
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_for(text: str, timeout: float) -> bool:
    """Whether ``text`` appears on screen within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in screen():
            return True
        time.sleep(0.2)
    return False


#: The quick-reply keys tried, uncounted, when the one named leaves a ‹blank› (which
#: conversation waits longest depends on the demo's clock: a shipped order has no
#: ship-by for the dispatch reply to quote).
OTHER_REPLY_KEYS = tuple(f"M-{letter}" for letter in "asghjklzxqwe")


def send(step: str | tuple[str, str]) -> int:
    """Send one step; 1 if it is a counted key, 0 for typed text."""
    if isinstance(step, tuple) and step[0] == "reply":
        for key in (step[1], *OTHER_REPLY_KEYS):
            tmux("send-keys", "-t", SESSION, key)
            time.sleep(0.8)
            if "‹" not in screen():
                return 1
            tmux("send-keys", "-t", SESSION, "C-a", "BSpace")  # take it back, try another
            time.sleep(0.4)
        return 1
    if isinstance(step, tuple):
        tmux("send-keys", "-t", SESSION, "-l", step[1])
        time.sleep(0.3)
        return 0
    tmux("send-keys", "-t", SESSION, step)
    time.sleep(0.6)  # a person's pace; the console must keep up, not race ahead
    return 1


def label(step: str | tuple[str, str]) -> str:
    """A step as the README writes it."""
    if isinstance(step, tuple):
        if step[0] == "reply":
            return label(step[1])
        return "<amount>" if step[1][0].isdigit() else "<text>"
    names = {"C-": "Ctrl+", "M-": "Alt+"}
    for prefix, word in names.items():
        if step.startswith(prefix):
            return word + step[len(prefix) :].upper()
    return {"Escape": "Esc"}.get(step, step)


def main() -> int:
    """Run the tasks; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="160x45")
    parser.add_argument("--keep-session", action="store_true")
    args = parser.parse_args()
    width, height = args.size.split("x")
    if shutil.which("tmux") is None:
        print("tmux is not installed", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="cs-keystrokes-"))
    command = f"{sys.executable} -m cs_console demo --fresh --rate 100000 --home {home}"
    env = {**os.environ, "CS_CONSOLE_HOME": str(home)}
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", SESSION, "-x", width, "-y", height, command],
        check=True,
        env=env,
    )
    failed = 0
    try:
        if not wait_for("Start of shift", 60):
            print("the demo did not open on the handover screen:\n" + screen(), file=sys.stderr)
            return 2
        send("Escape")
        time.sleep(3)  # the quick replies load a moment after the first frame
        print(f"| task | keys | count | target |  ({args.size})")
        print("|---|---|---|---|")
        for task in TASKS:
            for key in task.setup:
                send(key)
            count = sum(send(step) for step in task.steps)
            took = wait_for(task.shows, 15)
            ok = took and count <= task.target
            failed += not ok
            keys = ", ".join(label(step) for step in task.steps)
            mark = "" if ok else "  <- FAILED" + ("" if took else f" ({task.shows!r} never showed)")
            print(f"| {task.name} | {keys} | {count} | ≤ {task.target} |{mark}")
            send("Escape")
            time.sleep(1)
    finally:
        if not args.keep_session:
            subprocess.run(["tmux", "send-keys", "-t", SESSION, "C-q"], capture_output=True)
            time.sleep(1)
            subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
            shutil.rmtree(home, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
