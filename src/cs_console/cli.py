"""``cs-console``: the TUI by default, and every headless action as a subcommand.

Imports are deferred into each command so that ``cs-console`` paints its first frame
before SQLAlchemy, httpx or the server stack are loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cs_console import __version__

Command = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace) -> Any:
    from cs_console.settings import load_settings

    return load_settings(home=args.home)


def _context(args: argparse.Namespace, *, writer: bool = True) -> Any:
    from cs_console.services.context import open_context

    return open_context(_settings(args), writer=writer)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cmd_tui(args: argparse.Namespace) -> int:
    """Start the console against the configured backend."""
    if getattr(args, "web", False):
        return _serve_web(args, ["run"])
    from cs_console.ui.launch import run_console

    return run_console(_settings(args))


def cmd_demo(args: argparse.Namespace) -> int:
    """Start the demo shop in the background and the console against it."""
    if getattr(args, "web", False):
        return _serve_web(args, ["demo", "--rate", str(args.rate), "--agent", args.agent])
    from cs_console.ui.launch import run_demo

    return run_demo(args.home, keep=args.keep, rate=args.rate, agent=args.agent)


def _serve_web(args: argparse.Namespace, command: list[str]) -> int:
    """Serve the same console to a browser on 127.0.0.1 (textual-serve runs one
    console process per browser tab, over a websocket)."""
    import shlex

    try:
        from textual_serve.server import Server
    except ImportError:
        print(
            "cs-console: --web needs textual-serve: pip install 'cs-console[web]'",
            file=sys.stderr,
        )
        return 2
    argv = [sys.executable, "-m", "cs_console"]
    if args.home is not None:
        argv += ["--home", str(args.home)]
    server = Server(
        shlex.join(argv + command),
        host="127.0.0.1",
        port=args.web_port,
        title="cs-console",
    )
    print(f"cs-console in your browser: http://127.0.0.1:{args.web_port}  (Ctrl+C stops)")
    server.serve()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Keep the backend's token (or the order system's key) in the OS keyring."""
    from cs_console import keystore
    from cs_console.secret import Secret

    settings = _settings(args)
    url = settings.orders_url if args.orders else settings.backend_url
    if not url:
        what = "orders.url" if args.orders else "backend.url (or CS_CONSOLE_BACKEND_URL)"
        print(f"cs-console: set {what} first: the token is kept per address", file=sys.stderr)
        return 2
    try:
        if args.token_command == "clear":  # noqa: S105 (an action name, not a secret)
            removed = keystore.forget(url)
            print(f"removed the token for {url}" if removed else f"no token kept for {url}")
            return 0
        if sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"token for {url} (not shown): ")
        else:
            value = sys.stdin.readline()
        value = value.strip()
        if not value:
            print("cs-console: no token given; nothing stored", file=sys.stderr)
            return 1
        where = keystore.store(url, Secret(value))
    except keystore.KeyringUnavailable as exc:
        print(f"cs-console: {exc}", file=sys.stderr)
        return 1
    print(f"stored the token for {url} in the OS keyring ({where})")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check config, store, backends and terminal; say what to fix."""
    from cs_console.sanitize import sanitize_line
    from cs_console.services.doctor import Verdict, run_checks

    marks = {Verdict.OK: "ok  ", Verdict.WARN: "warn", Verdict.FAIL: "FAIL"}
    worst = Verdict.OK
    for check in run_checks(args.home):
        # Details quote backends' own error messages: never raw to the terminal.
        print(f"[{marks[check.verdict]}] {check.name:<14}{sanitize_line(check.detail)}")
        if check.fix:
            print(f"{'':22}-> {sanitize_line(check.fix)}")
        if check.verdict is Verdict.FAIL:
            worst = Verdict.FAIL
        elif check.verdict is Verdict.WARN and worst is Verdict.OK:
            worst = Verdict.WARN
    return 1 if worst is Verdict.FAIL else 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the reference server in the foreground."""
    from cs_console.server.run import serve

    return serve(
        host=args.host,
        port=args.port,
        db_url=args.db,
        demo=args.demo,
        tokens_file=args.tokens_file,
        rate=args.rate,
        home=args.home,
        replies_dir=args.replies,
    )


