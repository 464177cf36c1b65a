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
from typing import TYPE_CHECKING, Any

from cs_console import __version__

if TYPE_CHECKING:
    from datetime import date

    from cs_console.services.context import SessionKind

Command = Callable[[argparse.Namespace], int]

#: Exit codes: 1 when what was asked for is not there (or a check failed), 2 when the
#: command could not run (bad input, unreadable file, a store or backend problem).
NOT_FOUND = 1
CANNOT = 2


def _settings(args: argparse.Namespace) -> Any:
    if getattr(args, "demo", False):
        from cs_console.ui.launch import demo_agent, demo_home, demo_settings

        demo = demo_home(args.home)
        return demo_settings(args.home, demo.last_agent() or demo_agent(args.home, None))
    from cs_console.settings import load_settings

    return load_settings(home=args.home)


def _context(
    args: argparse.Namespace, *, writer: bool = False, session: SessionKind | None = None
) -> Any:
    """The store for a command. The command line holds no session unless asked, so it
    reads and queues beside a running console."""
    from cs_console.services.context import open_context

    return open_context(_settings(args), writer=writer, session=session)


# --- output: whatever came from a customer or a backend is shown, never obeyed ----------


def _say(text: object = "", *, err: bool = False) -> None:
    """Print text for a person; control characters are made visible, never sent raw."""
    from cs_console.sanitize import sanitize

    print(sanitize(str(text)), file=sys.stderr if err else sys.stdout)


def _row(*fields: object) -> None:
    """Print one tab-separated row; each field folded onto one line and sanitised, so
    no value can break the columns or reach the terminal as an escape sequence."""
    from cs_console.sanitize import sanitize_line

    print("\t".join(sanitize_line(str(field)) for field in fields))


def _print_json(value: Any) -> None:
    print(_terminal_safe_json(json.dumps(value, ensure_ascii=False, indent=2, default=str)))


def _terminal_safe_json(text: str) -> str:
    """JSON with every character the sanitiser would change written as a ``\\u`` escape:
    the same JSON to a program, and nothing a terminal acts on (json.dumps escapes C0
    controls by itself, but not C1 controls or bidi overrides)."""
    from cs_console.sanitize import sanitize

    if sanitize(text) == text:
        return text
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in "\n\t" or sanitize(char) == char:
            out.append(char)
        elif code > 0xFFFF:  # JSON spells these as a UTF-16 surrogate pair
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
        else:
            out.append(f"\\u{code:04x}")
    return "".join(out)


def _read_text_file(path: Path) -> str | None:
    """A UTF-8 text file's contents, or None after saying on stderr, in one line, why
    it cannot be read (missing, a folder, not UTF-8, no permission)."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        _say(f"cs-console: {path} is a folder; give the file itself", err=True)
        return None
    except OSError as exc:
        _say(f"cs-console: cannot read {path}: {exc.strerror}", err=True)
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _say(
            f"cs-console: {path} is not UTF-8 text (byte {exc.start + 1} is not); "
            "save it as UTF-8 and try again",
            err=True,
        )
        return None


def _iso_date(value: str) -> date:
    """``--since``: a YYYY-MM-DD date, or argparse's usage error (no traceback)."""
    from datetime import date

    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from None


