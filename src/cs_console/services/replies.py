"""The quick-reply library as the agent uses it: the shipped library, the shop's
published replies and the agent's own, filled from the open conversation; and how
often each reply is used."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cs_console.money import format_money
from cs_console.replies.library import (
    Library,
    PublishedLayer,
    QuickReply,
    load_library,
    shipped_library_dir,
)
from cs_console.replies.lint import LintIssue
from cs_console.replies.placeholders import FilledReply, ReplyContext, fill
from cs_console.replies.transfer import published_layer
from cs_console.services.context import AgentContext
from cs_console.services.orders import days_since_delivery, ship_by
from cs_console.settings import Settings
from cs_console.store import replies as store_replies
from cs_console.timeutil import utcnow
from cs_console.views import ConversationInfo, OrderRow

if TYPE_CHECKING:
    # Search loads pypinyin's dictionaries; `cs-console replies lint` needs neither.
    from cs_console import protocol as p
    from cs_console.replies.search import Hit

#: How a reply reached the composer (recorded with each use).
UseKind = Literal["palette", "palette-send", "hotkey", "suggestion"]
USE_KINDS: tuple[UseKind, ...] = ("palette", "palette-send", "hotkey", "suggestion")


def user_library_dir(settings: Settings) -> Path:
    """Where the agent keeps their own replies (``<config dir>/quick_replies``)."""
    return settings.paths.quick_replies_dir


def library_dirs(settings: Settings) -> list[Path]:
    """The shipped library first, then the agent's (which extends or overrides it)."""
    return [shipped_library_dir(), user_library_dir(settings)]


def load(settings: Settings, shop: Sequence[p.ReplyRecord] = ()) -> tuple[Library, list[LintIssue]]:
    """The effective library and the problems found loading it (bad files are skipped).

    Layers, a later one overriding an earlier one by reply id: the shipped files, the
    shop's published replies (``shop``), the agent's own files.

    Args:
        settings: the agent's settings (where their own replies live).
        shop: the shop's published replies, as :func:`shop_replies` reads them.
    """
    shipped, personal = library_dirs(settings)
    layers: list[Path | PublishedLayer] = [shipped]
    if shop:
        layers.append(published_layer(shop))
    layers.append(personal)
    return load_library(layers)


def shop_replies(ctx: AgentContext) -> list[p.ReplyRecord]:
    """The shop's published replies that sync has stored (withdrawn ones left out)."""
    return store_replies.shop_replies(ctx.db)


def shop_replies_stamp(ctx: AgentContext) -> str:
    """Changes whenever sync brings new, changed or withdrawn shop replies: compare it
    after a sync to decide whether to reload the library."""
    return store_replies.shop_replies_stamp(ctx.db)


def load_for(ctx: AgentContext) -> tuple[Library, list[LintIssue]]:
    """The effective library for this agent, the shop's synced replies included."""
    return load(ctx.settings, shop_replies(ctx))


def record_use(
    ctx: AgentContext,
    reply_id: str,
    how: UseKind,
    *,
    conversation_id: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record that the agent inserted a reply into the composer.

    Args:
        ctx: the agent's context (the use is the agent's).
        reply_id: the reply inserted.
        how: ``palette`` (Enter in the palette), ``palette-send`` (insert and send),
            ``hotkey`` or ``suggestion``.
        conversation_id: the open conversation, if any.
        now: the time of the use (default: now).

    Raises:
        ValueError: for an unknown ``how``.
    """
    if how not in USE_KINDS:
        raise ValueError(f"unknown use {how!r}: one of {', '.join(USE_KINDS)}")
    store_replies.add_use(
        ctx.db,
        reply_id=reply_id,
        agent=ctx.agent_name,
        used_at=now or utcnow(),
        how=how,
        conversation_id=conversation_id,
    )


def use_counts(
    ctx: AgentContext,
    *,
    agent: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict[str, int]:
    """How often each reply was used: ``{reply id: uses}`` (unused ids are absent).

    Args:
        ctx: the agent's context.
        agent: one agent's uses (the palette passes ``ctx.agent_name``); None for all.
        since: count uses from this time on.
        until: count uses before this time.
    """
    return store_replies.use_counts(ctx.db, agent=agent, since=since, until=until)


def rank_by_use(hits: Sequence[Hit], counts: Mapping[str, int]) -> list[Hit]:
    """Order search hits so that, among equally good matches, the most used comes first.

    Only ties move: a better match stays above a more used one, and hits with the same
    score and the same use keep the search's order (its language and library order).

    Args:
        hits: :meth:`ReplyIndex.search` results, best first.
        counts: :func:`use_counts` for the agent.
    """
    return sorted(hits, key=lambda hit: (-round(hit.score, 6), -counts.get(hit.reply.id, 0)))


def context_for(
    settings: Settings,
    *,
    agent_name: str,
    info: ConversationInfo | None,
    order: OrderRow | None,
    now: datetime,
) -> ReplyContext:
    """Placeholder values from the open conversation and the selected order."""
    deadline = ship_by(order, settings.shift.ship_by_hours) if order else None
    days = days_since_delivery(order, now) if order else None
    # The order total is what an agent quotes for a refund of the whole order.
    refund = None
    if order is not None and order.status.value in ("refund-requested", "refunded"):
        refund = format_money(order.total_minor, order.currency)
    return ReplyContext(
        customer_name=info.customer_name if info else None,
        order_number=order.number if order else None,
        order_status=order.status.value.replace("-", " ") if order else None,
        carrier=order.carrier if order else None,
        tracking_number=order.tracking_number if order else None,
        ship_by=deadline.astimezone().strftime("%m-%d %H:%M") if deadline else None,
        days_since_delivery=str(days) if days is not None else None,
        refund_amount=refund,
        agent_name=agent_name,
        shop_name=settings.shop.name or None,
        return_address=settings.shop.return_address or None,
        today=now.astimezone().strftime("%Y-%m-%d"),
    )


def filled(reply: QuickReply, context: ReplyContext) -> FilledReply:
    """The reply's text with the conversation's particulars; missing ones and
    ``{fill:...}`` blanks become holes. The text is sanitised (body and values alike),
    so it can go into the composer and the draft as it is."""
    return fill(reply.body, context)


def hotkey_table(library: Library, language: str, fallback: str = "en") -> dict[str, QuickReply]:
    """Hotkey -> reply for the agent's language (the fallback language fills gaps)."""
    table = dict(library.hotkeys(fallback))
    table.update(library.hotkeys(language))
    return table