def cmd_sync(args: argparse.Namespace) -> int:
    """Run one sync cycle and print what moved."""
    from cs_console.backends.base import BackendError
    from cs_console.sanitize import sanitize_line
    from cs_console.services import sync
    from cs_console.sync.engine import SyncStopped

    ctx = _context(args)
    try:
        engine = sync.make_engine(ctx)
        try:
            report = engine.run_once()
        except (BackendError, SyncStopped) as exc:
            print(f"sync failed: {sanitize_line(str(exc))}", file=sys.stderr)
            return 2
        finally:
            engine.backend.close()
        status = engine.status()
        print(
            f"pushed {report.pushed}, refused {report.refused}, pulled {report.pulled} records "
            f"in {report.pages} pages; outbox {status.outbox_depth}"
        )
        for error in report.errors:
            print(f"  refused: {sanitize_line(error)}")
        return 0
    finally:
        ctx.close()


def cmd_conversations(args: argparse.Namespace) -> int:
    """List conversations from the local store."""
    from cs_console.domain import ConversationStatus
    from cs_console.services import queue
    from cs_console.views import QueueFilter

    ctx = _context(args, writer=False)
    try:
        flt = QueueFilter(status=ConversationStatus(args.status), me=ctx.agent_name)
        rows = queue.page(ctx, flt, 0, args.limit)
    finally:
        ctx.close()
    if args.json:
        _print_json(
            [
                {
                    "id": r.conversation_id,
                    "customer_id": r.customer_id,
                    "customer": r.customer_name,
                    "group": r.group.value,
                    "status": r.status.value,
                    "assignee": r.assignee,
                    "waiting_since": r.waiting_since.isoformat() if r.waiting_since else None,
                    "last_activity_at": r.last_activity_at.isoformat(),
                    "unread": r.unread_count,
                    "snippet": r.snippet,
                }
                for r in rows
            ]
        )
    else:
        from cs_console.sanitize import sanitize_line

        for r in rows:
            waiting = r.waiting_since.isoformat(timespec="seconds") if r.waiting_since else "-"
            print(
                f"{r.conversation_id}\t{r.group.value}\t{sanitize_line(r.customer_name)}\t"
                f"{waiting}\t{r.assignee or '-'}\t{sanitize_line(r.snippet)[:60]}"
            )
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    """Print a conversation's messages."""
    from cs_console.services import conversations

    ctx = _context(args, writer=False)
    try:
        rows = conversations.messages(ctx, args.conversation_id, limit=args.limit)
    finally:
        ctx.close()
    if args.json:
        _print_json(
            [
                {
                    "id": m.message_id,
                    "kind": m.kind.value,
                    "author": m.author,
                    "body": m.body,
                    "created_at": m.created_at.isoformat(),
                    "delivery": m.delivery.value,
                }
                for m in rows
            ]
        )
    else:
        from cs_console.sanitize import sanitize

        for m in rows:
            print(
                f"[{m.created_at.isoformat(timespec='seconds')}] {m.kind.value} "
                f"{sanitize(m.author)}"
                f" ({m.delivery.value}): {sanitize(m.body)}"
            )
    return 0


def cmd_orders(args: argparse.Namespace) -> int:
    """Print a customer's orders with their timelines."""
    from cs_console.services import orders

    ctx = _context(args, writer=False)
    try:
        rows = orders.for_customer(ctx, args.customer_id)
    finally:
        ctx.close()
    if args.json:
        _print_json(
            [
                {
                    "id": o.order_id,
                    "number": o.number,
                    "status": o.status.value,
                    "total_minor": o.total_minor,
                    "currency": o.currency,
                    "carrier": o.carrier,
                    "tracking_number": o.tracking_number,
                    "placed_at": o.placed_at.isoformat(),
                    "events": [
                        {"kind": e.kind.value, "at": e.at.isoformat(), "detail": e.detail}
                        for e in o.events
                    ],
                    "remarks": [
                        {
                            "flag": r.flag.value,
                            "text": r.text,
                            "author": r.author,
                            "created_at": r.created_at.isoformat(),
                        }
                        for r in o.remarks
                    ],
                }
                for o in rows
            ]
        )
    else:
        from cs_console.sanitize import sanitize_line

        for o in rows:
            print(
                f"{o.number}\t{o.status.value}\t{o.total_minor / 100:.2f} {o.currency}\t"
                f"{sanitize_line(o.carrier or '-')}\t{sanitize_line(o.tracking_number or '-')}"
            )
            for e in o.events:
                print(
                    f"    {e.at.isoformat(timespec='minutes')}  {e.kind.value}  "
                    f"{sanitize_line(e.detail)}"
                )
    return 0


