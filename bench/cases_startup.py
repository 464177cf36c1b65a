"""Cases 1 and 6: start-up to first frame (and to queue rows) on the big store, and the
resident memory once settled, against the bare six-pane app; with ``--peers``, two
well-known Textual apps timed the same way."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.core import Context, Result, Skip, Target, interleave
from bench.data import DATA_DIR
from bench.pty_timer import Paint, measure

SIXPANE = Path(__file__).resolve().parent / "baselines" / "sixpane_app.py"
#: A waiting clock in the queue ("2h14m", "3d04h", "5m07s"): the rows are on screen.
QUEUE_ROWS = r"\d+[mhd]\d\d[smh]"
SCREENS_DIR = DATA_DIR / "last-screens"


def console_argv() -> list[str]:
    """``cs-console run`` from this interpreter's environment."""
    script = Path(sys.executable).with_name("cs-console")
    if script.exists():
        return [str(script), "run"]
    return [sys.executable, "-m", "cs_console", "run"]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any cs-console setting (no backend), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CS_CONSOLE_")}
    env.update(extra)
    return env


def _keep_screen(name: str, paint: Paint) -> None:
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    (SCREENS_DIR / f"{name}.txt").write_text(paint.screen + "\n", encoding="utf-8")


def _windows(ctx: Context) -> tuple[float, float]:
    return (1.5, 0.5) if ctx.quick else (3.0, 1.5)


def startup_paints(ctx: Context) -> tuple[list[Paint], list[Paint]]:
    """Interleaved starts of the console and of the six-pane baseline (cached per run)."""
    cached = ctx.shared.get("startup")
    if cached is not None:
        ours, theirs = cached
        return list(ours), list(theirs)
    store = ctx.store
    window, linger = _windows(ctx)
    console_env = clean_env(CS_CONSOLE_HOME=str(store.home))
    baseline_env = clean_env()

    def console() -> Paint:
        paint = measure(
            console_argv(),
            env=console_env,
            ready=QUEUE_ROWS,
            window=window,
            linger=linger,
            timeout=30.0,
        )
        _keep_screen("cs-console", paint)
        return paint

    def sixpane() -> Paint:
        paint = measure(
            [sys.executable, str(SIXPANE)], env=baseline_env, window=window, linger=linger
        )
        _keep_screen("sixpane", paint)
        return paint

    ours, theirs = interleave(ctx.runs, 0 if ctx.quick else 1, console, sixpane)
    ctx.shared["startup"] = (ours, theirs)
    return ours, theirs


def _ms(paints: Sequence[Paint], field: str) -> list[float]:
    return [getattr(p, field) * 1000 for p in paints]


def run_startup(ctx: Context) -> list[Result]:
    """Case 1: ``cs-console run`` on the big store vs the bare six-pane app."""
    ours, theirs = startup_paints(ctx)
    note = ""
    if any(p.ready != p.ready for p in ours):
        note = "queue rows (a waiting clock) did not appear in some runs"
    rows = f"{ctx.store.size.conversations:,} conversations"
    return [
        Result(
            "startup",
            "first_frame",
            "ms",
            _ms(ours, "first"),
            "sixpane",
            _ms(theirs, "first"),
            [Target("ratio", "<=", 1.25)],
            note=f"cs-console run, {rows}",
        ),
        Result(
            "startup",
            "queue_rows",
            "ms",
            _ms(ours, "ready"),
            "sixpane first frame",
            _ms(theirs, "first"),
            note=note or "first frame showing a waiting clock in the queue",
        ),
        Result(
            "startup",
            "settled",
            "ms",
            _ms(ours, "settled"),
            "sixpane",
            _ms(theirs, "settled"),
            note="last change of the screen text (digits masked), within the watch window",
        ),
    ]


def run_memory(ctx: Context) -> list[Result]:
    """Case 6: resident set size once settled, console vs the bare six-pane app."""
    ours, theirs = startup_paints(ctx)
    mb = 1024 * 1024
    return [
        Result(
            "memory",
            "rss",
            "MB",
            [p.rss_bytes / mb for p in ours],
            "sixpane",
            [p.rss_bytes / mb for p in theirs],
            [Target("ratio", "<=", 1.5)],
            note="VmRSS after settled",
        )
    ]


PEERS_DIR = DATA_DIR / "peers"


def _peer_venv(ctx: Context, name: str) -> Path:
    """A virtual environment holding only ``name`` (each peer pins its own Textual, so
    one shared environment would resolve to an old release of one of them)."""
    venv = PEERS_DIR / name
    script = venv / "bin" / name
    if script.exists():
        return venv
    ctx.log(f"installing {name} into bench/.data/peers/{name} (once)...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", name],
            check=True,
            timeout=900,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise Skip(f"could not install {name}: {exc}") from None
    if not script.exists():
        raise Skip(f"installing {name} gave no {name} script")
    return venv


def run_peers(ctx: Context) -> list[Result]:
    """``--peers``: harlequin and posting started like the console, against the baseline."""
    home = PEERS_DIR / "home"
    workdir = PEERS_DIR / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
    )
    window, linger = _windows(ctx)
    results: list[Result] = []
    for name in ("harlequin", "posting"):
        argv = [str(_peer_venv(ctx, name) / "bin" / name)]

        def peer(argv: list[str] = argv, name: str = name) -> Paint:
            paint = measure(argv, env=env, window=window, linger=linger, cwd=str(workdir))
            _keep_screen(name, paint)
            if paint.first != paint.first:
                how = paint.ended or "no frame within the timeout"
                raise Skip(f"{name} never drew a frame ({how}); see {SCREENS_DIR / name}.txt")
            return paint

        def sixpane() -> Paint:
            return measure([sys.executable, str(SIXPANE)], env=clean_env(), window=window)

        try:
            ours, theirs = interleave(ctx.runs, 0 if ctx.quick else 1, peer, sixpane)
        except Skip as exc:
            ctx.log(f"  skipped {name}: {exc}")
            continue
        results.append(
            Result(
                "peers",
                f"{name}.first_frame",
                "ms",
                _ms(ours, "first"),
                "sixpane",
                _ms(theirs, "first"),
            )
        )
        results.append(
            Result(
                "peers",
                f"{name}.rss",
                "MB",
                [p.rss_bytes / 2**20 for p in ours],
                "sixpane",
                [p.rss_bytes / 2**20 for p in theirs],
            )
        )
    return results
