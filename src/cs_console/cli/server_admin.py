"""Running and administering the reference server: ``serve`` and ``agents``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cs_console.cli.common import CANNOT, Grammar
from cs_console.cli.output import row, say

if TYPE_CHECKING:
    from cs_console.server.state import ServerState


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
        config=args.config,
    )


def open_server_state(url: str) -> ServerState | None:
    """The reference server's state on ``url``, or None after saying why it cannot be
    opened (the folder is missing, the file is not a database)."""
    from sqlalchemy.exc import DBAPIError

    from cs_console.server.state import ServerState

    try:
        return ServerState(url)
    except DBAPIError as exc:
        say(f"cs-console: cannot open the server database {url}: {exc.orig}", err=True)
        return None


def cmd_agents(args: argparse.Namespace) -> int:
    """Manage agents and tokens on a reference server database."""
    from cs_console.server.errors import OperationError
    from cs_console.server.run import database_url

    state = open_server_state(database_url(args.db, args.home))
    if state is None:
        return CANNOT
    try:
        return _agents_action(state, args)
    except OperationError as exc:
        say(f"cs-console: {exc}", err=True)
        return CANNOT
    finally:
        state.close()


def _agents_action(state: ServerState, args: argparse.Namespace) -> int:
    from cs_console.domain import Group, Role
    from cs_console.server.agents import Keep

    command = args.agents_command
    if command == "add":
        token = state.add_agent(args.name, Role(args.role), args.group)
        say(f"agent {args.name} ({args.role}) created; token (shown once):")
        say(token)
    elif command == "list":
        for rec, revoked in state.list_agents():
            flag = " (revoked)" if revoked else ""
            row(
                rec.name,
                rec.role.value,
                f"{rec.group.value if rec.group else '-'}{flag}",
                rec.presence.value,
                f"capacity {rec.capacity}",
                f"weight {rec.weight}",
            )
    elif command == "routing":
        capacity, weight = state.set_agent_capacity(
            args.name, capacity=args.capacity, weight=args.weight
        )
        say(f"{args.name} takes at most {capacity} open conversations, routing weight {weight}")
    elif command == "revoke":
        if not state.revoke_agent(args.name):
            say(f"no agent named {args.name}", err=True)
            return CANNOT
        say(f"token of {args.name} revoked")
    elif command in ("rotate", "enable"):
        act = state.rotate_token if command == "rotate" else state.enable_agent
        token = act(args.name)
        done = "has a new token" if command == "rotate" else "is enabled again, with a new token"
        say(f"{args.name} {done} (shown once; the old one no longer works):")
        say(token)
    elif command == "role":
        group: Group | Keep | None = Keep.KEEP
        if args.group is not None:
            group = None if args.group == "none" else Group(args.group)
        rec = state.set_agent_role(args.name, Role(args.role), group=group)
        say(f"{rec.name} is now {rec.role.value} ({rec.group.value if rec.group else 'no desk'})")
    elif command == "audit":
        for entry in state.agent_audit(args.name):
            row(
                entry.at.isoformat(timespec="seconds"),
                entry.actor,
                entry.agent_name,
                entry.action,
                entry.detail,
            )
    return 0


def register(grammar: Grammar) -> None:
    """Add ``serve`` and ``agents``."""
    serve = grammar.add("serve", cmd_serve, "run the reference shop server")
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
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="the server's settings: hours, widget, mailbox (default: server.toml in --home)",
    )
    serve.add_argument(
        "--replies",
        type=Path,
        default=None,
        metavar="DIR",
        help="publish this quick-reply library (<lang>/<group>.toml) to every agent first",
    )

    agents = grammar.add("agents", cmd_agents, "manage agents on a reference server database")
    agents.add_argument(
        "--db", default=None, help="SQLAlchemy URL (default: sqlite file in --home)"
    )
    actions = agents.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    home_only = [grammar.home_only]
    add = actions.add_parser(
        "add", help="create an agent and print its token once", parents=home_only
    )
    add.add_argument("name")
    add.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    add.add_argument("--group", choices=["pre-sale", "after-sale"], default=None)
    add.add_argument("--db", default=argparse.SUPPRESS)
    actions.add_parser("list", help="list agents", parents=home_only).add_argument(
        "--db", default=argparse.SUPPRESS
    )
    revoke = actions.add_parser("revoke", help="revoke an agent's token", parents=home_only)
    revoke.add_argument("name")
    revoke.add_argument("--db", default=argparse.SUPPRESS)
    for action, text in (
        ("rotate", "give an agent a new token (printed once); the old one stops working"),
        ("enable", "turn a revoked agent back on, with a new token printed once"),
    ):
        account = actions.add_parser(action, help=text, parents=home_only)
        account.add_argument("name")
        account.add_argument("--db", default=argparse.SUPPRESS)
    role = actions.add_parser(
        "role", help="change an agent's role (and desk); recorded", parents=home_only
    )
    role.add_argument("name")
    role.add_argument("--role", choices=["agent", "supervisor"], required=True)
    role.add_argument(
        "--group", choices=["pre-sale", "after-sale", "none"], default=None, help="the desk"
    )
    role.add_argument("--db", default=argparse.SUPPRESS)
    routing = actions.add_parser(
        "routing",
        help="set how many open conversations an agent is assigned at most, and their "
        "share of new ones (weighted round robin); recorded",
        parents=home_only,
    )
    routing.add_argument("name")
    routing.add_argument("--capacity", type=int, default=None, help="open conversations at most")
    routing.add_argument(
        "--weight", type=int, default=None, help="share of new conversations (0: none)"
    )
    routing.add_argument("--db", default=argparse.SUPPRESS)
    audit = actions.add_parser(
        "audit", help="every change to agent accounts, oldest first", parents=home_only
    )
    audit.add_argument("name", nargs="?", default=None)
    audit.add_argument("--db", default=argparse.SUPPRESS)