def cmd_tui(args: argparse.Namespace) -> int:
    """Start the console against the configured backend."""
    if getattr(args, "web", False):
        return _serve_web(args, ["run"])
    from cs_console.ui.launch import run_console

    return run_console(_settings(args))


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
                _say(f"cs-console demo: {note}", err=True)
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
        _say(f"cs-console: set {what} first: the token is kept per address", err=True)
        return 2
    try:
        if args.token_command == "clear":  # noqa: S105 (an action name, not a secret)
            removed = keystore.forget(url)
            _say(f"removed the token for {url}" if removed else f"no token kept for {url}")
            return 0
        if sys.stdin.isatty():
            import getpass

            value = getpass.getpass(f"token for {url} (not shown): ")
        else:
            value = sys.stdin.readline()
        value = value.strip()
        if not value:
            _say("cs-console: no token given; nothing stored", err=True)
            return 1
        where = keystore.store(url, Secret(value))
    except keystore.KeyringUnavailable as exc:
        _say(f"cs-console: {exc}", err=True)
        return 1
    _say(f"stored the token for {url} in the OS keyring ({where})")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check config, store, backends and terminal; say what to fix."""
    from cs_console.sanitize import sanitize_line
    from cs_console.services.doctor import Verdict, run_checks

    marks = {Verdict.OK: "ok  ", Verdict.WARN: "warn", Verdict.FAIL: "FAIL"}
    worst = Verdict.OK
    for check in run_checks(args.home):
        # Details quote backends' own error messages: never raw to the terminal.
        _say(f"[{marks[check.verdict]}] {check.name:<14}{sanitize_line(check.detail)}")
        if check.fix:
            _say(f"{'':22}-> {sanitize_line(check.fix)}")
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
    from cs_console.services.context import StoreInUse
    from cs_console.sync.engine import SyncStopped

    try:
        # The session: two sync loops on one store would push the same outbox rows.
        ctx = _context(args, writer=True, session="sync")
    except StoreInUse as exc:
        if exc.holder.kind != "console":
            raise
        return _console_syncs(args, exc.holder.pid)
    if args.demo:
        ctx.close()
        _say(
            "cs-console: the demo shop runs only while `cs-console demo` does; its console "
            "sends what is queued when it next starts",
            err=True,
        )
        return CANNOT
    try:
        engine = sync.make_engine(ctx)
        try:
            report = engine.run_once()
        except (BackendError, SyncStopped) as exc:
            _say(f"sync failed: {sanitize_line(str(exc))}", err=True)
            return CANNOT
        finally:
            engine.backend.close()
        status = engine.status()
        _say(
            f"pushed {report.pushed}, refused {report.refused}, pulled {report.pulled} records "
            f"in {report.pages} pages; outbox {status.outbox_depth}"
        )
        for error in report.errors:
            _say(f"  refused: {sanitize_line(error)}")
        return 0
    finally:
        ctx.close()


def _console_syncs(args: argparse.Namespace, pid: str) -> int:
    """A console is running on the store: it syncs; say so rather than sync beside it."""
    from cs_console.services import conversations

    ctx = _context(args)
    try:
        # Failed entries wait for the agent (F5), not for a sync.
        waiting = sum(r.state == "pending" for r in conversations.outbox_entries(ctx))
        every = ctx.settings.sync_interval_s
    finally:
        ctx.close()
    _say(
        f"not synced here: the console (pid {pid}) is running on this store and syncs it "
        f"every {every:g} s; it sends the {waiting} operation(s) waiting in the outbox"
    )
    return 0


def cmd_conversations(args: argparse.Namespace) -> int:
    """List conversations from the local store."""
    from cs_console.domain import ConversationStatus
    from cs_console.services import queue
    from cs_console.views import QueueFilter

    ctx = _context(args)
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
            _row(
                r.conversation_id,
                r.group.value,
                r.customer_name,
                waiting,
                r.assignee or "-",
                sanitize_line(r.snippet)[:60],
            )
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    """Print a conversation's messages."""
    from cs_console.services import conversations

    ctx = _context(args)
    try:
        known = conversations.info(ctx, args.conversation_id) is not None
        rows = conversations.messages(ctx, args.conversation_id, limit=args.limit)
    finally:
        ctx.close()
    if not known:
        _say(
            f"cs-console: no conversation {args.conversation_id!r} in this store "
            "(`cs-console conversations` lists them; a new one arrives with the next sync)",
            err=True,
        )
        return NOT_FOUND
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
        from cs_console.sanitize import sanitize_line

        for m in rows:
            # The body keeps its lines; the author is one line, so no body can pose as one.
            _say(
                f"[{m.created_at.isoformat(timespec='seconds')}] {m.kind.value} "
                f"{sanitize_line(m.author)} ({m.delivery.value}): {m.body}"
            )
    return 0


