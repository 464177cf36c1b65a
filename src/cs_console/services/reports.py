"""Shift, day and week figures per agent, and the weekly case summary.

The definitions are written for a shop owner in ``docs/REPORTS.md``; this module is
their implementation, and the two must say the same thing. In short:

* A **customer turn** is a run of customer messages answered by the next agent reply
  (notes and system messages neither start nor end one). A turn belongs to the period
  in which its first customer message falls, even if it is answered later.
* All comparisons are between UTC instants; the zone only decides where a "day" or a
  "week" begins.

The arithmetic (:func:`compute`, :func:`summarize_cases`) is pure Python over plain
rows, so tests feed it hand-made rows; :func:`figures` and :func:`weekly_summary` read
those rows from the store. Writing the results out as text is
:mod:`cs_console.render.reports`'s job: the services compute, they never format.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal, TypeAlias

from cs_console.domain import CaseCategory, CaseStatus, MessageKind
from cs_console.services.context import AgentContext
from cs_console.store import replies as store_replies
from cs_console.store import reports as store_reports
from cs_console.store.replies import ReplyUseRow
from cs_console.store.reports import ReportCase, ReportMessage
from cs_console.timeutil import to_utc, utcnow

__all__ = [
    "DEFAULT_SHIFT_HOURS",
    "DEFAULT_TARGET_S",
    "PERIOD_KINDS",
    "SPECIAL_CATEGORIES",
    "CaseSummary",
    "MoneyTotal",
    "ReplyUseRow",
    "ReportCase",
    "ReportMessage",
    "ShiftFigures",
    "Turn",
    "compute",
    "figures",
    "nearest_rank",
    "period_bounds",
    "split_turns",
    "summarize_cases",
    "weekly_summary",
]

PeriodKind: TypeAlias = Literal["shift", "day", "week"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("shift", "day", "week")

#: A customer turn answered within this many seconds is on time (the shop may change it).
DEFAULT_TARGET_S = 180.0
#: A "shift" report looks back this many hours unless told otherwise.
DEFAULT_SHIFT_HOURS = 8
#: Categories a supervisor reports at once rather than in the weekly round-up.
SPECIAL_CATEGORIES: frozenset[str] = frozenset(
    {
        CaseCategory.COUNTERFEIT.value,
        CaseCategory.ATTITUDE.value,
        CaseCategory.NEGATIVE_REVIEW.value,
    }
)
#: How a case without a responsible party is listed.
NOT_SET = "not set"
#: How many of the most used quick replies a report lists.
TOP_REPLIES = 5


# --- rows and results ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    """A run of customer messages and the agent reply that answered it (if any)."""

    conversation_id: str
    first_at: datetime
    answered_at: datetime | None
    answered_by: str | None
    assignee: str | None

    @property
    def agent(self) -> str | None:
        """Whose turn it is: the agent who answered it, else the conversation's assignee."""
        return self.answered_by if self.answered_at is not None else self.assignee

    @property
    def wait_s(self) -> float | None:
        """Seconds from the first customer message to the answer; None if unanswered."""
        if self.answered_at is None:
            return None
        return (self.answered_at - self.first_at).total_seconds()


@dataclass(frozen=True, slots=True)
class MoneyTotal:
    """Sums of the cases opened in a period, in one currency, in minor units."""

    currency: str
    refund_minor: int = 0
    compensation_minor: int = 0
    postage_lost_minor: int = 0


@dataclass(frozen=True, slots=True)
class ShiftFigures:
    """One agent's (or everyone's) figures for a period. Seconds are exact floats;
    ``None`` means "no data" (nothing to take a median of), never zero."""

    start: datetime
    end: datetime
    now: datetime
    agent: str | None
    target_s: float
    conversations_handled: int
    first_response_median_s: float | None
    first_response_p90_s: float | None
    first_response_answered: int
    first_response_unanswered: int
    average_response_s: float | None
    turns: int
    turns_answered: int
    turns_on_time: int
    turns_late: int
    turns_not_yet_due: int
    messages_sent: int
    internal_notes: int
    quick_replies_used: int
    quick_replies_recorded: bool
    cases_opened: int
    cases_resolved: int
    opened_by_category: dict[str, int]
    opened_by_responsible: dict[str, int]
    resolved_by_category: dict[str, int]
    resolved_by_responsible: dict[str, int]
    money: tuple[MoneyTotal, ...]
    #: The most used quick replies of the period: ``(reply id, uses)``, most used first.
    top_quick_replies: tuple[tuple[str, int], ...] = ()

    @property
    def on_time_share(self) -> float | None:
        """On-time turns over turns that were due (on time plus late); None if none were."""
        due = self.turns_on_time + self.turns_late
        return None if due == 0 else self.turns_on_time / due


@dataclass(frozen=True, slots=True)
class CaseSummary:
    """The supervisor's weekly round-up of the case register."""

    start: datetime
    end: datetime
    total: int
    by_family: dict[str, int]
    by_responsible: dict[str, int]
    by_family_responsible: dict[str, dict[str, int]]
    special: tuple[ReportCase, ...]


