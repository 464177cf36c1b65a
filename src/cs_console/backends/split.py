"""One backend made of two: conversations from one source, orders from another.

Shops often chat in one system (Chatwoot, or our reference server) and sell in another
(Vendure, Medusa). The sync engine knows one backend, one cursor and one server id; this
class gives it that while holding a cursor per source inside its own (opaque) cursor.

Which source gets what:

* conversations, customers (contacts), messages, agents, cases and handovers come from
  the conversation source; its own orders, if it has any, are ignored so that one shop
  never shows two versions of an order;
* orders, their timelines and remarks come from the order source, with the customers
  they belong to; customers are matched across the two by email or phone in the store
  (see :mod:`cs_console.store.links`);
* the order system being down does not stop the chats: its page is skipped (its cursor
  kept) and :attr:`SplitBackend.degraded` says why, which the engine shows in the
  status bar; a remark for it stays in the outbox until it answers;
* a remark or a refund is pushed to the order source; everything else to the
  conversation source.
  Cases and handovers need a conversation source that can keep them (the reference
  server); on one that cannot (Chatwoot), they stay in the local register and the push
  answers that they were kept locally, so the agent's register still works.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields

from cs_console import protocol as p
from cs_console.backends.base import (
    ABILITIES,
    AuthFailed,
    Backend,
    BackendError,
    BadResponse,
    Capabilities,
)

#: Abilities that belong to the order source; the rest to the conversation source.
ORDER_ABILITIES = ("orders", "remarks", "returns", "refunds")

#: Operations the split backend answers itself when the conversation source cannot
#: keep them: the register is local, and the result says so.
LOCAL_ONLY_OPS = (p.SaveCase, p.DecideCase, p.AddHandover)


def encode_cursor(conversations: str, orders: str) -> str:
    """Both cursors in one opaque string (compact JSON, printable ASCII)."""
    return json.dumps({"c": conversations, "o": orders}, separators=(",", ":"))


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The two cursors in ``cursor``; ("", "") for the start or a cursor of another kind.

    A store that synced with the conversation source alone before the order source was
    configured holds that source's plain cursor: keep it for the conversations and start
    the orders from the beginning.
    """
    if not cursor:
        return "", ""
    try:
        data = json.loads(cursor)
    except ValueError:
        return cursor, ""
    if isinstance(data, dict) and isinstance(data.get("c"), str) and isinstance(data.get("o"), str):
        return data["c"], data["o"]
    return cursor, ""


class SplitBackend:
    """Conversations from ``conversations``, orders from ``orders``.

    With ``orders=None`` it only keeps cases and handovers local for a conversation
    source that cannot store them, and passes everything else through.
    """

    def __init__(self, conversations: Backend, orders: Backend | None = None) -> None:
        self.conversations = conversations
        self.orders = orders
        self.name = (
            conversations.name if orders is None else f"{conversations.name} + {orders.name}"
        )
        self.capabilities = _combine(conversations, orders)
        self._server_id: str | None = None
        #: Why the orders are not being updated just now (the last pull failed), or None.
        self.degraded: str | None = None

    def me(self) -> p.Me:
        """The agent as the conversation source knows them; a server id naming both."""
        mine = self.conversations.me()
        if self.orders is None:
            self._server_id = mine.server_id
            return mine
        # The order source is named by its kind and address, not asked: a shop system
        # that is down at start-up must not keep the chats from syncing.
        theirs = f"{self.orders.name}\n{getattr(self.orders, 'url', '')}"
        digest = hashlib.sha256(f"{mine.server_id}\n{theirs}".encode()).hexdigest()
        self._server_id = f"split-{digest[:24]}"
        return mine.model_copy(update={"server_id": self._server_id})

    def pull(self, cursor: str, limit: int = p.DEFAULT_PAGE) -> p.ChangePage:
        """A page from each source, merged; more to come while either has more."""
        if self.orders is None:
            return self.conversations.pull(cursor, limit)
        if self._server_id is None:
            self.me()
        assert self._server_id is not None
        chats_cursor, orders_cursor = decode_cursor(cursor)
        chats = self.conversations.pull(chats_cursor, limit)
        try:
            shop = self.orders.pull(orders_cursor, limit)
        except AuthFailed:
            raise  # a refused key needs the agent: let sync pause and say so
        except BackendError as exc:
            # The shop system being down must not stop the chats: keep its cursor and
            # pull its orders again next cycle.
            self.degraded = f"{self.orders.name}: {exc}"
            shop = p.ChangePage(server_id=self._server_id, cursor=orders_cursor, has_more=False)
        else:
            self.degraded = None
        if shop.conversations or shop.messages:
            raise BadResponse(f"{self.orders.name} sent conversations; it is the order source")
        return chats.model_copy(
            update={
                "server_id": self._server_id,
                "cursor": encode_cursor(chats.cursor, shop.cursor),
                "has_more": chats.has_more or shop.has_more,
                "customers": [*chats.customers, *shop.customers],
                "orders": shop.orders,
                "order_events": shop.order_events,
                "remarks": shop.remarks,
            }
        )

    def push(self, key: str, operation: p.Operation) -> p.OperationResult:
        """Remarks to the order source, the rest to the conversation source."""
        if isinstance(operation, p.AddRemark | p.RefundOrder) and self.orders is not None:
            return self.orders.push(key, operation)
        if isinstance(operation, LOCAL_ONLY_OPS) and not self.conversations.capabilities.cases:
            return p.OperationResult(key=key, applied=True, result={"kept": "locally"})
        return self.conversations.push(key, operation)

    def close(self) -> None:
        """Close both sources."""
        try:
            self.conversations.close()
        finally:
            if self.orders is not None:
                self.orders.close()


def _combine(conversations: Backend, orders: Backend | None) -> Capabilities:
    values: dict[str, bool] = {}
    notes: list[tuple[str, str]] = []
    for item in fields(Capabilities):
        ability = item.name
        if ability == "notes":
            continue
        source = orders if orders is not None and ability in ORDER_ABILITIES else conversations
        if ability == "cases":
            # Kept locally when the conversation source cannot: see LOCAL_ONLY_OPS.
            values[ability] = True
            continue
        able = bool(getattr(source.capabilities, ability))
        values[ability] = able
        if not able:
            reason = source.capabilities.reason(ability, source.name)
            notes.append((ability, reason or f"{source.name} cannot {ABILITIES[ability]}"))
    return Capabilities(**values, notes=tuple(notes))
