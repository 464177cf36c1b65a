"""``python -m bench [--quick] [--peers] [--only CASE ...] [--runs N] [--json PATH]``.

Runs the cases in priority order, prints each result as it comes (median, p90 and the
ratio against a baseline measured in the same run) and a table at the end. With
``--quick`` (what CI runs) the data set is small, the runs few, and the numbers are
not judged: the exit status is 0 unless a case crashed. Otherwise a missed target
exits with 1. A crashed case exits with 2 either way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.core import Context, Result, Skip, describe, say, table

CaseFn = Callable[[Context], list[Result]]


def _startup(ctx: Context) -> list[Result]:
    from bench.cases_startup import run_startup

    return run_startup(ctx)


def _peers(ctx: Context) -> list[Result]:
    if not ctx.peers:
        raise Skip("peers are timed only with --peers")
    from bench.cases_startup import run_peers

    return run_peers(ctx)


def _queue(ctx: Context) -> list[Result]:
    from bench.cases_ui import run_queue

    return run_queue(ctx)


def _thread(ctx: Context) -> list[Result]:
    from bench.cases_ui import run_thread

    return run_thread(ctx)


def _sync(ctx: Context) -> list[Result]:
    from bench.cases_sync import run_sync

    return run_sync(ctx)


def _server(ctx: Context) -> list[Result]:
    from bench.cases_server import run_server

    return run_server(ctx)


def _memory(ctx: Context) -> list[Result]:
    from bench.cases_startup import run_memory

    return run_memory(ctx)


def _replies(ctx: Context) -> list[Result]:
    from bench.cases_ui import run_replies

    return run_replies(ctx)


def _search(ctx: Context) -> list[Result]:
    from bench.cases_search import run_search

    return run_search(ctx)


#: In priority order; each name is what ``--only`` takes.
CASES: dict[str, tuple[CaseFn, str]] = {
    "startup": (_startup, "cold start to first frame on the big store vs a bare six-pane app"),
    "peers": (_peers, "harlequin and posting started the same way (--peers)"),
    "queue": (_queue, "queue keystrokes on 100k conversations vs a bare OptionList"),
    "thread": (_thread, "open a 10,000-message conversation vs raw sqlite3"),
    "sync": (_sync, "pull 100k messages from the reference server vs raw httpx+sqlite3"),
    "server": (_server, "50 agents polling and replying against the reference server"),
    "memory": (_memory, "resident memory after start vs the bare six-pane app"),
    "replies": (_replies, "quick-reply search keystroke vs a substring filter"),
    "search": (_search, "Ctrl+F search keystroke on 1M messages vs a plain FTS5 MATCH"),
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="cases: " + "; ".join(f"{name}: {text}" for name, (_, text) in CASES.items()),
    )
    parser.add_argument("--quick", action="store_true", help="small data, few runs, no verdicts")
    parser.add_argument("--peers", action="store_true", help="also time harlequin and posting")
    parser.add_argument("--only", nargs="+", choices=list(CASES), metavar="CASE", default=None)
    parser.add_argument("--runs", type=int, default=None, help="measured runs (default 7, quick 2)")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write results")
    args = parser.parse_args(argv)
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def git_revision() -> str:
    """The short hash of HEAD, or '?'."""
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return found.stdout.strip()


def code_location() -> str:
    """Where the measured ``cs_console`` package is imported from (a checkout's src/,
    or an export put first on PYTHONPATH)."""
    import cs_console

    return str(Path(cs_console.__file__).resolve().parent)


def machine() -> str:
    """CPU count and model, memory, Python."""
    model = "?"
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").splitlines()
        ):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({model}), {memory} RAM, "
        f"Python {platform.python_version()} on {platform.system()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen cases; the exit status is described in the module doc."""
    args = parse_args(argv)
    ctx = Context(quick=args.quick, runs=args.runs or (2 if args.quick else 7), peers=args.peers)
    chosen = args.only or [name for name in CASES if name != "peers" or args.peers]
    revision = git_revision()
    say(f"cs-console bench · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC · git {revision}")
    say(f"code: {code_location()}")
    say(f"machine: {machine()}")
    mode = "quick (verdicts shown, not judged)" if args.quick else "full"
    say(f"mode: {mode}, {ctx.runs} runs, cases: {' '.join(chosen)}")
    results: list[Result] = []
    skipped: dict[str, str] = {}
    crashed: dict[str, str] = {}
    started = time.monotonic()
    for name in chosen:
        run, text = CASES[name]
        say(f"\n== {name}: {text}")
        case_started = time.monotonic()
        try:
            got = run(ctx)
        except Skip as exc:
            skipped[name] = str(exc)
            say(f"  skipped: {exc}")
            continue
        except Exception as exc:
            crashed[name] = f"{type(exc).__name__}: {exc}"
            say(f"  CRASHED: {crashed[name]}")
            traceback.print_exc(file=sys.stdout)
            continue
        for result in got:
            say(describe(result))
            if result.note:
                say(f"      {result.note}")
        say(f"  ({time.monotonic() - case_started:.1f} s)")
        results.extend(got)
    say("\n" + table(results))
    for name, reason in skipped.items():
        say(f"skipped {name}: {reason}")
    for name, reason in crashed.items():
        say(f"crashed {name}: {reason}")
    say(f"total {time.monotonic() - started:.1f} s")
    if args.json is not None:
        payload = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "git": revision,
            "code": code_location(),
            "machine": machine(),
            "quick": args.quick,
            "runs": ctx.runs,
            "results": [r.as_json() for r in results],
            "skipped": skipped,
            "crashed": crashed,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    if crashed:
        return 2
    if not args.quick and any(r.met is False for r in results):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
