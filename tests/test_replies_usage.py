"""Usage counts: every insertion of a reply is recorded in the store, per agent and
time; the palette ranks ties by use; the shift report counts the shift's uses."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cs_console.paths import Paths
from cs_console.render import reports as report_text
from cs_console.replies import load_library, shipped_library_dir
from cs_console.replies.search import Hit, ReplyIndex
from cs_console.services import replies, reports
from cs_console.services.context import AgentContext
from cs_console.settings import Settings
from cs_console.store.db import Database

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[AgentContext]:
    context = AgentContext(
        settings=Settings(paths=Paths(tmp_path), agent={"name": "Lan"}),
        db=Database(tmp_path / "store.db"),
    )
    yield context
    context.close()


def test_a_use_is_a_row_with_agent_time_and_way(ctx: AgentContext, tmp_path: Path) -> None:
    replies.record_use(
        ctx, "en.shipping.ship-within-48h", "hotkey", conversation_id="conv-1", now=NOW
    )
    conn = sqlite3.connect(tmp_path / "store.db")
    rows = conn.execute(
        "SELECT reply_id, agent, used_at, how, conversation_id FROM reply_use"
    ).fetchall()
    conn.close()
    assert rows == [
        ("en.shipping.ship-within-48h", "Lan", "2026-11-20T10:00:00.000000Z", "hotkey", "conv-1")
    ]
    with pytest.raises(ValueError, match="unknown use"):
        replies.record_use(ctx, "en.shipping.ship-within-48h", "typed")  # type: ignore[arg-type]


def test_counts_by_agent_and_period(ctx: AgentContext) -> None:
    uses: tuple[tuple[int, replies.UseKind], ...] = (
        (0, "palette"),
        (5, "palette-send"),
        (9, "suggestion"),
    )
    for minutes, how in uses:
        replies.record_use(ctx, "a", how, now=NOW + timedelta(minutes=minutes))
    replies.record_use(ctx, "b", "hotkey", now=NOW)
    ctx.settings = Settings(paths=ctx.settings.paths, agent={"name": "Mei"})
    replies.record_use(ctx, "b", "hotkey", now=NOW)

    assert replies.use_counts(ctx) == {"a": 3, "b": 2}
    assert replies.use_counts(ctx, agent="Lan") == {"a": 3, "b": 1}
    assert replies.use_counts(ctx, agent="Mei") == {"b": 1}
    # [since, until): the use at +5 counts, the one at +9 does not.
    window = replies.use_counts(
        ctx, since=NOW + timedelta(minutes=1), until=NOW + timedelta(minutes=9)
    )
    assert window == {"a": 1}
    assert replies.use_counts(ctx, agent="Nobody") == {}


def test_palette_ranks_equal_matches_by_use() -> None:
    library, _ = load_library([shipped_library_dir()])
    hits = ReplyIndex(library.replies).search("refund", language="en", limit=20)
    # Find a run of equally good hits, as the palette gets for a one-word query.
    best = hits[0].score
    tied = [hit for hit in hits if hit.score == best]
    assert len(tied) >= 2, "the query should give a tie"
    last = tied[-1].reply.id
    ranked = replies.rank_by_use(hits, {last: 4, "not-a-hit": 9})
    assert ranked[0].reply.id == last
    # Only ties move: the rest keeps the search's order, and a better match is never
    # overtaken by a more used but worse one.
    assert [h.reply.id for h in ranked[1:]] == [h.reply.id for h in hits if h.reply.id != last]
    worse = hits[len(tied)]
    ranked = replies.rank_by_use(hits, {worse.reply.id: 100})
    assert ranked.index(worse) == hits.index(worse)
    assert replies.rank_by_use([], {}) == []
    assert replies.rank_by_use(hits[:1], {}) == [Hit(hits[0].reply, hits[0].score)]


def test_shift_report_counts_the_shifts_uses(ctx: AgentContext) -> None:
    start, end = NOW - timedelta(hours=8), NOW
    before_the_shift = start - timedelta(minutes=1)
    replies.record_use(ctx, "en.greeting.welcome", "hotkey", now=before_the_shift)
    for minutes in (10, 20, 30):
        replies.record_use(
            ctx, "en.shipping.ship-within-48h", "hotkey", now=start + timedelta(minutes=minutes)
        )
    replies.record_use(ctx, "en.greeting.welcome", "palette", now=start + timedelta(minutes=40))
    ctx.settings = Settings(paths=ctx.settings.paths, agent={"name": "Mei"})
    replies.record_use(
        ctx, "en.refund.shipped-approved", "suggestion", now=start + timedelta(hours=1)
    )
    replies.record_use(ctx, "en.greeting.welcome", "palette", now=end)  # the end is excluded

    lan = reports.figures(ctx, start=start, end=end, agent="Lan", now=NOW)
    assert lan.quick_replies_recorded
    assert lan.quick_replies_used == 4
    assert lan.top_quick_replies == (
        ("en.shipping.ship-within-48h", 3),
        ("en.greeting.welcome", 1),
    )
    everyone = reports.figures(ctx, start=start, end=end, now=NOW)
    assert everyone.quick_replies_used == 5
    # Ties are listed by id, so every rendering lists the same order.
    assert everyone.top_quick_replies[1:] == (
        ("en.greeting.welcome", 1),
        ("en.refund.shipped-approved", 1),
    )

    table = report_text.render(lan, "table", title="Shift report")
    assert "Quick replies used" in table
    assert "not yet recorded" not in table
    assert "Most used quick replies" in table
    assert "en.shipping.ship-within-48h" in table
    parsed = json.loads(report_text.render(lan, "json"))
    assert parsed["quick_replies"] == {
        "used": 4,
        "recorded": True,
        "top": [
            {"id": "en.shipping.ship-within-48h", "uses": 3},
            {"id": "en.greeting.welcome", "uses": 1},
        ],
    }


def test_top_replies_are_capped() -> None:
    uses = [
        reports.ReplyUseRow(f"r{n}", "Lan", NOW - timedelta(minutes=n), "hotkey", None)
        for n in range(1, 9)
        for _ in range(n)
    ]
    figures = reports.compute([], [], NOW - timedelta(hours=1), NOW, reply_uses=uses)
    assert figures.quick_replies_used == sum(range(1, 9))
    assert [reply_id for reply_id, _ in figures.top_quick_replies] == ["r8", "r7", "r6", "r5", "r4"]
    assert not reports.compute([], [], NOW - timedelta(hours=1), NOW).quick_replies_recorded
