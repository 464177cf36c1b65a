"""The benchmark harness runs end to end in its quick mode (numbers are not judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_bench_runs_and_prints_ratios() -> None:
    # thread: a headless console on the generated store against raw sqlite3;
    # sync: the reference server in its own process against plain httpx.
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "thread", "sync"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "| ratio |" in done.stdout, output[-4000:]
    assert "thread.open_10k" in done.stdout
    assert "sync.pull" in done.stdout