# --- periods ---------------------------------------------------------------------


def _local_midnight(day: date, tz: tzinfo | None) -> datetime:
    if tz is None:
        # A naive time's astimezone() asks the C library for the system zone's offset
        # on that date, so a DST change between today and Monday is handled.
        return datetime(day.year, day.month, day.day).astimezone()
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def period_bounds(
    kind: str,
    now: datetime,
    tz: tzinfo | None = None,
    shift_hours: float = DEFAULT_SHIFT_HOURS,
) -> tuple[datetime, datetime]:
    """The UTC instants ``(start, end)`` of a period ending at ``now``.

    Args:
        kind: ``"shift"`` (the last ``shift_hours`` hours), ``"day"`` (since local
            midnight) or ``"week"`` (since Monday 00:00 local time).
        now: The end of the period; must carry a zone.
        tz: The agent's zone; None means the machine's zone.
        shift_hours: The length of a shift.

    Raises:
        ValueError: For an unknown kind or a naive ``now``.
    """
    end = to_utc(now)
    if kind == "shift":
        return end - timedelta(hours=shift_hours), end
    local_today = now.astimezone(tz).date()
    if kind == "day":
        return to_utc(_local_midnight(local_today, tz)), end
    if kind == "week":
        monday = local_today - timedelta(days=local_today.weekday())
        return to_utc(_local_midnight(monday, tz)), end
    raise ValueError(f"unknown period {kind!r}: shift, day or week")


# --- the arithmetic --------------------------------------------------------------


