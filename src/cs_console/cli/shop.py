"""The shop's daily work from the command line, on the local store: ``sync``,
``conversations``, ``messages``, ``orders``, ``customers``, ``reply`` and ``outbox``.

Reading and queueing work beside a running console; ``sync`` leaves the store to the
console's own sync when one runs.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cs_console.cli.common import CANNOT, NOT_FOUND, Grammar, open_store
from cs_console.cli.output import print_json, row, say

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext


def cmd_sync(args: argparse.Namespace) -> int:
    """Run one sync cycle and print what moved."""
    from cs_console.backends.base import BackendError
    from cs_console.sanitize import sanitize_line
    from cs_console.services import sync
    from cs_console.services.context import StoreInUse
    from cs_console.sync.engine import SyncStopped

    try:
        # The session: two sync loops on one store would push the same outbox rows.
        ctx = open_store(args, writer=True, session="sync")
    except StoreInUse as exc:
        if exc.holder.kind != "console":
            raise
        return _console_syncs(args, exc.holder.pid)
    if args.demo:
        ctx.close()
        say(
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
            say(f"sync failed: {sanitize_line(str(exc))}", err=True)
            return CANNOT
        finally:
            engine.backend.close()
        status = engine.status()
        say(
            f"pushed {report.pushed}, refused {report.refused}, pulled {report.pulled} records "
            f"in {report.pages} pages; outbox {status.outbox_depth}"
        )
        for error in report.errors:
            say(f"  refused: {sanitize_line(error)}")
        return 0
    finally:
        ctx.close()


def _console_syncs(args: argparse.Namespace, pid: str) -> int:
    """A console is running on the store: it syncs; say so rather than sync beside it."""
    from cs_console.services import conversations

    ctx = open_store(args)
    try:
        # Failed entries wait for the agent (F5), not for a sync.
        waiting = sum(r.state == "pending" for r in conversations.outbox_entries(ctx))
        every = ctx.settings.shift.sync_interval_s
    finally:
        ctx.close()
    say(
        f"not synced here: the console (pid {pid}) is running on this store and syncs it "
        f"every {every:g} s; it sends the {waiting} operation(s) waiting in the outbox"
    )
    return 0


def cmd_conversations(args: argparse.Namespace) -> int:
    """List conversations from the local store."""
    from cs_console.domain import ConversationStatus
    from cs_console.sanitize import sanitize_line
    from cs_console.services import queue
    from cs_console.views import QueueFilter

    ctx = open_store(args)
    try:
        flt = QueueFilter(
            status=ConversationStatus(args.status),
            me=ctx.agent_name,
            min_priority=args.priority,
            tag=args.tag,
        )
        rows = queue.page(ctx, flt, 0, args.limit)
    finally:
        ctx.close()
    if args.json:
        print_json(
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
                    "priority": r.priority,
                    "tags": list(r.tags),
                    "snippet": r.snippet,
                }
                for r in rows
            ]
        )
        return 0
    for r in rows:
        waiting = r.waiting_since.isoformat(timespec="seconds") if r.waiting_since else "-"
        row(
            r.conversation_id,
            r.group.value,
            r.priority,
            r.customer_name,
            waiting,
            r.assignee or "-",
            sanitize_line(r.snippet)[:60],
        )
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    """Print a conversation's messages."""
    from cs_console.sanitize import sanitize_line
    from cs_console.services import conversations

    ctx = open_store(args)
    try:
        known = conversations.info(ctx, args.conversation_id) is not None
        rows = conversations.messages(ctx, args.conversation_id, limit=args.limit)
    finally:
        ctx.close()
    if not known:
        say(
            f"cs-console: no conversation {args.conversation_id!r} in this store "
            "(`cs-console conversations` lists them; a new one arrives with the next sync)",
            err=True,
        )
        return NOT_FOUND
    if args.json:
        print_json(
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
        return 0
    for m in rows:
        # The body keeps its lines; the author is one line, so no body can pose as one.
        say(
            f"[{m.created_at.isoformat(timespec='seconds')}] {m.kind.value} "
            f"{sanitize_line(m.author)} ({m.delivery.value}): {m.body}"
        )
    return 0


def cmd_orders(args: argparse.Namespace) -> int:
    """Print a customer's orders with their timelines."""
    from cs_console.money import format_money
    from cs_console.sanitize import sanitize_line
    from cs_console.services import customers, orders

    ctx = open_store(args)
    try:
        known = customers.exists(ctx, args.customer_id)
        rows = orders.for_customer(ctx, args.customer_id)
    finally:
        ctx.close()
    if not known:
        say(
            f"cs-console: no customer {args.customer_id!r} in this store "
            "(`cs-console customers find TEXT` looks one up by name, email or phone)",
            err=True,
        )
        return NOT_FOUND
    if args.json:
        print_json(
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
        return 0
    for o in rows:
        row(
            o.number,
            o.status.value,
            # The currency decides the decimals: ¥ has fen, JPY and VND none.
            format_money(o.total_minor, o.currency),
            o.carrier or "-",
            o.tracking_number or "-",
        )
        for e in o.events:
            say(
                f"    {e.at.isoformat(timespec='minutes')}  {e.kind.value}  "
                f"{sanitize_line(e.detail)}"
            )
    if not rows:
        say(f"no orders for {args.customer_id}", err=True)
    return 0


def cmd_customers(args: argparse.Namespace) -> int:
    """Find customers, link the records of one person kept in two systems, and show one
    person's history."""
    from cs_console.services import customers

    ctx = open_store(args, writer=args.customers_command in ("link", "unlink"))
    try:
        if args.customers_command == "find":
            for match in customers.find(ctx, args.text):
                row(*(v or "-" for v in (match.customer_id, match.name, match.email, match.phone)))
            return 0
        if args.customers_command == "same":
            for customer_id in customers.same_person(ctx, args.customer_id):
                row(customer_id)
            return 0
        if args.customers_command == "history":
            return _customer_history(ctx, args.customer_id, as_json=args.json)
        if args.customers_command == "link":
            try:
                customers.link(ctx, args.customer_id, args.other_id)
            except customers.LinkError as exc:
                say(f"cs-console: {exc}", err=True)
                return NOT_FOUND
            say(f"linked {args.customer_id} and {args.other_id}")
            return 0
        if not customers.unlink(ctx, args.customer_id, args.other_id):
            say(
                f"cs-console: {args.customer_id} and {args.other_id} were not linked by hand",
                err=True,
            )
            return NOT_FOUND
        say(f"unlinked {args.customer_id} and {args.other_id}")
        return 0
    finally:
        ctx.close()


def _customer_history(ctx: AgentContext, customer_id: str, *, as_json: bool) -> int:
    """Print the person's history: earlier conversations, cases, orders, remarks, and
    how often they asked for a refund or complained."""
    from cs_console.money import format_money
    from cs_console.services import customers, history

    if not customers.exists(ctx, customer_id):
        say(
            f"cs-console: no customer {customer_id!r} in this store "
            "(`cs-console customers find TEXT` looks one up by name, email or phone)",
            err=True,
        )
        return NOT_FOUND
    found = history.for_customer(ctx, customer_id)
    if as_json:
        print_json(
            {
                "customer_id": found.customer_id,
                "records": list(found.records),
                "refunds": found.refunds,
                "complaints": found.complaints,
                "conversations": [
                    {
                        "id": c.conversation_id,
                        "customer_id": c.customer_id,
                        "group": c.group.value,
                        "status": c.status.value,
                        "started_at": c.started_at.isoformat(),
                        "last_activity_at": c.last_activity_at.isoformat(),
                        "first_line": c.first_line,
                        "messages": c.message_count,
                        "resolutions": list(c.resolutions),
                    }
                    for c in found.conversations
                ],
                "cases": [
                    {
                        "id": c.case_id,
                        "status": c.status,
                        "category": c.category,
                        "resolution": c.resolution,
                        "order_number": c.order_number,
                        "conversation_id": c.conversation_id,
                        "created_at": c.created_at.isoformat(),
                        "updated_at": c.updated_at.isoformat(),
                    }
                    for c in found.cases
                ],
                "orders": [
                    {
                        "id": o.order_id,
                        "number": o.number,
                        "status": o.status.value,
                        "total_minor": o.total_minor,
                        "currency": o.currency,
                        "placed_at": o.placed_at.isoformat(),
                    }
                    for o in found.orders
                ],
                "remarks": [
                    {
                        "order_number": r.order_number,
                        "flag": r.remark.flag.value,
                        "text": r.remark.text,
                        "author": r.remark.author,
                        "created_at": r.remark.created_at.isoformat(),
                    }
                    for r in found.remarks
                ],
            }
        )
        return 0
    say(
        f"{customer_id}: {len(found.conversations)} conversation(s), {len(found.cases)} "
        f"case(s), {len(found.orders)} order(s), {found.refunds} refund(s), "
        f"{found.complaints} complaint(s)"
    )
    if len(found.records) > 1:
        say("records of the same person: " + ", ".join(found.records))
    if found.conversations:
        say("conversations:")
    for c in found.conversations:
        row(
            "",
            c.started_at.isoformat(timespec="minutes"),
            c.conversation_id,
            c.group.value,
            c.status.value,
            "/".join(c.resolutions) or "-",
            c.first_line[:60] or "-",
        )
    if found.cases:
        say("cases:")
    for case in found.cases:
        row(
            "",
            case.updated_at.isoformat(timespec="minutes"),
            case.case_id,
            case.status,
            case.category,
            case.resolution or "-",
            case.order_number or "-",
        )
    if found.orders:
        say("orders:")
    for o in found.orders:
        row(
            "",
            o.placed_at.isoformat(timespec="minutes"),
            o.number,
            o.status.value,
            format_money(o.total_minor, o.currency),
        )
    if found.remarks:
        say("remarks:")
    for r in found.remarks:
        row(
            "",
            r.remark.created_at.isoformat(timespec="minutes"),
            r.order_number,
            r.remark.flag.value,
            r.remark.author,
            r.remark.text,
        )
    return 0


def cmd_reply(args: argparse.Namespace) -> int:
    """Queue a reply or note; the next sync sends it."""
    from cs_console.services import conversations

    # No session: the reply is queued beside a running console, whose sync sends it.
    ctx = open_store(args, writer=True)
    try:
        # Headless: nobody is there to look at new messages or to undo; send as written.
        outcome = conversations.send(
            ctx, args.conversation_id, args.text, note=args.note, force=True, undo_seconds=0.0
        )
    except conversations.ActionError as exc:
        say(f"not queued: {exc}", err=True)
        return CANNOT
    finally:
        ctx.close()
    assert isinstance(outcome, conversations.Queued)
    say(f"queued {outcome.message_id} (outbox key {outcome.entry.key})")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    """Show what is still on its way."""
    from cs_console.services import conversations

    ctx = open_store(args)
    try:
        rows = conversations.outbox_entries(ctx)
    finally:
        ctx.close()
    if args.json:
        print_json(
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
        return 0
    for r in rows:
        # last_error quotes the backend (a Vendure errorCode, say): never raw.
        row(r.seq, r.kind, r.state, f"attempts={r.attempts}", r.last_error or "")
    if not rows:
        say("outbox empty")
    return 0


def register(grammar: Grammar) -> None:
    """Add ``sync``, ``conversations``, ``messages``, ``orders``, ``customers``,
    ``reply`` and ``outbox``."""
    sync = grammar.add(
        "sync",
        cmd_sync,
        "sync with the backend (while a console runs on the store, it syncs, not this)",
        on_store=True,
    )
    sync.add_argument(
        "--once", action="store_true", help="run one cycle and exit (the only mode for now)"
    )

    conversations = grammar.add(
        "conversations", cmd_conversations, "list conversations in the local store", on_store=True
    )
    conversations.add_argument(
        "--status", default="open", choices=["open", "pending", "snoozed", "resolved"]
    )
    conversations.add_argument(
        "--priority", choices=["high", "urgent"], default=None, help="only this priority or above"
    )
    conversations.add_argument(
        "--tag", default=None, help="only conversations whose conversation or customer has it"
    )
    conversations.add_argument("--limit", type=int, default=100)
    conversations.add_argument("--json", action="store_true")

    messages = grammar.add(
        "messages", cmd_messages, "print a conversation's messages", on_store=True
    )
    messages.add_argument("conversation_id")
    messages.add_argument("--limit", type=int, default=200)
    messages.add_argument("--json", action="store_true")

    orders = grammar.add("orders", cmd_orders, "print a customer's orders", on_store=True)
    orders.add_argument("customer_id")
    orders.add_argument("--json", action="store_true")

    customers = grammar.add(
        "customers",
        cmd_customers,
        "find customers; link one person's records in two systems",
        on_store=True,
    )
    actions = customers.add_subparsers(dest="customers_command", required=True, metavar="ACTION")
    store = grammar.store
    actions.add_parser("find", help="by name, email or phone", parents=[store]).add_argument("text")
    actions.add_parser("same", help="every record of one person", parents=[store]).add_argument(
        "customer_id"
    )
    past = actions.add_parser(
        "history",
        help="one person's conversations, cases, orders and remarks, refunds and complaints",
        parents=[store],
    )
    past.add_argument("customer_id")
    past.add_argument("--json", action="store_true")
    for name, text in (
        ("link", "these two records are one person (their orders show together)"),
        ("unlink", "undo a link made by hand"),
    ):
        pair = actions.add_parser(name, help=text, parents=[store])
        pair.add_argument("customer_id")
        pair.add_argument("other_id")

    reply = grammar.add(
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

    outbox = grammar.add("outbox", cmd_outbox, "show what is waiting to be sent", on_store=True)
    outbox.add_argument("--json", action="store_true")
