"""Shift, day and week figures: hand-computed values on hand-made rows, the store's
queries on a hand-filled store, one run against the real server, and the screen.

Every expected number below is worked out by hand in the comment next to it, from the
definitions in docs/REPORTS.md; none is copied from the code's output.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert
from textual.app import App
from textual.widgets import Static

from cs_console.domain import CaseCategory, Responsible
from cs_console.paths import Paths
from cs_console.render import reports as report_text
from cs_console.services import cases as case_service
from cs_console.services import conversations, reports, sync
from cs_console.services.context import AgentContext
from cs_console.services.reports import (
    MoneyTotal,
    ReportCase,
    ReportMessage,
    ShiftFigures,
    compute,
    period_bounds,
)
from cs_console.settings import Settings
from cs_console.store.db import Database
from cs_console.store.models import CASE, CONVERSATION, CUSTOMER, MESSAGE
from cs_console.store.reports import cases_in_period, messages_around
from cs_console.timeutil import utcnow
from cs_console.ui.screens.shift_report import ShiftReportScreen
from tests.harness import LiveServer, client_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Friday 2026-11-20 10:00 UTC, 18:00 in Shanghai.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
#: Midnight of that Friday in Shanghai is 16:00 UTC on Thursday.
SHANGHAI_MIDNIGHT = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A UTC instant in November 2026."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)


def customer(conv: str, when: datetime, assignee: str | None = None) -> ReportMessage:
    return ReportMessage(conv, 0, "customer", "cust-" + conv, when, assignee)


def reply(conv: str, when: datetime, agent: str, assignee: str | None = None) -> ReportMessage:
    return ReportMessage(conv, 0, "agent", agent, when, assignee)


def note(conv: str, when: datetime, agent: str) -> ReportMessage:
    return ReportMessage(conv, 0, "note", agent, when)


def case(
    case_id: str,
    category: str,
    responsible: str | None,
    status: str,
    created: datetime,
    updated: datetime,
    by: str,
    *,
    refund: int = 0,
    compensation: int = 0,
    postage: int = 0,
    currency: str = "CNY",
) -> ReportCase:
    return ReportCase(
        case_id=case_id,
        category=category,
        responsible=responsible,
        status=status,
        refund_minor=refund,
        compensation_minor=compensation,
        postage_lost_minor=postage,
        currency=currency,
        created_by=by,
        created_at=created,
        updated_at=updated,
        order_id="ord-" + case_id,
    )


# One day in Shanghai: 2026-11-19 16:00 UTC (local midnight) to 2026-11-20 10:00 UTC.
DAY_MESSAGES = [
    # c1 crosses midnight: the turn opened at 15:58 belongs to the previous day (even
    # though a second customer message and An's answer fall after midnight). The next
    # turn, 16:10 -> Bo 16:11, is c1's first turn of the day: 60 s, Bo's.
    customer("c1", at(19, 15, 58)),
    customer("c1", at(19, 16, 1)),
    reply("c1", at(19, 16, 3), "An"),
    customer("c1", at(19, 16, 10)),
    reply("c1", at(19, 16, 11), "Bo"),
    # c2: two customer messages, one answer, timed from the first: 120 s; a note does
    # not answer; then a second turn answered in 300 s (late).
    customer("c2", at(19, 17, 0, 0)),
    customer("c2", at(19, 17, 0, 30)),
    reply("c2", at(19, 17, 2), "An"),
    note("c2", at(19, 17, 3), "An"),
    customer("c2", at(19, 17, 10)),
    reply("c2", at(19, 17, 15), "An"),
    # c3: 45 s.
    customer("c3", at(19, 18, 0)),
    reply("c3", at(19, 18, 0, 45), "An"),
    # c4: unanswered for an hour at NOW, assigned to An: late, and An's.
    customer("c4", at(20, 9, 0), assignee="An"),
    # c5: 90 s old at NOW, inside the 180 s target: not yet due; nobody's.
    customer("c5", at(20, 9, 58, 30)),
    # c6: 600 s, Bo's.
    customer("c6", at(20, 8, 0)),
    reply("c6", at(20, 8, 10), "Bo"),
    # c7: exactly the target, 180 s: on time ("within" includes the target).
    customer("c7", at(19, 19, 0)),
    reply("c7", at(19, 19, 3), "An"),
]

CASES = [
    case(
        "k1",
        "goods.quality",
        "supplier",
        "open",
        at(19, 17, 20),
        at(19, 17, 20),
        "An",
        refund=1000,
        compensation=500,
    ),
    case(
        "k2",
        "logistics.lost",
        "courier",
        "resolved",
        at(19, 17, 30),
        at(19, 18, 0),
        "Bo",
        postage=1200,
    ),
    case(
        "k3",
        "goods.counterfeit",
        None,
        "open",
        at(20, 9, 0),
        at(20, 9, 0),
        "An",
        refund=2000,
        currency="USD",
    ),
    # Opened on Wednesday (not today), resolved today: resolved counts, its money not.
    case(
        "k4",
        "fulfilment.missing-item",
        "warehouse",
        "resolved",
        at(18, 3, 0),
        at(20, 8, 0),
        "An",
        refund=300,
    ),
    # Opened last week, still open: in no figure of today or this week.
    case("k5", "service.attitude", None, "open", at(10, 3, 0), at(10, 3, 0), "An"),
]


def day_figures(agent: str | None = None) -> ShiftFigures:
    start, end = period_bounds("day", NOW, SHANGHAI)
    return compute(DAY_MESSAGES, CASES, start, end, 180, agent, NOW)


# --- periods -------------------------------------------------------------------------


def test_period_bounds_in_shanghai() -> None:
    # 18:00 on Friday in Shanghai: the day began at 16:00 UTC on Thursday.
    assert period_bounds("day", NOW, SHANGHAI) == (SHANGHAI_MIDNIGHT, NOW)
    # 01:00 on Friday in Shanghai is still Thursday in UTC; the day is Friday's.
    early = at(19, 17, 0)
    assert period_bounds("day", early, SHANGHAI) == (SHANGHAI_MIDNIGHT, early)
    # The week began on Monday 2026-11-16 00:00 in Shanghai = Sunday 16:00 UTC.
    assert period_bounds("week", NOW, SHANGHAI) == (at(15, 16, 0), NOW)
    # At 01:00 on Monday in Shanghai (Sunday in UTC) the week is an hour old.
    monday = at(15, 17, 0)
    assert period_bounds("week", monday, SHANGHAI) == (at(15, 16, 0), monday)
    assert period_bounds("shift", NOW, SHANGHAI) == (NOW - timedelta(hours=8), NOW)
    assert period_bounds("shift", NOW, shift_hours=6) == (NOW - timedelta(hours=6), NOW)
    with pytest.raises(ValueError, match="unknown period"):
        period_bounds("month", NOW, SHANGHAI)


def test_period_bounds_in_utc_and_new_york() -> None:
    assert period_bounds("day", NOW, ZoneInfo("UTC"))[0] == at(20, 0)
    # New York is UTC-5 in November: Friday's midnight there is 05:00 UTC.
    assert period_bounds("day", NOW, ZoneInfo("America/New_York"))[0] == at(20, 5)
    start, end = period_bounds("day", NOW)  # the machine's zone: at most a day back
    assert timedelta(0) <= end - start <= timedelta(hours=24)
    assert start.tzinfo is not None


def test_nearest_rank() -> None:
    values = [45.0, 60.0, 120.0, 180.0, 600.0]
    # n=5: median rank ceil(2.5)=3, p90 rank ceil(4.5)=5.
    assert reports.nearest_rank(values, 50) == 120
    assert reports.nearest_rank(values, 90) == 600
    # n=4: median rank 2 (no averaging of the middle pair); p90 rank ceil(3.6)=4.
    assert reports.nearest_rank([4.0, 1.0, 3.0, 2.0], 50) == 2
    assert reports.nearest_rank([4.0, 1.0, 3.0, 2.0], 90) == 4
    # n=10: p90 rank is exactly 9 (a float ceiling would say 10).
    assert reports.nearest_rank([float(i) for i in range(1, 11)], 90) == 9
    assert reports.nearest_rank([], 50) is None


# --- the figures on hand-made rows ----------------------------------------------------


def test_day_figures_for_everyone() -> None:
    figures = day_figures()
    assert figures.start == SHANGHAI_MIDNIGHT
    # Replies today: c1 16:03 An, c1 16:11 Bo, c2 x2, c3, c6, c7 = 7 in 5 conversations.
    assert figures.messages_sent == 7
    assert figures.conversations_handled == 5
    assert figures.internal_notes == 1
    # First turns answered: c1 60, c2 120, c3 45, c6 600, c7 180 -> [45,60,120,180,600]:
    # median (rank 3) 120, p90 (rank 5) 600; c4 and c5 unanswered.
    assert figures.first_response_median_s == 120
    assert figures.first_response_p90_s == 600
    assert figures.first_response_answered == 5
    assert figures.first_response_unanswered == 2
    # Turns of the day: c1 60, c2 120 and 300, c3 45, c6 600, c7 180, c4, c5 = 8;
    # the 15:58 turn of c1 is Thursday's. Mean of the six answers: 1305 / 6 = 217.5.
    assert figures.turns == 8
    assert figures.turns_answered == 6
    assert figures.average_response_s == pytest.approx(217.5)
    # On time: 60, 120, 45, 180 = 4; late: 300, 600, c4 unanswered = 3; c5 not due.
    assert (figures.turns_on_time, figures.turns_late, figures.turns_not_yet_due) == (4, 3, 1)
    assert figures.on_time_share == pytest.approx(4 / 7)
    assert figures.quick_replies_used == 0
    assert not figures.quick_replies_recorded


def test_day_figures_for_one_agent() -> None:
    figures = day_figures("An")
    # An's replies today: c1 16:03, c2 17:02 and 17:15, c3, c7 = 5 in 4 conversations.
    assert figures.messages_sent == 5
    assert figures.conversations_handled == 4
    assert figures.internal_notes == 1
    # An's first turns: c2 120, c3 45, c7 180 (c1's first turn today was Bo's), plus c4
    # unanswered and assigned to An: median rank 2 of [45,120,180] = 120, p90 rank 3.
    assert figures.first_response_median_s == 120
    assert figures.first_response_p90_s == 180
    assert figures.first_response_answered == 3
    assert figures.first_response_unanswered == 1
    # An's turns: 120, 300, 45, 180 and c4: mean 645 / 4 = 161.25; 3 on time of 5 due.
    assert figures.turns == 5
    assert figures.average_response_s == pytest.approx(161.25)
    assert (figures.turns_on_time, figures.turns_late, figures.turns_not_yet_due) == (3, 2, 0)
    assert figures.on_time_share == pytest.approx(0.6)

    bo = day_figures("Bo")
    # Bo: c1 60 and c6 600; median rank 1 = 60, p90 rank 2 = 600.
    assert (bo.messages_sent, bo.conversations_handled) == (2, 2)
    assert (bo.first_response_median_s, bo.first_response_p90_s) == (60, 600)
    assert bo.on_time_share == pytest.approx(0.5)
    assert day_figures("Nobody").turns == 0
    assert day_figures("Nobody").on_time_share is None


def test_turn_across_the_shift_start() -> None:
    start, end = NOW - timedelta(hours=8), NOW  # 02:00 to 10:00 UTC
    rows = [
        # Opened at 01:58, before the shift: answered in the shift, but not its turn.
        customer("c8", at(20, 1, 58)),
        customer("c8", at(20, 2, 3)),
        reply("c8", at(20, 2, 4), "An"),
        # The shift's own turn: 120 s.
        customer("c8", at(20, 3, 0)),
        reply("c8", at(20, 3, 2), "An"),
        # A conversation whose only turn began before the shift has no first response.
        customer("c9", at(20, 1, 0)),
        customer("c9", at(20, 2, 30)),
        reply("c9", at(20, 2, 31), "An"),
    ]
    figures = compute(rows, [], start, end, 180, None, NOW)
    assert figures.messages_sent == 3
    assert figures.conversations_handled == 2
    assert figures.turns == 1
    assert figures.first_response_answered == 1
    assert figures.first_response_unanswered == 0
    assert figures.first_response_median_s == 120
    assert figures.average_response_s == 120


def test_target_is_a_parameter_and_not_yet_due_turns_are_left_out() -> None:
    start, end = period_bounds("day", NOW, SHANGHAI)
    # With a 60 s target: on time 60 and 45 = 2; late 120, 300, 600, 180, c4 = 5; c5 (90 s
    # old) is now overdue too: 6 late.
    strict = compute(DAY_MESSAGES, CASES, start, end, 60, None, NOW)
    assert (strict.turns_on_time, strict.turns_late, strict.turns_not_yet_due) == (2, 6, 0)
    # Ten seconds after c5 arrived, nothing of it is due yet with the default target.
    early = compute(DAY_MESSAGES, [], start, end, 180, None, at(20, 9, 58, 40))
    assert early.turns_not_yet_due == 1


def test_cases_by_category_responsible_and_money() -> None:
    figures = day_figures()
    # Opened today: k1, k2, k3 (k4 on Wednesday, k5 last week).
    assert figures.cases_opened == 3
    assert figures.opened_by_category == {
        "goods.counterfeit": 1,
        "goods.quality": 1,
        "logistics.lost": 1,
    }
    assert figures.opened_by_responsible == {"courier": 1, "not set": 1, "supplier": 1}
    # Resolved today: k2 (changed 18:00) and k4 (changed 08:00).
    assert figures.cases_resolved == 2
    assert figures.resolved_by_category == {"fulfilment.missing-item": 1, "logistics.lost": 1}
    assert figures.resolved_by_responsible == {"courier": 1, "warehouse": 1}
    # Money of the cases opened today only (k4's 3.00 refund is Wednesday's), per currency.
    assert figures.money == (
        MoneyTotal("CNY", refund_minor=1000, compensation_minor=500, postage_lost_minor=1200),
        MoneyTotal("USD", refund_minor=2000),
    )
    an = day_figures("An")
    assert (an.cases_opened, an.cases_resolved) == (2, 1)
    assert an.money == (
        MoneyTotal("CNY", refund_minor=1000, compensation_minor=500),
        MoneyTotal("USD", refund_minor=2000),
    )


def test_weekly_summary_and_its_chart() -> None:
    start, end = period_bounds("week", NOW, SHANGHAI)
    summary = reports.summarize_cases(CASES, start, end)
    # This week: k1, k2, k3, k4 (k5 was last week).
    assert summary.total == 4
    assert summary.by_family == {"goods": 2, "fulfilment": 1, "logistics": 1}
    assert summary.by_responsible == {"courier": 1, "not set": 1, "supplier": 1, "warehouse": 1}
    assert summary.by_family_responsible["goods"] == {"not set": 1, "supplier": 1}
    assert [c.case_id for c in summary.special] == ["k3"]
    text = report_text.render_summary(summary, tz=SHANGHAI)
    lines = text.splitlines()
    goods = next(line for line in lines if line.strip().startswith("goods"))
    logistics = next(line for line in lines if line.strip().startswith("logistics"))
    # Two cases fill the chart's width; one case gets half of it.
    assert goods.count("█") == report_text.BAR_WIDTH
    assert logistics.count("█") == report_text.BAR_WIDTH // 2
    assert "Special cases, to report at once: 1" in text
    assert "goods.counterfeit" in text
    assert "Asia/Shanghai" in text
    assert report_text.bar(0, 5) == ""
    assert report_text.bar(1, 1000) == "█"


# --- rendering -----------------------------------------------------------------------


def test_render_csv_parses() -> None:
    text = report_text.render(day_figures(), "csv")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["metric", "value"]
    values = dict(rows[1:])
    assert values["first_response.median_s"] == "120.0"
    assert values["first_response.p90_s"] == "600.0"
    assert values["turns.on_time_share"] == str(round(4 / 7, 4))
    assert values["cases.opened_by_category.goods.quality"] == "1"
    assert values["cases.money.USD.refund_minor"] == "2000"
    assert values["agent"] == ""
    assert values["period.start"] == "2026-11-19T16:00:00.000000Z"


def test_render_json_has_stable_keys() -> None:
    full = json.loads(report_text.render(day_figures(), "json"))
    empty = json.loads(report_text.render(day_figures("Nobody"), "json"))
    assert full["first_response"] == {
        "median_s": 120.0,
        "p90_s": 600.0,
        "answered": 5,
        "unanswered": 2,
    }
    assert full["average_response_s"] == 217.5
    assert full["turns"]["on_time_share"] == round(4 / 7, 4)
    assert full["quick_replies"] == {"used": 0, "recorded": False, "top": []}
    assert full["cases"]["money"]["CNY"]["postage_lost_minor"] == 1200

    def keys(tree: object, prefix: str = "") -> set[str]:
        if not isinstance(tree, dict) or prefix.endswith(
            ("by_category.", "responsible.", "money.")
        ):
            return {prefix}
        return {k for key, value in tree.items() for k in keys(value, f"{prefix}{key}.")}

    # With no data, the same keys, null where there is nothing to measure.
    assert keys(full) == keys(empty)
    assert empty["first_response"]["median_s"] is None
    assert empty["turns"]["on_time_share"] is None


def test_render_table_and_markdown() -> None:
    figures = day_figures("An")
    table = report_text.render(figures, "table", title="Day report", tz=SHANGHAI)
    assert table.splitlines()[0] == "Day report · An"
    assert "Period: 2026-11-20 00:00 → 2026-11-20 18:00 (Asia/Shanghai)" in table
    rows = [re.match(r"^  (\S.*?)  +(\S.*)$", line) for line in table.splitlines()]
    values = {m.group(1): m.group(2) for m in rows if m}
    assert values["First response, median"] == "2m00s"
    assert values["First response, 90th percentile"] == "3m00s"
    assert values["Average response"] == "2m41s"  # 161.25 s
    assert values["On time (within 3m00s)"] == "60.0% (3 of 5 due)"
    assert values["Quick replies used"] == "0 (not yet recorded)"
    cny = table.split("Money on cases opened (CNY)")[1].splitlines()
    assert cny[1].split() == ["Refunds", "¥10.00"]
    assert cny[2].split() == ["Compensation", "¥5.00"]
    # Every value starts in the same column.
    assert len({m.start(2) for m in rows if m}) == 1
    markdown = report_text.render(figures, "md", title="Day report", tz=SHANGHAI)
    assert markdown.startswith("## Day report · An")
    assert "| First response, median | 2m00s |" in markdown
    with pytest.raises(ValueError, match="unknown format"):
        report_text.render(figures, "xml")


def test_render_neutralises_hostile_names() -> None:
    hostile = "=HYPERLINK(\x1b]52;c;AAAA\x07)|*x*"
    rows = [customer("c1", at(20, 9, 0)), reply("c1", at(20, 9, 1), hostile)]
    figures = compute(rows, [], at(20, 8, 0), NOW, 180, hostile, NOW)
    for fmt in ("table", "md", "csv"):
        assert "\x1b" not in report_text.render(figures, fmt)
    values = dict(list(csv.reader(io.StringIO(report_text.render(figures, "csv")[1:])))[1:])
    assert values["agent"].startswith("'=")
    assert "\\|" in report_text.render(figures, "md")


# --- the store's queries -------------------------------------------------------------


@pytest.fixture
def filled_store(tmp_path: Path) -> Database:
    """A client store holding messages around a period starting at NOW - 8 h."""
    db = Database(tmp_path / "store.db")
    start = NOW - timedelta(hours=8)

    def message(conv: str, seq: int, kind: str, minutes: float, delivery: str = "sent") -> None:
        with db.write() as conn:
            conn.execute(
                insert(MESSAGE).values(
                    id=f"{conv}-{seq}",
                    conversation_id=conv,
                    kind=kind,
                    author="An" if kind in ("agent", "note") else "cust",
                    body="x",
                    created_at=start + timedelta(minutes=minutes),
                    delivery=delivery,
                )
            )

    with db.write() as conn:
        conn.execute(insert(CUSTOMER).values(id="cus", name="cust", updated_at=NOW))
        for conv in ("a", "b", "c", "d"):
            conn.execute(
                insert(CONVERSATION).values(
                    id=conv,
                    customer_id="cus",
                    group="after-sale",
                    status="open",
                    assignee="An" if conv == "d" else None,
                    last_activity_at=NOW,
                    updated_at=NOW,
                )
            )
    # a: history before the last reply before the period is not needed.
    message("a", 1, "customer", -180)
    message("a", 2, "agent", -170)
    message("a", 3, "customer", -60)
    message("a", 4, "customer", 10)
    message("a", 5, "agent", 20)
    # b: no reply before the period: everything from the start.
    message("b", 1, "customer", -300)
    message("b", 2, "customer", 1)
    # c: nothing in the period.
    message("c", 1, "customer", -30)
    # d: a reply that failed to send answers nothing.
    message("d", 1, "customer", 5)
    message("d", 2, "agent", 6, delivery="failed")
    with db.write() as conn:
        conn.execute(
            insert(CASE).values(
                id="k-in",
                category="goods.quality",
                status="open",
                refund_minor=500,
                created_by="An",
                created_at=start + timedelta(minutes=30),
                updated_at=start + timedelta(minutes=30),
            )
        )
        conn.execute(
            insert(CASE).values(
                id="k-resolved",
                category="logistics.lost",
                status="resolved",
                created_by="An",
                created_at=start - timedelta(days=3),
                updated_at=start + timedelta(minutes=40),
            )
        )
        conn.execute(
            insert(CASE).values(
                id="k-old",
                category="logistics.lost",
                status="open",
                created_by="An",
                created_at=start - timedelta(days=3),
                updated_at=start + timedelta(minutes=40),
            )
        )
    return db


def test_store_reads_from_the_last_reply_before_the_period(filled_store: Database) -> None:
    start = NOW - timedelta(hours=8)
    rows = messages_around(filled_store, start, NOW)
    assert [(r.conversation_id, r.kind) for r in rows] == [
        ("a", "agent"),
        ("a", "customer"),
        ("a", "customer"),
        ("a", "agent"),
        ("b", "customer"),
        ("b", "customer"),
        ("d", "customer"),
    ]
    assert rows[-1].assignee == "An"
    assert all(r.created_at.tzinfo is not None for r in rows)
    assert [c.case_id for c in cases_in_period(filled_store, start, NOW)] == [
        "k-resolved",
        "k-in",
    ]

    ctx = AgentContext(settings=Settings(paths=Paths(filled_store.path.parent)), db=filled_store)
    figures = reports.figures(ctx, start=start, end=NOW, now=NOW)
    # a's turn began at -60 min (before the period); b's at -300 min; d's at +5 min,
    # unanswered (the failed reply does not count) and long overdue.
    assert figures.turns == 1
    assert figures.first_response_unanswered == 1
    assert (figures.turns_late, figures.messages_sent) == (1, 1)
    assert (figures.cases_opened, figures.cases_resolved) == (1, 1)
    assert figures.money == (MoneyTotal("CNY", refund_minor=500),)
    filled_store.close()


# --- end to end with the real server -------------------------------------------------


def test_figures_from_a_synced_store(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    engine.run_once()
    # The tiny shop: conv-1 waits since 5 min ago, conv-2 since 1 min ago; Mei answered
    # conv-3 30 min ago.
    conversations.send(ctx, "conv-1", "您好，我们马上帮您查询物流。", force=True)
    conversations.send(ctx, "conv-2", "Yes, the blue mug is in stock.", force=True)
    conversations.send(ctx, "conv-1", "已联系中通", note=True)
    draft = case_service.draft_for(
        ctx, conversation_id="conv-1", customer_id="cus-1", order=None, messages=[]
    )
    draft.category = CaseCategory.NO_TRACKING_UPDATE
    draft.responsible = Responsible.COURIER
    draft.postage_lost_minor = 800
    case_service.save(ctx, draft)
    report = engine.run_once()
    assert report.refused == 0

    now = utcnow() + timedelta(seconds=1)
    start, end = period_bounds("shift", now)
    lan = reports.figures(ctx, start=start, end=end, agent="Lan", now=now)
    assert lan.messages_sent == 2
    assert lan.conversations_handled == 2
    assert lan.internal_notes == 1
    # conv-1 waited about five minutes (late), conv-2 about one (on time).
    assert lan.first_response_answered == 2
    assert (lan.turns_on_time, lan.turns_late) == (1, 1)
    assert lan.first_response_p90_s is not None
    assert 290 < lan.first_response_p90_s < 330
    assert lan.first_response_median_s is not None
    assert 50 < lan.first_response_median_s < 90
    assert lan.cases_opened == 1
    assert lan.opened_by_responsible == {"courier": 1}
    assert lan.money == (MoneyTotal("CNY", postage_lost_minor=800),)

    everyone = reports.figures(ctx, start=start, end=end, now=now)
    assert everyone.messages_sent == 3  # Mei's reply to conv-3 too
    assert everyone.conversations_handled == 3

    parsed = json.loads(report_text.run_report(ctx, "shift", "Lan", "json", now=now))
    assert parsed["messages_sent"] == 2
    assert parsed["agent"] == "Lan"
    assert "Shift report · Lan" in report_text.run_report(ctx, "shift", "Lan", "table", now=now)
    assert "Cases this week: 1" in report_text.run_summary(ctx, now=now)
    with pytest.raises(ValueError, match="unknown format"):
        report_text.run_report(ctx, "shift", None, "xlsx", now=now)
    engine.backend.close()
    ctx.close()


# --- the screen ----------------------------------------------------------------------


class ReportApp(App[None]):
    """Just enough app to show the screen."""

    def __init__(self, context: AgentContext, now: datetime) -> None:
        super().__init__()
        self.context = context
        self.now = now

    def on_mount(self) -> None:
        self.push_screen(ShiftReportScreen(self.context, self.now, tz=SHANGHAI))


async def test_shift_report_screen_shows_the_figures(
    tmp_path: Path, live_server: LiveServer, tokens: dict[str, str]
) -> None:
    ctx = client_context(tmp_path / "lan", live_server, tokens["Lan"])
    engine = sync.make_engine(ctx)
    engine.run_once()
    conversations.send(ctx, "conv-2", "Yes, it is in stock.", force=True)
    engine.run_once()
    app = ReportApp(ctx, utcnow() + timedelta(seconds=1))
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ShiftReportScreen)
        shift = str(screen.query_one("#shift", Static).render())
        week = str(screen.query_one("#week", Static).render())
        assert "First response" in shift
        assert "This shift · Lan" in shift
        assert "Messages sent" in shift
        assert "This week's cases: 0" in week
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ShiftReportScreen)
    engine.backend.close()
    ctx.close()
