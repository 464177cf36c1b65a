"""One person, two records: linking a chat contact to the shop's customer by hand.

Records that share an email or phone are matched by themselves as they sync (see
:mod:`cs_console.store.links`); these are for the rest, and for looking them up.
"""

from __future__ import annotations

from cs_console.services.context import AgentContext
from cs_console.store import links
from cs_console.views import CustomerMatch


class LinkError(Exception):
    """The link cannot be made; the message says why."""


def find(ctx: AgentContext, text: str, limit: int = 20) -> list[CustomerMatch]:
    """Customers whose name, email or phone contains ``text``."""
    return links.find_customers(ctx.db, text, limit)


def exists(ctx: AgentContext, customer_id: str) -> bool:
    """Whether the store holds a customer record with this id."""
    return links.customer_exists(ctx.db, customer_id)


def link(ctx: AgentContext, customer_id: str, other_id: str) -> None:
    """Record that ``customer_id`` and ``other_id`` are one person; their orders then show
    together. Kept in this store only: no backend we speak to has a place for it."""
    try:
        links.link(ctx.db, customer_id, other_id, ctx.agent_name)
    except (ValueError, LookupError) as exc:
        raise LinkError(str(exc)) from None


def unlink(ctx: AgentContext, customer_id: str, other_id: str) -> bool:
    """Undo a link made by hand; False when there was none."""
    return links.unlink(ctx.db, customer_id, other_id)


def same_person(ctx: AgentContext, customer_id: str) -> list[str]:
    """Every record of the person behind ``customer_id`` (itself included)."""
    with ctx.db.read() as conn:
        return links.same_person(conn, customer_id)
