"""The conversation queue, as the agent asks for it."""

from __future__ import annotations

from datetime import datetime, timedelta

from cs_console.services.context import AgentContext
from cs_console.store import queue
from cs_console.timeutil import format_stored, utcnow
from cs_console.views import QueueCounts, QueueFilter, QueueRow


def page(ctx: AgentContext, flt: QueueFilter, offset: int, limit: int) -> list[QueueRow]:
    """One page of the filtered queue."""
    return queue.queue_page(ctx.db, flt, offset, limit)


def count(ctx: AgentContext, flt: QueueFilter) -> int:
    """Rows the filter shows."""
    return queue.queue_count(ctx.db, flt)


def counts(ctx: AgentContext, flt: QueueFilter) -> QueueCounts:
    """Counts for the filter bar."""
    return queue.queue_counts(ctx.db, flt)


def position(ctx: AgentContext, flt: QueueFilter, conversation_id: str) -> int | None:
    """Index of a conversation in the filtered queue."""
    return queue.queue_position(ctx.db, flt, conversation_id)


def longest_waiting(ctx: AgentContext, flt: QueueFilter) -> str | None:
    """The longest-waiting conversation that is unassigned or mine."""
    return queue.longest_waiting(ctx.db, flt)


def waiting_over_alert(ctx: AgentContext, now: datetime | None = None) -> int:
    """Customers who have waited longer than the alert threshold at ``now``."""
    threshold = (now or utcnow()) - timedelta(seconds=ctx.settings.shift.alert_after_s)
    return queue.waiting_over(ctx.db, format_stored(threshold))


def wake_snoozed(ctx: AgentContext, now: datetime | None = None) -> list[str]:
    """Bring back the snoozed conversations whose time has come; the ids woken."""
    return queue.wake_due_snoozes(ctx.db, now or utcnow())


def known_tags(ctx: AgentContext) -> list[str]:
    """Every tag on a conversation or customer in the store, for the tag filter."""
    return queue.known_tags(ctx.db)