def cmd_customers(args: argparse.Namespace) -> int:
    """Find customers, and link the records of one person kept in two systems."""
    from cs_console.sanitize import sanitize_line
    from cs_console.services import customers

    ctx = _context(args, writer=args.customers_command != "find")
    try:
        if args.customers_command == "find":
            for match in customers.find(ctx, args.text):
                print(
                    "\t".join(
                        sanitize_line(v or "-")
                        for v in (match.customer_id, match.name, match.email, match.phone)
                    )
                )
            return 0
        if args.customers_command == "same":
            for customer_id in customers.same_person(ctx, args.customer_id):
                print(customer_id)
            return 0
        if args.customers_command == "link":
            try:
                customers.link(ctx, args.customer_id, args.other_id)
            except customers.LinkError as exc:
                print(f"cs-console: {exc}", file=sys.stderr)
                return 1
            print(f"linked {args.customer_id} and {args.other_id}")
            return 0
        if not customers.unlink(ctx, args.customer_id, args.other_id):
            print(f"cs-console: {args.customer_id} and {args.other_id} were not linked by hand")
            return 1
        print(f"unlinked {args.customer_id} and {args.other_id}")
        return 0
    finally:
        ctx.close()


def cmd_reply(args: argparse.Namespace) -> int:
    """Queue a reply or note; the next sync sends it."""
    from cs_console.services import conversations

    ctx = _context(args)
    try:
        # Headless: nobody is there to look at new messages or to undo; send as written.
        outcome = conversations.send(
            ctx, args.conversation_id, args.text, note=args.note, force=True, undo_seconds=0.0
        )
    except conversations.ActionError as exc:
        print(f"not queued: {exc}", file=sys.stderr)
        return 2
    finally:
        ctx.close()
    assert isinstance(outcome, conversations.Queued)
    print(f"queued {outcome.message_id} (outbox key {outcome.entry.key})")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """Show what is still on its way."""
    from cs_console.services import conversations

    ctx = _context(args, writer=False)
    try:
        rows = conversations.outbox_entries(ctx)
    finally:
        ctx.close()
    if args.json:
        _print_json(
            [
                {
                    "seq": r.seq,
                    "key": r.key,
                    "kind": r.kind,
                    "conversation_id": r.conversation_id,
                    "created_at": r.created_at.isoformat(),
                    "attempts": r.attempts,
                    "state": r.state,
                    "last_error": r.last_error,
                }
                for r in rows
            ]
        )
    else:
        for r in rows:
            print(f"{r.seq}\t{r.kind}\t{r.state}\tattempts={r.attempts}\t{r.last_error or ''}")
        if not rows:
            print("outbox empty")
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    """Manage agents and tokens on a reference server database."""
    from cs_console.domain import Role
    from cs_console.server.run import database_url
    from cs_console.server.state import ServerState

    state = ServerState(database_url(args.db, args.home))
    try:
        if args.agents_command == "add":
            token = state.add_agent(args.name, Role(args.role), args.group)
            print(f"agent {args.name} ({args.role}) created; token (shown once):")
            print(token)
        elif args.agents_command == "list":
            for rec, revoked in state.list_agents():
                flag = " (revoked)" if revoked else ""
                print(
                    f"{rec.name}\t{rec.role.value}\t{rec.group.value if rec.group else '-'}{flag}"
                )
        elif args.agents_command == "revoke":
            if not state.revoke_agent(args.name):
                print(f"no agent named {args.name}", file=sys.stderr)
                return 2
            print(f"token of {args.name} revoked")
    finally:
        state.close()
    return 0