def cmd_orders(args: argparse.Namespace) -> int:
    """Print a customer's orders with their timelines."""
    from cs_console.services import customers, orders

    ctx = _context(args)
    try:
        known = customers.exists(ctx, args.customer_id)
        rows = orders.for_customer(ctx, args.customer_id)
    finally:
        ctx.close()
    if not known:
        _say(
            f"cs-console: no customer {args.customer_id!r} in this store "
            "(`cs-console customers find TEXT` looks one up by name, email or phone)",
            err=True,
        )
        return NOT_FOUND
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
            _row(
                o.number,
                o.status.value,
                f"{o.total_minor / 100:.2f} {o.currency}",
                o.carrier or "-",
                o.tracking_number or "-",
            )
            for e in o.events:
                _say(
                    f"    {e.at.isoformat(timespec='minutes')}  {e.kind.value}  "
                    f"{sanitize_line(e.detail)}"
                )
        if not rows:
            _say(f"no orders for {args.customer_id}", err=True)
    return 0


def cmd_customers(args: argparse.Namespace) -> int:
    """Find customers, and link the records of one person kept in two systems."""
    from cs_console.services import customers

    ctx = _context(args, writer=args.customers_command in ("link", "unlink"))
    try:
        if args.customers_command == "find":
            for match in customers.find(ctx, args.text):
                _row(*(v or "-" for v in (match.customer_id, match.name, match.email, match.phone)))
            return 0
        if args.customers_command == "same":
            for customer_id in customers.same_person(ctx, args.customer_id):
                _row(customer_id)
            return 0
        if args.customers_command == "link":
            try:
                customers.link(ctx, args.customer_id, args.other_id)
            except customers.LinkError as exc:
                _say(f"cs-console: {exc}", err=True)
                return NOT_FOUND
            _say(f"linked {args.customer_id} and {args.other_id}")
            return 0
        if not customers.unlink(ctx, args.customer_id, args.other_id):
            _say(
                f"cs-console: {args.customer_id} and {args.other_id} were not linked by hand",
                err=True,
            )
            return NOT_FOUND
        _say(f"unlinked {args.customer_id} and {args.other_id}")
        return 0
    finally:
        ctx.close()


def cmd_reply(args: argparse.Namespace) -> int:
    """Queue a reply or note; the next sync sends it."""
    from cs_console.services import conversations

    # No session: the reply is queued beside a running console, whose sync sends it.
    ctx = _context(args, writer=True)
    try:
        # Headless: nobody is there to look at new messages or to undo; send as written.
        outcome = conversations.send(
            ctx, args.conversation_id, args.text, note=args.note, force=True, undo_seconds=0.0
        )
    except conversations.ActionError as exc:
        _say(f"not queued: {exc}", err=True)
        return CANNOT
    finally:
        ctx.close()
    assert isinstance(outcome, conversations.Queued)
    _say(f"queued {outcome.message_id} (outbox key {outcome.entry.key})")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """Show what is still on its way."""
    from cs_console.services import conversations

    ctx = _context(args)
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
            # last_error quotes the backend (a Vendure errorCode, say): never raw.
            _row(r.seq, r.kind, r.state, f"attempts={r.attempts}", r.last_error or "")
        if not rows:
            _say("outbox empty")
    return 0


def cmd_agents(args: argparse.Namespace) -> int:
    """Manage agents and tokens on a reference server database."""
    from cs_console.server.errors import OperationError
    from cs_console.server.run import database_url

    state = _server_state(database_url(args.db, args.home))
    if state is None:
        return CANNOT
    try:
        return _agents_action(state, args)
    except OperationError as exc:
        _say(f"cs-console: {exc}", err=True)
        return CANNOT
    finally:
        state.close()


def _agents_action(state: Any, args: argparse.Namespace) -> int:
    from cs_console.domain import Group, Role
    from cs_console.server.agents import Keep

    command = args.agents_command
    if command == "add":
        token = state.add_agent(args.name, Role(args.role), args.group)
        _say(f"agent {args.name} ({args.role}) created; token (shown once):")
        _say(token)
    elif command == "list":
        for rec, revoked in state.list_agents():
            flag = " (revoked)" if revoked else ""
            _row(rec.name, rec.role.value, f"{rec.group.value if rec.group else '-'}{flag}")
    elif command == "revoke":
        if not state.revoke_agent(args.name):
            _say(f"no agent named {args.name}", err=True)
            return CANNOT
        _say(f"token of {args.name} revoked")
    elif command in ("rotate", "enable"):
        act = state.rotate_token if command == "rotate" else state.enable_agent
        token = act(args.name)
        done = "has a new token" if command == "rotate" else "is enabled again, with a new token"
        _say(f"{args.name} {done} (shown once; the old one no longer works):")
        _say(token)
    elif command == "role":
        group: Group | Keep | None = Keep.KEEP
        if args.group is not None:
            group = None if args.group == "none" else Group(args.group)
        rec = state.set_agent_role(args.name, Role(args.role), group=group)
        _say(f"{rec.name} is now {rec.role.value} ({rec.group.value if rec.group else 'no desk'})")
    elif command == "audit":
        for entry in state.agent_audit(args.name):
            _row(
                entry.at.isoformat(timespec="seconds"),
                entry.actor,
                entry.agent_name,
                entry.action,
                entry.detail,
            )
    return 0