def nearest_rank(values: Iterable[float], percent: int) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``percent`` % of
    the values at or below it, i.e. the ⌈percent/100 · n⌉-th smallest (1-based).

    The result is always one of the values (no interpolation); the median is the
    50th percentile, so of four values it is the second smallest.
    """
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in 1..100, not {percent}")
    # Integer ceiling: 0.9 * 10 is 9.000000000000002 in floats, whose ceiling is 10.
    rank = -(-percent * len(ordered) // 100)
    return ordered[max(rank, 1) - 1]


def split_turns(messages: Iterable[ReportMessage]) -> list[Turn]:
    """Customer turns of the given messages, per conversation in time order.

    A turn opens at a customer message when none is open and closes at the next agent
    reply, whoever sent it. Notes and system messages are skipped: the customer sees
    no note, and a system event is not an answer.
    """
    ordered = sorted(messages, key=lambda m: (m.conversation_id, m.created_at, m.seq))
    turns: list[Turn] = []
    open_since: datetime | None = None
    current: str | None = None
    assignee: str | None = None

    def close(answered_at: datetime | None, by: str | None) -> None:
        nonlocal open_since
        if open_since is not None and current is not None:
            turns.append(Turn(current, open_since, answered_at, by, assignee))
        open_since = None

    for message in ordered:
        if message.conversation_id != current:
            close(None, None)
            current = message.conversation_id
        assignee = message.assignee
        if message.kind == MessageKind.CUSTOMER.value:
            if open_since is None:
                open_since = to_utc(message.created_at)
        elif message.kind == MessageKind.AGENT.value:
            close(to_utc(message.created_at), message.author)
    close(None, None)
    return turns


def _by_count(counter: Mapping[str, int]) -> dict[str, int]:
    """Largest first, then by name, so every rendering lists the same order."""
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def _responsible(case: ReportCase) -> str:
    return case.responsible or NOT_SET


def compute(
    messages: Sequence[ReportMessage],
    cases: Sequence[ReportCase],
    start: datetime,
    end: datetime,
    target_s: float = DEFAULT_TARGET_S,
    agent: str | None = None,
    now: datetime | None = None,
    reply_uses: Sequence[ReplyUseRow] | None = None,
) -> ShiftFigures:
    """The figures for ``[start, end)`` from raw rows (see the module docstring).

    Args:
        messages: Messages of the conversations active in the period, including the
            earlier ones that show whether a turn began before ``start``.
        cases: Cases opened in the period and cases resolved in it (others are ignored).
        start: First instant of the period (inclusive).
        end: End of the period (exclusive).
        target_s: The shop's response target in seconds.
        agent: Only this agent's figures; None for everyone.
        now: The time the report is made (decides which waits are not yet due);
            defaults to ``end``.
        reply_uses: Quick-reply insertions around the period (those outside it or by
            other agents are ignored); None when no source records them.
    """
    start, end = to_utc(start), to_utc(end)
    now = to_utc(now) if now is not None else end

    def in_period(moment: datetime) -> bool:
        return start <= to_utc(moment) < end

    def counts_for(name: str | None) -> bool:
        return agent is None or name == agent

    handled: set[str] = set()
    sent = notes = 0
    for message in messages:
        if not in_period(message.created_at) or not counts_for(message.author):
            continue
        if message.kind == MessageKind.AGENT.value:
            handled.add(message.conversation_id)
            sent += 1
        elif message.kind == MessageKind.NOTE.value:
            notes += 1

    period_turns = [t for t in split_turns(messages) if in_period(t.first_at)]
    mine = [t for t in period_turns if agent is None or t.agent == agent]

    # First response: the first turn of the period in each conversation; it is the
    # answering agent's (or, unanswered, the assignee's), like any other turn.
    first_turns: dict[str, Turn] = {}
    for turn in period_turns:
        first_turns.setdefault(turn.conversation_id, turn)
    first_mine = [t for t in first_turns.values() if agent is None or t.agent == agent]
    first_waits = [t.wait_s for t in first_mine if t.wait_s is not None]

    waits = [t.wait_s for t in mine if t.wait_s is not None]
    on_time = late = not_due = 0
    for turn in mine:
        if turn.wait_s is not None:
            if turn.wait_s <= target_s:
                on_time += 1
            else:
                late += 1
        elif (now - turn.first_at).total_seconds() > target_s:
            late += 1  # the target has passed without an answer
        else:
            not_due += 1  # still inside the target: neither on time nor late yet

    opened = [c for c in cases if in_period(c.created_at) and counts_for(c.created_by)]
    resolved = [
        c
        for c in cases
        if c.status == CaseStatus.RESOLVED.value
        and in_period(c.updated_at)
        and counts_for(c.created_by)
    ]
    money: dict[str, MoneyTotal] = {}
    for case in opened:
        total = money.get(case.currency, MoneyTotal(case.currency))
        money[case.currency] = MoneyTotal(
            case.currency,
            total.refund_minor + case.refund_minor,
            total.compensation_minor + case.compensation_minor,
            total.postage_lost_minor + case.postage_lost_minor,
        )

    uses = Counter(
        use.reply_id for use in reply_uses or () if in_period(use.used_at) and counts_for(use.agent)
    )

    return ShiftFigures(
        start=start,
        end=end,
        now=now,
        agent=agent,
        target_s=float(target_s),
        conversations_handled=len(handled),
        first_response_median_s=nearest_rank(first_waits, 50),
        first_response_p90_s=nearest_rank(first_waits, 90),
        first_response_answered=len(first_waits),
        first_response_unanswered=len(first_mine) - len(first_waits),
        average_response_s=sum(waits) / len(waits) if waits else None,
        turns=len(mine),
        turns_answered=len(waits),
        turns_on_time=on_time,
        turns_late=late,
        turns_not_yet_due=not_due,
        messages_sent=sent,
        internal_notes=notes,
        quick_replies_used=sum(uses.values()),
        quick_replies_recorded=reply_uses is not None,
        cases_opened=len(opened),
        cases_resolved=len(resolved),
        opened_by_category=_by_count(Counter(c.category for c in opened)),
        opened_by_responsible=_by_count(Counter(_responsible(c) for c in opened)),
        resolved_by_category=_by_count(Counter(c.category for c in resolved)),
        resolved_by_responsible=_by_count(Counter(_responsible(c) for c in resolved)),
        money=tuple(money[currency] for currency in sorted(money)),
        top_quick_replies=tuple(_by_count(uses).items())[:TOP_REPLIES],
    )


def summarize_cases(cases: Iterable[ReportCase], start: datetime, end: datetime) -> CaseSummary:
    """Cases opened in ``[start, end)`` by category family and responsible party, and
    the special ones (counterfeit, attitude, negative review), oldest first."""
    start, end = to_utc(start), to_utc(end)
    week = sorted(
        (c for c in cases if start <= to_utc(c.created_at) < end),
        key=lambda c: (c.created_at, c.case_id),
    )
    families = Counter(c.category.split(".", 1)[0] for c in week)
    crossed: dict[str, Counter[str]] = {}
    for case in week:
        crossed.setdefault(case.category.split(".", 1)[0], Counter())[_responsible(case)] += 1
    return CaseSummary(
        start=start,
        end=end,
        total=len(week),
        by_family=_by_count(families),
        by_responsible=_by_count(Counter(_responsible(c) for c in week)),
        by_family_responsible={
            family: _by_count(crossed[family]) for family in _by_count(families)
        },
        special=tuple(c for c in week if c.category in SPECIAL_CATEGORIES),
    )


# --- reading the store -----------------------------------------------------------


def figures(
    ctx: AgentContext,
    *,
    start: datetime,
    end: datetime,
    agent: str | None = None,
    target_s: float = DEFAULT_TARGET_S,
    now: datetime | None = None,
) -> ShiftFigures:
    """The figures for ``[start, end)`` from the local store (see :func:`compute`);
    ``now`` defaults to the current time."""
    messages = store_reports.messages_around(ctx.db, start, end)
    cases = store_reports.cases_in_period(ctx.db, start, end)
    uses = store_replies.uses_between(ctx.db, start, end)
    return compute(messages, cases, start, end, target_s, agent, now or utcnow(), uses)


def weekly_summary(ctx: AgentContext, now: datetime, tz: tzinfo | None = None) -> CaseSummary:
    """Cases opened since Monday 00:00 in ``tz`` (the machine's zone if None)."""
    start, end = period_bounds("week", now, tz)
    return summarize_cases(store_reports.cases_in_period(ctx.db, start, end), start, end)
