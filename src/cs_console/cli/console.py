"""The console itself and what an agent sets up around it: ``run`` (the default),
``demo``, ``--web``, ``doctor`` and ``token``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cs_console.cli.common import CANNOT, Grammar, settings_for, web_options
from cs_console.cli.output import say


def cmd_tui(args: argparse.Namespace) -> int:
    """Start the console against the configured backend."""
    if getattr(args, "web", False):
        return _serve_web(args, ["run"])
    from cs_console.ui.launch import run_console

    return run_console(settings_for(args))


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the demo shop in the background and the console against it."""
    if getattr(args, "web", False):
        command = ["demo", "--rate", str(args.rate)]
        if args.agent:
            command += ["--agent", args.agent]
        if args.fresh:
            # Wiped once here: each browser tab starts a console of its own.
            from cs_console.ui.launch import demo_agent, prepare_demo_home

            _demo, notes = prepare_demo_home(
                args.home, fresh=True, agent=demo_agent(args.home, args.agent)
            )
            for note in notes:
                say(f"cs-console demo: {note}", err=True)
        return _serve_web(args, command)
    from cs_console.ui.launch import run_demo

    return run_demo(args.home, fresh=args.fresh, rate=args.rate, agent=args.agent)


def _serve_web(args: argparse.Namespace, command: list[str]) -> int:
    """Serve the same console to a browser on 127.0.0.1 (textual-serve runs one
    console process per browser tab, over a websocket)."""
    import shlex

    try:
        from textual_serve.server import Server
    except ImportError:
        say("cs-console: --web needs textual-serve: pip install 'cs-console[web]'", err=True)
        return CANNOT
    argv = [sys.executable, "-m", "cs_console"]
    if args.home is not None:
        argv += ["--home", str(args.home)]
    server = Server(
        shlex.join(argv + command),
        host="127.0.0.1",
        port=args.web_port,
        title="cs-console",
    )
    say(f"cs-console in your browser: http://127.0.0.1:{args.web_port}  (Ctrl+C stops)")
    server.serve()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Keep the backend's token (or the order system's key) in the OS keyring."""
    from cs_console import keystore
    from cs_console.secret import Secret

    settings = settings_for(args)
    url = settings.orders.url if args.orders else settings.backend.url
    if not url:
        what = "orders.url" if args.orders else "backend.url (or CS_CONSOLE_BACKEND_URL)"
        say(f"cs-console: set {what} first: the token is kept per address", err=True)
        return CANNOT
    try:
        if args.token_command == "clear":  # noqa: S105 (an action name, not a secret)
            removed = keystore.forget(url)
            say(f"removed the token for {url}" if removed else f"no token kept for {url}")
            return 0
        if sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"token for {url} (not shown): ")
        else:
            value = sys.stdin.readline()
        value = value.strip()
        if not value:
            say("cs-console: no token given; nothing stored", err=True)
            return 1
        where = keystore.store(url, Secret(value))
    except keystore.KeyringUnavailable as exc:
        say(f"cs-console: {exc}", err=True)
        return 1
    say(f"stored the token for {url} in the OS keyring ({where})")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check config, store, backends and terminal; say what to fix."""
    from cs_console.sanitize import sanitize_line
    from cs_console.services.doctor import Verdict, run_checks

    marks = {Verdict.OK: "ok  ", Verdict.WARN: "warn", Verdict.FAIL: "FAIL"}
    worst = Verdict.OK
    for check in run_checks(args.home, server_config=args.server_config):
        # Details quote backends' own error messages: never raw to the terminal.
        say(f"[{marks[check.verdict]}] {check.name:<14}{sanitize_line(check.detail)}")
        if check.fix:
            say(f"{'':22}-> {sanitize_line(check.fix)}")
        if check.verdict is Verdict.FAIL:
            worst = Verdict.FAIL
        elif check.verdict is Verdict.WARN and worst is Verdict.OK:
            worst = Verdict.WARN
    return 1 if worst is Verdict.FAIL else 0


def register(grammar: Grammar) -> None:
    """Add ``run``, ``doctor``, ``token`` and ``demo``."""
    web_options(grammar.add("run", cmd_tui, "start the console (the default)"))
    doctor = grammar.add(
        "doctor", cmd_doctor, "check config, store, backends and terminal; say what to fix"
    )
    doctor.add_argument(
        "--server-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="also check a reference server's channels (default: server.toml in --home, if any)",
    )
    token = grammar.add("token", cmd_token, "keep your token in the OS keyring (set, clear)")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    for name, text in (
        ("set", "store a token for the configured address (asked for, never shown)"),
        ("clear", "forget the stored token"),
    ):
        actions.add_parser(name, help=text, parents=[grammar.home_only]).add_argument(
            "--orders", action="store_true", help="the order system's key instead"
        )
    demo = grammar.add(
        "demo",
        cmd_demo,
        "start the demo shop and the console against it (kept between runs; --fresh)",
        description="Start the demo shop and the console against it, with your config's "
        "language, theme and keys. Its shop and store live in <home>/demo and are kept "
        "from one run to the next (--fresh starts over); the command line reaches its "
        "store with --demo, e.g. cs-console conversations --demo.",
    )
    web_options(demo)
    kept = demo.add_mutually_exclusive_group()
    kept.add_argument(
        "--fresh", action="store_true", help="wipe the last demo's shop and store; start over"
    )
    kept.add_argument(
        "--keep", action="store_true", help="go on with the last demo's data (the default)"
    )
    demo.add_argument("--rate", type=float, default=8.0, help="seconds between simulated messages")
    demo.add_argument(
        "--agent",
        default=None,
        help="which demo agent to be: Lan, Jun, Mei, Hao or Sofia (default: your config's "
        "[agent] name if it is one of them, else Lan)",
    )
