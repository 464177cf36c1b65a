"""The quick-reply library as the agent uses it: the shop's library plus their own,
filled from the open conversation."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cs_console.money import format_money
from cs_console.replies.library import Library, QuickReply, load_library, shipped_library_dir
from cs_console.replies.lint import LintIssue
from cs_console.replies.placeholders import FilledReply, ReplyContext, fill
from cs_console.services.orders import days_since_delivery, ship_by
from cs_console.settings import Settings
from cs_console.views import ConversationInfo, OrderRow


def user_library_dir(settings: Settings) -> Path:
    """Where the agent keeps their own replies (``<config dir>/quick_replies``)."""
    return settings.config_dir / "quick_replies"


def library_dirs(settings: Settings) -> list[Path]:
    """The shop's library first, then the agent's (which extends or overrides it)."""
    return [shipped_library_dir(), user_library_dir(settings)]


def load(settings: Settings) -> tuple[Library, list[LintIssue]]:
    """The effective library and the problems found loading it (bad files are skipped)."""
    return load_library(library_dirs(settings))


def context_for(
    settings: Settings,
    *,
    agent_name: str,
    info: ConversationInfo | None,
    order: OrderRow | None,
    now: datetime,
) -> ReplyContext:
    """Placeholder values from the open conversation and the selected order."""
    deadline = ship_by(order, settings.ship_by_hours) if order else None
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
        shop_name=settings.shop_name or None,
        return_address=settings.shop_return_address or None,
        today=now.astimezone().strftime("%Y-%m-%d"),
    )


def filled(reply: QuickReply, context: ReplyContext) -> FilledReply:
    """The reply's text with the conversation's particulars; missing ones become holes."""
    return fill(reply.body, context)


def hotkey_table(library: Library, language: str, fallback: str = "en") -> dict[str, QuickReply]:
    """Hotkey -> reply for the agent's language (the fallback language fills gaps)."""
    table = dict(library.hotkeys(fallback))
    table.update(library.hotkeys(language))
    return table
