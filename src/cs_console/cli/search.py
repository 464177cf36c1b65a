"""``cs-console search QUERY``: the console's search (Ctrl+F) from the command line.

Customers, conversations, messages and orders in the local store, grouped, newest
first: Chinese from two characters or by pinyin, Latin text without case or accents,
an order number by its last digits. Works beside a running console.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cs_console.cli.common import CANNOT, NOT_FOUND, Grammar, open_store
from cs_console.cli.output import print_json, row, say

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext
    from cs_console.services.search import SearchHit

__all__ = ["cmd_search", "register"]

_GROUP_TITLES = {
    "customer": "customers",
    "conversation": "conversations",
    "message": "messages",
    "order": "orders",
}
# Above this many rows to index, say why the first search takes a while.
_ANNOUNCE_BACKLOG = 20_000
_BUILD_CHUNK = 5_000


def _open(args: argparse.Namespace) -> AgentContext:
    """The store, writable if it can be (so the index can be brought up to date)."""
    from cs_console.services.context import StoreError

    try:
        return open_store(args, writer=True)
    except StoreError:
        # A read-only file or folder: search what is indexed already.
        return open_store(args)


def _bring_up_to_date(ctx: AgentContext) -> None:
    from cs_console.services import search

    state = search.index_progress(ctx)
    if state.done or not ctx.db.writer:
        return
    backlog = state.total - state.indexed + state.dirty
    if backlog > _ANNOUNCE_BACKLOG:
        say(f"cs-console: indexing {backlog:,} rows for search (once)…", err=True)
    search.build_index(ctx, chunk=_BUILD_CHUNK)


def _hit_json(hit: SearchHit) -> dict[str, object]:
    return {
        "kind": hit.kind.value,
        "id": hit.ref,
        "text": hit.label.text,
        "context": hit.context,
        "status": hit.status,
        "at": hit.at.isoformat() if hit.at else None,
        "conversation_id": hit.conversation_id,
        "customer_id": hit.customer_id,
    }


def cmd_search(args: argparse.Namespace) -> int:
    """Search the local store and print the hits, grouped."""
    from cs_console.services import search

    text = " ".join(args.query)
    if args.limit < 1:
        say("cs-console: --limit must be at least 1", err=True)
        return CANNOT
    ctx = _open(args)
    try:
        _bring_up_to_date(ctx)
        limits = {kind: args.limit for kind in search.DEFAULT_LIMITS}
        results = search.search(ctx, text, limits=limits)
    finally:
        ctx.close()
    if results.too_short:
        say("cs-console: type at least two characters to search", err=True)
        return CANNOT
    if args.json:
        payload: dict[str, object] = {
            "query": text,
            "complete": not results.indexing,
        }
        for kind, hits in results.groups:
            payload[_GROUP_TITLES[kind.value]] = [_hit_json(hit) for hit in hits]
        print_json(payload)
        return 0 if results.hits else NOT_FOUND
    if results.indexing:
        say("cs-console: the search index is not complete; older rows may be missing", err=True)
    for kind, hits in results.groups:
        if not hits:
            continue
        say(f"{_GROUP_TITLES[kind.value]}:")
        for hit in hits:
            at = hit.at.isoformat(timespec="seconds") if hit.at else "-"
            # Every field goes through row(): one line each, sanitised.
            row("", hit.ref, at, hit.status or "-", hit.label.text, hit.context)
    if not results.hits:
        say(f"cs-console: nothing found for {text!r}", err=True)
        return NOT_FOUND
    return 0


def register(grammar: Grammar) -> None:
    """Add ``search``."""
    command = grammar.add(
        "search",
        cmd_search,
        "search customers, conversations, messages and orders in the local store",
        on_store=True,
        description=(
            "Search the local store as Ctrl+F does: customers (name, email, phone), "
            "conversations, messages and order numbers. Chinese from two characters "
            "(发货) or by pinyin (fahuo, fh); accents and case do not matter; an order "
            "number by its last digits (4417)."
        ),
    )
    command.add_argument("query", nargs="+", help="what to look for (several words: all of them)")
    command.add_argument("--json", action="store_true", help="print the hits as JSON")
    command.add_argument("--limit", type=int, default=10, help="hits per group (default 10)")