def _server_state(url: str) -> Any:
    """The reference server's state on ``url``, or None after saying why it cannot be
    opened (the folder is missing, the file is not a database)."""
    from sqlalchemy.exc import DBAPIError

    from cs_console.server.state import ServerState

    try:
        return ServerState(url)
    except DBAPIError as exc:
        _say(f"cs-console: cannot open the server database {url}: {exc.orig}", err=True)
        return None


def cmd_replies(args: argparse.Namespace) -> int:
    """List, lint, export, import or publish quick replies."""
    from cs_console.services import replies

    if args.replies_command == "publish":
        from cs_console.server.run import database_url, publish_replies_dir

        state = _server_state(database_url(args.server_db, args.home))
        if state is None:
            return CANNOT
        try:
            report = publish_replies_dir(state, Path(args.directory))
        except ValueError as exc:
            _say(exc, err=True)
            return CANNOT
        finally:
            state.close()
        _say(f"published {args.directory}: {report.summary()}")
        return 0
    settings = _settings(args)
    if args.replies_command == "lint":
        from cs_console.replies.lint import lint_dirs

        targets = [Path(p) for p in args.paths] or replies.library_dirs(settings)
        issues = lint_dirs([t for t in targets if t.exists() or args.paths])
        for issue in issues:
            _say(issue)
        checked = ", ".join(str(t) for t in targets)
        _say(f"{len(issues)} problem(s) in {checked}", err=True)
        return 1 if issues else 0
    if args.replies_command == "import":
        return _import_replies(args, settings)
    library, issues = replies.load(settings)
    for issue in issues:
        _say(f"skipped: {issue}", err=True)
    chosen = [
        r
        for r in library
        if (args.lang is None or r.language == args.lang)
        and (args.group is None or r.group == args.group)
    ]
    if args.replies_command == "list":
        for r in chosen:
            hotkey = f" [{r.hotkey}]" if r.hotkey else ""
            _row(r.id, r.audience, f"{r.title}{hotkey}")
        return 0
    from cs_console.replies.transfer import export_replies

    try:
        exported = export_replies(chosen, args.format)
    except ValueError as exc:
        _say(f"not exported: {exc}", err=True)
        return CANNOT
    # Written as the exporter made it: a file format, which it keeps free of controls.
    sys.stdout.write(exported)
    return 0


def _import_replies(args: argparse.Namespace, settings: Any) -> int:
    """Write an export's replies into the agent's own library, never over the shop's."""
    from cs_console.replies.transfer import import_replies
    from cs_console.services import replies

    source = Path(args.file)
    text = _read_text_file(source)
    if text is None:
        return CANNOT
    try:
        files = import_replies(text, args.format)
    except ValueError as exc:
        _say(f"not imported: {source}: {exc}", err=True)
        return CANNOT
    target = replies.user_library_dir(settings)
    for (language, group), toml_text in files.items():
        path = target / language / f"{group}.toml"
        if path.exists() and not args.force:
            _say(f"not imported: {path} exists (use --force to replace it)", err=True)
            return CANNOT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(toml_text, encoding="utf-8")
        _say(f"wrote {path}")
    return 0


