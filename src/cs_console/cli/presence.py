"""``cs-console presence online|away|offline``: say whether the server may assign you
new conversations, without opening the console."""

from __future__ import annotations

import argparse

from cs_console.cli.common import CANNOT, Grammar, open_store
from cs_console.cli.output import say

PRESENCES = ("online", "away", "offline")


def cmd_presence(args: argparse.Namespace) -> int:
    """Queue the presence for the backend (sent with the next sync)."""
    from cs_console.services import presence
    from cs_console.services.context import StoreError

    # No session: queued beside a running console, whose sync sends it (as `reply`).
    ctx = open_store(args, writer=args.presence is not None)
    try:
        if args.presence is None:
            say(presence.current(ctx))
            return 0
        try:
            presence.set_presence(ctx, args.presence)
        except (presence.PresenceError, StoreError) as exc:
            say(f"cs-console: {exc}", err=True)
            return CANNOT
        say(f"{ctx.agent_name}: {args.presence} (sent with the next sync)")
        return 0
    finally:
        ctx.close()


def register(grammar: Grammar) -> None:
    """Add ``presence``."""
    command = grammar.add(
        "presence",
        cmd_presence,
        "show or set your presence: online takes new conversations, away keeps yours, "
        "offline gives them back after a grace period",
    )
    command.add_argument("presence", nargs="?", choices=PRESENCES, default=None)