def cmd_replies(args: argparse.Namespace) -> int:
    """List, lint, export, import or publish quick replies."""
    from cs_console.services import replies

    if args.replies_command == "publish":
        from cs_console.server.run import database_url, publish_replies_dir
        from cs_console.server.state import ServerState

        state = ServerState(database_url(args.server_db, args.home))
        try:
            report = publish_replies_dir(state, Path(args.directory))
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 2
        finally:
            state.close()
        print(f"published {args.directory}: {report.summary()}")
        return 0
    settings = _settings(args)
    if args.replies_command == "lint":
        from cs_console.replies.lint import lint_dirs

        targets = [Path(p) for p in args.paths] or replies.library_dirs(settings)
        issues = lint_dirs([t for t in targets if t.exists() or args.paths])
        for issue in issues:
            print(issue)
        checked = ", ".join(str(t) for t in targets)
        print(f"{len(issues)} problem(s) in {checked}", file=sys.stderr)
        return 1 if issues else 0
    library, issues = replies.load(settings)
    for issue in issues:
        print(f"skipped: {issue}", file=sys.stderr)
    chosen = [
        r
        for r in library
        if (args.lang is None or r.language == args.lang)
        and (args.group is None or r.group == args.group)
    ]
    if args.replies_command == "list":
        from cs_console.sanitize import sanitize_line

        for r in chosen:
            hotkey = f" [{r.hotkey}]" if r.hotkey else ""
            print(f"{r.id}\t{r.audience}\t{sanitize_line(r.title)}{hotkey}")
        return 0
    if args.replies_command == "export":
        from cs_console.replies.transfer import export_replies

        sys.stdout.write(export_replies(chosen, args.format))
        return 0
    # import: write the files into the agent's own library, never over the shop's.
    from cs_console.replies.transfer import import_replies

    text = Path(args.file).read_text(encoding="utf-8-sig")
    try:
        files = import_replies(text, args.format)
    except ValueError as exc:
        print(f"not imported: {exc}", file=sys.stderr)
        return 2
    target = replies.user_library_dir(settings)
    for (language, group), toml_text in files.items():
        path = target / language / f"{group}.toml"
        if path.exists() and not args.force:
            print(f"not imported: {path} exists (use --force to replace it)", file=sys.stderr)
            return 2
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(toml_text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    """List or export the after-sales register."""
    from datetime import date

    from cs_console.services import cases

    since = date.fromisoformat(args.since) if getattr(args, "since", None) else None
    ctx = _context(args, writer=False)
    try:
        if args.cases_command == "export":
            sys.stdout.write(cases.export(ctx, since=since, fmt=args.format))
            return 0
        from cs_console.sanitize import sanitize_line

        for c in cases.register(ctx, since=since):
            print(
                f"{c.case_id}\t{c.status}\t{c.category}\t{sanitize_line(c.customer_name or '-')}"
                f"\t{sanitize_line(c.order_number or '-')}"
            )
    finally:
        ctx.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Figures for a shift, a day or a week."""
    from cs_console.services import reports

    ctx = _context(args, writer=False)
    try:
        if args.kind == "cases":
            print(reports.run_summary(ctx))
        else:
            print(
                reports.run_report(
                    ctx, args.kind, args.agent, args.format, target_s=args.target_minutes * 60
                )
            )
    except ValueError as exc:
        print(f"cs-console: {exc}", file=sys.stderr)
        return 2
    finally:
        ctx.close()
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Where the config lives, what it says, a commented template, or a check."""
    from cs_console import config_commands

    if args.config_command == "path":
        print(config_commands.config_path(args.home))
    elif args.config_command == "show":
        print(config_commands.show(args.home), end="")
    elif args.config_command == "init":
        try:
            path = config_commands.init(args.home, force=args.force)
        except FileExistsError as exc:
            print(f"cs-console: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {path}")
    else:
        problems = config_commands.validate(args.home)
        for problem in problems:
            print(problem)
        if problems:
            return 1
        print(f"{config_commands.config_path(args.home)}: ok")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Print the effective key bindings (after the config's [keymap])."""
    from cs_console.ui.keys import check_keymap, effective_keys

    keymap = _settings(args).keymap
    for area, binding_id, keys, description in effective_keys(keymap):
        marker = " *" if binding_id in keymap else ""
        print(f"{area:<20}{binding_id:<28}{keys:<18}{description}{marker}")
    problems = check_keymap(keymap)
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="cs-console",
        description="A keyboard-driven console for e-commerce customer service.",
    )
    parser.add_argument("--version", action="version", version=f"cs-console {__version__}")
    parser.add_argument(
        "--home",
        type=Path,
        default=None,
        help="folder for config and data (default: $CS_CONSOLE_HOME or the platform's data dir)",
    )
    _web_options(parser)
    parser.set_defaults(func=cmd_tui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def add(name: str, func: Command, help_text: str) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(func=func)
        return command

    _web_options(add("run", cmd_tui, "start the console (the default)"))
    add("doctor", cmd_doctor, "check config, store, backends and terminal; say what to fix")
    token_cmd = add("token", cmd_token, "keep your token in the OS keyring (set, clear)")
    token_sub = token_cmd.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    for name, text in (
        ("set", "store a token for the configured address (asked for, never shown)"),
        ("clear", "forget the stored token"),
    ):
        token_sub.add_parser(name, help=text).add_argument(
            "--orders", action="store_true", help="the order system's key instead"
        )
    demo = add("demo", cmd_demo, "start the demo shop and the console against it")
    _web_options(demo)
    demo.add_argument("--keep", action="store_true", help="keep the previous demo's data")
    demo.add_argument("--rate", type=float, default=8.0, help="seconds between simulated messages")
    demo.add_argument("--agent", default="Lan", help="which demo agent to be (Lan, Mei, Sofia)")

    serve = add("serve", cmd_serve, "run the reference shop server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--db", default=None, help="SQLAlchemy URL (default: sqlite file in --home)")
    serve.add_argument(
        "--demo", action="store_true", help="fill it with the demo shop and simulate customers"
    )
    serve.add_argument(
        "--tokens-file", type=Path, default=None, help="where --demo writes agent tokens"
    )
    serve.add_argument(
        "--rate", type=float, default=8.0, help="seconds between simulated messages (0: off)"
    )
    serve.add_argument(
        "--replies",
        type=Path,
        default=None,
        metavar="DIR",
        help="publish this quick-reply library (<lang>/<group>.toml) to every agent first",
    )

    sync = add("sync", cmd_sync, "sync with the backend")
    sync.add_argument(
        "--once", action="store_true", help="run one cycle and exit (the only mode for now)"
    )

    conversations = add("conversations", cmd_conversations, "list conversations in the local store")
    conversations.add_argument(
        "--status", default="open", choices=["open", "pending", "snoozed", "resolved"]
    )
    conversations.add_argument("--limit", type=int, default=100)
    conversations.add_argument("--json", action="store_true")

    messages = add("messages", cmd_messages, "print a conversation's messages")
    messages.add_argument("conversation_id")
    messages.add_argument("--limit", type=int, default=200)
    messages.add_argument("--json", action="store_true")

    orders = add("orders", cmd_orders, "print a customer's orders")
    orders.add_argument("customer_id")
    orders.add_argument("--json", action="store_true")

    customers_cmd = add(
        "customers", cmd_customers, "find customers; link one person's records in two systems"
    )
    customers_sub = customers_cmd.add_subparsers(
        dest="customers_command", required=True, metavar="ACTION"
    )
    customers_sub.add_parser("find", help="by name, email or phone").add_argument("text")
    customers_sub.add_parser("same", help="every record of one person").add_argument("customer_id")
    for name, text in (
        ("link", "these two records are one person (their orders show together)"),
        ("unlink", "undo a link made by hand"),
    ):
        sp = customers_sub.add_parser(name, help=text)
        sp.add_argument("customer_id")
        sp.add_argument("other_id")

    reply = add("reply", cmd_reply, "queue a reply (or --note) for the next sync")
    reply.add_argument("conversation_id")
    reply.add_argument("text")
    reply.add_argument(
        "--note", action="store_true", help="an internal note, not shown to the customer"
    )

    outbox = add("outbox", cmd_outbox, "show what is waiting to be sent")
    outbox.add_argument("--json", action="store_true")

    agents = add("agents", cmd_agents, "manage agents on a reference server database")
    agents.add_argument(
        "--db", default=None, help="SQLAlchemy URL (default: sqlite file in --home)"
    )
    agents_sub = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    agents_add = agents_sub.add_parser("add", help="create an agent and print its token once")
    agents_add.add_argument("name")
    agents_add.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    agents_add.add_argument("--group", choices=["pre-sale", "after-sale"], default=None)
    agents_add.add_argument("--db", default=argparse.SUPPRESS)
    agents_sub.add_parser("list", help="list agents").add_argument(
        "--db", default=argparse.SUPPRESS
    )
    agents_revoke = agents_sub.add_parser("revoke", help="revoke an agent's token")
    agents_revoke.add_argument("name")
    agents_revoke.add_argument("--db", default=argparse.SUPPRESS)

    replies_cmd = add(
        "replies", cmd_replies, "the quick-reply library: list, lint, export, import, publish"
    )
    replies_sub = replies_cmd.add_subparsers(
        dest="replies_command", required=True, metavar="ACTION"
    )
    for name, text in (("list", "list replies"), ("export", "export replies as CSV or JSON")):
        sp = replies_sub.add_parser(name, help=text)
        sp.add_argument("--lang", default=None, help="zh-CN, en, vi, es")
        sp.add_argument("--group", default=None)
        if name == "export":
            sp.add_argument("--format", choices=["csv", "json"], default="csv")
    lint = replies_sub.add_parser("lint", help="check library files; non-zero exit on problems")
    lint.add_argument("paths", nargs="*", help="folders or files (default: the shop's and yours)")
    imp = replies_sub.add_parser("import", help="import a CSV/JSON export into your own library")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["csv", "json"], default="csv")
    imp.add_argument("--force", action="store_true", help="replace existing files")
    publish = replies_sub.add_parser(
        "publish",
        help="make a folder of replies the shop's library on a reference server; "
        "agents get it at their next sync (replies missing from it are withdrawn)",
    )
    publish.add_argument("directory", help="library folder holding <lang>/<group>.toml")
    publish.add_argument(
        "--server-db", default=None, help="SQLAlchemy URL (default: sqlite file in --home)"
    )
    for sp in replies_sub.choices.values():
        sp.set_defaults(lang=None, group=None)

    cases_cmd = add("cases", cmd_cases, "the after-sales register")
    cases_sub = cases_cmd.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    cases_list = cases_sub.add_parser("list", help="list cases, newest change first")
    cases_list.add_argument("--since", default=None, help="YYYY-MM-DD")
    cases_export = cases_sub.add_parser(
        "export", help="every field, for a spreadsheet (CSV has a UTF-8 BOM)"
    )
    cases_export.add_argument("--since", default=None, help="YYYY-MM-DD")
    cases_export.add_argument("--format", choices=["csv", "json"], default="csv")

    config = add("config", cmd_config, "the config file: path, show, init, validate")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_sub.add_parser("path", help="where config.toml is read from")
    config_sub.add_parser("show", help="the effective config (secrets masked)")
    init = config_sub.add_parser("init", help="write a commented config.toml")
    init.add_argument(
        "--force", action="store_true", help="replace an existing file (kept as .bak)"
    )
    config_sub.add_parser("validate", help="check the config; non-zero exit on problems")
    add("keys", cmd_keys, "print the effective key bindings (* = remapped in [keymap])")

    report = add(
        "report", cmd_report, "figures for a shift, a day, a week, or the weekly case summary"
    )
    report.add_argument("kind", choices=["shift", "day", "week", "cases"])
    report.add_argument("--agent", default=None, help="one agent (default: everyone)")
    report.add_argument("--format", choices=["table", "csv", "json", "md"], default="table")
    report.add_argument("--target-minutes", type=float, default=3.0, help="answered-in-time target")
    return parser


def _web_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--web",
        action="store_true",
        default=argparse.SUPPRESS,
        help="serve the console to a browser on 127.0.0.1 instead (needs cs-console[web])",
    )
    parser.add_argument(
        "--web-port",
        type=int,
        default=argparse.SUPPRESS,
        help="the port for --web (default 8000)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cs-console`` script."""
    args = build_parser().parse_args(argv)
    if not hasattr(args, "web_port"):
        args.web_port = 8000
    from cs_console.settings import SettingsError

    try:
        result: int = args.func(args)
    except SettingsError as exc:
        print(f"cs-console: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `cs-console keys | head`: the reader left; that is not an error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        from cs_console.store.db import StoreError

        if isinstance(exc, StoreError):
            print(f"cs-console: {exc}", file=sys.stderr)
            return 2
        raise
    return result