def cmd_cases(args: argparse.Namespace) -> int:
    """List or export the after-sales register."""
    from cs_console.services import cases

    since = getattr(args, "since", None)
    ctx = _context(args)
    try:
        if args.cases_command == "export":
            sys.stdout.write(cases.export(ctx, since=since, fmt=args.format))
            return 0
        for c in cases.register(ctx, since=since):
            _row(c.case_id, c.status, c.category, c.customer_name or "-", c.order_number or "-")
    finally:
        ctx.close()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Figures for a shift, a day or a week."""
    from cs_console.services import reports

    ctx = _context(args)
    try:
        if args.kind == "cases":
            _say(reports.run_summary(ctx))
        else:
            text = reports.run_report(
                ctx, args.kind, args.agent, args.format, target_s=args.target_minutes * 60
            )
            # Agent names come from the backend; JSON keeps them exact, as escapes.
            if args.format == "json":
                print(_terminal_safe_json(text))
            else:
                _say(text)
    except ValueError as exc:
        _say(f"cs-console: {exc}", err=True)
        return CANNOT
    finally:
        ctx.close()
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Where the config lives, what it says, a commented template, or a check."""
    from cs_console import config_commands

    if args.config_command == "path":
        _say(config_commands.config_path(args.home))
    elif args.config_command == "show":
        _say(config_commands.show(args.home).rstrip("\n"))
    elif args.config_command == "init":
        try:
            path = config_commands.init(args.home, force=args.force)
        except FileExistsError as exc:
            _say(f"cs-console: {exc}", err=True)
            return CANNOT
        _say(f"wrote {path}")
    else:
        problems = config_commands.validate(args.home)
        for problem in problems:
            _say(problem)
        if problems:
            return 1
        _say(f"{config_commands.config_path(args.home)}: ok")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    """Print the effective key bindings (after the config's [keymap])."""
    from cs_console.ui.keys import check_keymap, effective_keys

    keymap = _settings(args).keymap
    for area, binding_id, keys, description in effective_keys(keymap):
        marker = " *" if binding_id in keymap else ""
        _say(f"{area:<20}{binding_id:<28}{keys:<18}{description}{marker}")
    problems = check_keymap(keymap)
    for problem in problems:
        _say(f"problem: {problem}", err=True)
    return 1 if problems else 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="cs-console",
        description="A keyboard-driven console for e-commerce customer service.",
        epilog=(
            "--home may also come after the command (cs-console conversations --home DIR). "
            "Commands that read or queue in the store take --demo for the store of "
            "`cs-console demo`, and work while a console runs on the same store."
        ),
    )
    parser.add_argument("--version", action="version", version=f"cs-console {__version__}")
    parser.add_argument("--home", type=Path, default=None, help=_HOME_HELP)
    _web_options(parser)
    parser.set_defaults(func=cmd_tui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    # Repeated on every command, so that --home may come after it too. SUPPRESS: not
    # given there, it leaves the value given before the command alone.
    home_only = argparse.ArgumentParser(add_help=False)
    home_only.add_argument("--home", type=Path, default=argparse.SUPPRESS, help=_HOME_HELP)
    store = argparse.ArgumentParser(add_help=False, parents=[home_only])
    store.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="use the store of `cs-console demo` (<home>/demo/client), with your config",
    )

    def add(
        name: str,
        func: Command,
        help_text: str,
        *,
        on_store: bool = False,
        description: str | None = None,
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            parents=[store if on_store else home_only],
        )
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
        token_sub.add_parser(name, help=text, parents=[home_only]).add_argument(
            "--orders", action="store_true", help="the order system's key instead"
        )
    demo = add(
        "demo",
        cmd_demo,
        "start the demo shop and the console against it (kept between runs; --fresh)",
        description="Start the demo shop and the console against it, with your config's "
        "language, theme and keys. Its shop and store live in <home>/demo and are kept "
        "from one run to the next (--fresh starts over); the command line reaches its "
        "store with --demo, e.g. cs-console conversations --demo.",
    )
    _web_options(demo)
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

    sync = add(
        "sync",
        cmd_sync,
        "sync with the backend (while a console runs on the store, it syncs, not this)",
        on_store=True,
    )
    sync.add_argument(
        "--once", action="store_true", help="run one cycle and exit (the only mode for now)"
    )

    conversations = add(
        "conversations", cmd_conversations, "list conversations in the local store", on_store=True
    )
    conversations.add_argument(
        "--status", default="open", choices=["open", "pending", "snoozed", "resolved"]
    )
    conversations.add_argument("--limit", type=int, default=100)
    conversations.add_argument("--json", action="store_true")

    messages = add("messages", cmd_messages, "print a conversation's messages", on_store=True)
    messages.add_argument("conversation_id")
    messages.add_argument("--limit", type=int, default=200)
    messages.add_argument("--json", action="store_true")

    orders = add("orders", cmd_orders, "print a customer's orders", on_store=True)
    orders.add_argument("customer_id")
    orders.add_argument("--json", action="store_true")

    customers_cmd = add(
        "customers",
        cmd_customers,
        "find customers; link one person's records in two systems",
        on_store=True,
    )
    customers_sub = customers_cmd.add_subparsers(
        dest="customers_command", required=True, metavar="ACTION"
    )
    customers_sub.add_parser("find", help="by name, email or phone", parents=[store]).add_argument(
        "text"
    )
    customers_sub.add_parser(
        "same", help="every record of one person", parents=[store]
    ).add_argument("customer_id")
    for name, text in (
        ("link", "these two records are one person (their orders show together)"),
        ("unlink", "undo a link made by hand"),
    ):
        sp = customers_sub.add_parser(name, help=text, parents=[store])
        sp.add_argument("customer_id")
        sp.add_argument("other_id")

    reply = add(
        "reply",
        cmd_reply,
        "queue a reply (or --note) for the next sync (a running console's, or cs-console sync)",
        on_store=True,
    )
    reply.add_argument("conversation_id")
    reply.add_argument("text")
    reply.add_argument(
        "--note", action="store_true", help="an internal note, not shown to the customer"
    )

    outbox = add("outbox", cmd_outbox, "show what is waiting to be sent", on_store=True)
    outbox.add_argument("--json", action="store_true")

    agents = add("agents", cmd_agents, "manage agents on a reference server database")
    agents.add_argument(
        "--db", default=None, help="SQLAlchemy URL (default: sqlite file in --home)"
    )
    agents_sub = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    agents_add = agents_sub.add_parser(
        "add", help="create an agent and print its token once", parents=[home_only]
    )
    agents_add.add_argument("name")
    agents_add.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    agents_add.add_argument("--group", choices=["pre-sale", "after-sale"], default=None)
    agents_add.add_argument("--db", default=argparse.SUPPRESS)
    agents_sub.add_parser("list", help="list agents", parents=[home_only]).add_argument(
        "--db", default=argparse.SUPPRESS
    )
    agents_revoke = agents_sub.add_parser(
        "revoke", help="revoke an agent's token", parents=[home_only]
    )
    agents_revoke.add_argument("name")
    agents_revoke.add_argument("--db", default=argparse.SUPPRESS)
    for action, text in (
        ("rotate", "give an agent a new token (printed once); the old one stops working"),
        ("enable", "turn a revoked agent back on, with a new token printed once"),
    ):
        account = agents_sub.add_parser(action, help=text, parents=[home_only])
        account.add_argument("name")
        account.add_argument("--db", default=argparse.SUPPRESS)
    agents_role = agents_sub.add_parser(
        "role", help="change an agent's role (and desk); recorded", parents=[home_only]
    )
    agents_role.add_argument("name")
    agents_role.add_argument("--role", choices=["agent", "supervisor"], required=True)
    agents_role.add_argument(
        "--group", choices=["pre-sale", "after-sale", "none"], default=None, help="the desk"
    )
    agents_role.add_argument("--db", default=argparse.SUPPRESS)
    agents_audit = agents_sub.add_parser(
        "audit", help="every change to agent accounts, oldest first", parents=[home_only]
    )
    agents_audit.add_argument("name", nargs="?", default=None)
    agents_audit.add_argument("--db", default=argparse.SUPPRESS)

    replies_cmd = add(
        "replies", cmd_replies, "the quick-reply library: list, lint, export, import, publish"
    )
    replies_sub = replies_cmd.add_subparsers(
        dest="replies_command", required=True, metavar="ACTION"
    )
    for name, text in (("list", "list replies"), ("export", "export replies as CSV or JSON")):
        sp = replies_sub.add_parser(name, help=text, parents=[home_only])
        sp.add_argument("--lang", default=None, help="zh-CN, en, vi, es")
        sp.add_argument("--group", default=None)
        if name == "export":
            sp.add_argument("--format", choices=["csv", "json"], default="csv")
    lint = replies_sub.add_parser(
        "lint", help="check library files; non-zero exit on problems", parents=[home_only]
    )
    lint.add_argument("paths", nargs="*", help="folders or files (default: the shop's and yours)")
    imp = replies_sub.add_parser(
        "import", help="import a CSV/JSON export into your own library", parents=[home_only]
    )
    imp.add_argument("file")
    imp.add_argument("--format", choices=["csv", "json"], default="csv")
    imp.add_argument("--force", action="store_true", help="replace existing files")
    publish = replies_sub.add_parser(
        "publish",
        help="make a folder of replies the shop's library on a reference server; "
        "agents get it at their next sync (replies missing from it are withdrawn)",
        parents=[home_only],
    )
    publish.add_argument("directory", help="library folder holding <lang>/<group>.toml")
    publish.add_argument(
        "--server-db", default=None, help="SQLAlchemy URL (default: sqlite file in --home)"
    )
    for sp in replies_sub.choices.values():
        sp.set_defaults(lang=None, group=None)

    cases_cmd = add("cases", cmd_cases, "the after-sales register", on_store=True)
    cases_sub = cases_cmd.add_subparsers(dest="cases_command", required=True, metavar="ACTION")
    cases_list = cases_sub.add_parser(
        "list", help="list cases, newest change first", parents=[store]
    )
    cases_list.add_argument("--since", type=_iso_date, default=None, help="YYYY-MM-DD")
    cases_export = cases_sub.add_parser(
        "export", help="every field, for a spreadsheet (CSV has a UTF-8 BOM)", parents=[store]
    )
    cases_export.add_argument("--since", type=_iso_date, default=None, help="YYYY-MM-DD")
    cases_export.add_argument("--format", choices=["csv", "json"], default="csv")

    config = add("config", cmd_config, "the config file: path, show, init, validate")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_sub.add_parser("path", help="where config.toml is read from", parents=[home_only])
    config_sub.add_parser("show", help="the effective config (secrets masked)", parents=[home_only])
    init = config_sub.add_parser("init", help="write a commented config.toml", parents=[home_only])
    init.add_argument(
        "--force", action="store_true", help="replace an existing file (kept as .bak)"
    )
    config_sub.add_parser(
        "validate", help="check the config; non-zero exit on problems", parents=[home_only]
    )
    add("keys", cmd_keys, "print the effective key bindings (* = remapped in [keymap])")

    report = add(
        "report",
        cmd_report,
        "figures for a shift, a day, a week, or the weekly case summary",
        on_store=True,
    )
    report.add_argument("kind", choices=["shift", "day", "week", "cases"])
    report.add_argument("--agent", default=None, help="one agent (default: everyone)")
    report.add_argument("--format", choices=["table", "csv", "json", "md"], default="table")
    report.add_argument("--target-minutes", type=float, default=3.0, help="answered-in-time target")
    return parser


_HOME_HELP = (
    "folder for config and data (default: $CS_CONSOLE_HOME, else the platform's config "
    "and data folders); before or after the command"
)


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
    if not hasattr(args, "demo"):
        args.demo = False
    from cs_console.settings import SettingsError

    try:
        result: int = args.func(args)
    except SettingsError as exc:
        _say(f"cs-console: {exc}", err=True)
        return CANNOT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `cs-console keys | head`: the reader left; that is not an error.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        # A folder that cannot be made, a file that cannot be written: one line, no trace.
        where = f" ({exc.filename})" if exc.filename else ""
        _say(f"cs-console: {exc.strerror or exc}{where}", err=True)
        return CANNOT
    except UnicodeDecodeError as exc:
        _say(
            f"cs-console: a file it had to read is not UTF-8 text ({exc.reason} at byte "
            f"{exc.start + 1}); save it as UTF-8 and try again",
            err=True,
        )
        return CANNOT
    except Exception as exc:
        from cs_console.store.db import StoreError

        if isinstance(exc, StoreError):
            _say(f"cs-console: {exc}", err=True)
            return CANNOT
        raise
    return result
