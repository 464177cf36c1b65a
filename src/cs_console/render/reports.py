"""The shift, day and week figures and the weekly case summary, as text.

:mod:`cs_console.services.reports` computes the figures; this module only writes them
out: an aligned table, Markdown, CSV or JSON for ``cs-console report``, and the titled
sections the shift report screen shows, so the two never disagree. Every string that
comes from data (agent names, categories, currencies) goes through the sanitiser.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal, TypeAlias

from rich.cells import cell_len

from cs_console.money import format_money
from cs_console.sanitize import sanitize_line
from cs_console.services.context import AgentContext
from cs_console.services.reports import (
    DEFAULT_SHIFT_HOURS,
    DEFAULT_TARGET_S,
    CaseSummary,
    ShiftFigures,
    figures,
    period_bounds,
    weekly_summary,
)
from cs_console.timeutil import format_stored, humanize_duration, utcnow

__all__ = [
    "BAR_WIDTH",
    "FORMATS",
    "ReportFormat",
    "Section",
    "bar",
    "figure_sections",
    "render",
    "render_summary",
    "report_heading",
    "run_report",
    "run_summary",
]

ReportFormat: TypeAlias = Literal["table", "csv", "json", "md"]
FORMATS: tuple[ReportFormat, ...] = ("table", "csv", "json", "md")

#: Widest bar of the summary's chart, in block characters.
BAR_WIDTH = 24


@dataclass(frozen=True, slots=True)
class Section:
    """A titled block of (label, value) lines, shared by the text forms and the UI."""

    title: str
    rows: tuple[tuple[str, str], ...]


def _text(value: str) -> str:
    """Data (agent names, categories from a backend) may carry escape sequences."""
    return sanitize_line(value)


def _duration(seconds: float | None) -> str:
    return "—" if seconds is None else humanize_duration(round(seconds))


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _amount(minor: int, currency: str) -> str:
    # The currency decides the decimals: yen and dong have none, dinars three.
    return _text(format_money(minor, currency))


def _zone_label(tz: tzinfo | None, sample: datetime) -> str:
    key = getattr(tz, "key", None)
    return str(key) if key else sample.astimezone(tz).strftime("UTC%z")


def _when(moment: datetime, tz: tzinfo | None) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def figure_sections(report: ShiftFigures) -> list[Section]:
    """The figures as titled (label, value) lines, in the order every view shows them
    (the table and Markdown forms, and the shift report screen)."""
    due = report.turns_on_time + report.turns_late
    on_time = _share(report.on_time_share)
    if report.turns:
        on_time += f" ({report.turns_on_time} of {due} due"
        on_time += f"; {report.turns_not_yet_due} not yet due)" if report.turns_not_yet_due else ")"
    main = Section(
        "Responses",
        (
            ("Conversations handled", str(report.conversations_handled)),
            ("First response, median", _duration(report.first_response_median_s)),
            ("First response, 90th percentile", _duration(report.first_response_p90_s)),
            ("First response, answered", str(report.first_response_answered)),
            ("First response, unanswered", str(report.first_response_unanswered)),
            ("Average response", _duration(report.average_response_s)),
            ("Customer turns", str(report.turns)),
            (f"On time (within {_duration(report.target_s)})", on_time),
            ("Messages sent", str(report.messages_sent)),
            ("Internal notes", str(report.internal_notes)),
            (
                "Quick replies used",
                str(report.quick_replies_used)
                + ("" if report.quick_replies_recorded else " (not yet recorded)"),
            ),
        ),
    )
    cases = Section(
        "Cases",
        (
            ("Cases opened", str(report.cases_opened)),
            ("Cases resolved", str(report.cases_resolved)),
        ),
    )
    sections = [main, cases]
    if report.top_quick_replies:
        sections.append(
            Section(
                "Most used quick replies",
                tuple((_text(reply_id), str(n)) for reply_id, n in report.top_quick_replies),
            )
        )
    for title, counts in (
        ("Opened, by category", report.opened_by_category),
        ("Opened, by responsible party", report.opened_by_responsible),
        ("Resolved, by category", report.resolved_by_category),
        ("Resolved, by responsible party", report.resolved_by_responsible),
    ):
        if counts:
            sections.append(Section(title, tuple((_text(k), str(v)) for k, v in counts.items())))
    for total in report.money:
        sections.append(
            Section(
                f"Money on cases opened ({_text(total.currency)})",
                (
                    ("Refunds", _amount(total.refund_minor, total.currency)),
                    ("Compensation", _amount(total.compensation_minor, total.currency)),
                    ("Postage lost", _amount(total.postage_lost_minor, total.currency)),
                ),
            )
        )
    return sections


def report_heading(report: ShiftFigures, title: str, tz: tzinfo | None = None) -> tuple[str, str]:
    """The heading ("Shift report · Lan") and the period line, times shown in ``tz``."""
    who = _text(report.agent) if report.agent is not None else "all agents"
    period = f"{_when(report.start, tz)} → {_when(report.end, tz)} ({_zone_label(tz, report.end)})"
    return f"{title} · {who}", period


def _as_json(report: ShiftFigures) -> dict[str, object]:
    def seconds(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    share = report.on_time_share
    return {
        "period": {"start": format_stored(report.start), "end": format_stored(report.end)},
        "agent": report.agent,
        "target_s": report.target_s,
        "conversations_handled": report.conversations_handled,
        "first_response": {
            "median_s": seconds(report.first_response_median_s),
            "p90_s": seconds(report.first_response_p90_s),
            "answered": report.first_response_answered,
            "unanswered": report.first_response_unanswered,
        },
        "average_response_s": seconds(report.average_response_s),
        "turns": {
            "total": report.turns,
            "answered": report.turns_answered,
            "on_time": report.turns_on_time,
            "late": report.turns_late,
            "not_yet_due": report.turns_not_yet_due,
            "on_time_share": None if share is None else round(share, 4),
        },
        "messages_sent": report.messages_sent,
        "internal_notes": report.internal_notes,
        "quick_replies": {
            "used": report.quick_replies_used,
            "recorded": report.quick_replies_recorded,
            "top": [{"id": reply_id, "uses": n} for reply_id, n in report.top_quick_replies],
        },
        "cases": {
            "opened": report.cases_opened,
            "resolved": report.cases_resolved,
            "opened_by_category": report.opened_by_category,
            "opened_by_responsible": report.opened_by_responsible,
            "resolved_by_category": report.resolved_by_category,
            "resolved_by_responsible": report.resolved_by_responsible,
            "money": {
                m.currency: {
                    "refund_minor": m.refund_minor,
                    "compensation_minor": m.compensation_minor,
                    "postage_lost_minor": m.postage_lost_minor,
                }
                for m in report.money
            },
        },
    }


def _flatten(tree: Mapping[str, object], prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, name + "."))
        else:
            rows.append((name, value))
    return rows


def _cell(value: object) -> str:
    """A CSV cell: no escape sequences, and no text a spreadsheet would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = _text(str(value))
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text


def _md(value: str) -> str:
    """Markdown's special characters escaped, so data cannot format or break a table."""
    return "".join("\\" + ch if ch in "\\|*_`[]<>#" else ch for ch in value)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


def render(
    report: ShiftFigures,
    fmt: str = "table",
    *,
    title: str = "Figures",
    tz: tzinfo | None = None,
) -> str:
    """The figures as text.

    Args:
        report: The figures.
        fmt: ``"table"`` (aligned plain text, durations like ``1m05s``), ``"csv"``
            (``metric,value`` rows after a header, UTF-8 BOM first for spreadsheet
            programs), ``"json"`` (always the same keys; null where there is no data)
            or ``"md"`` (Markdown tables).
        title: The heading of the table and Markdown forms.
        tz: The zone in which the table and Markdown forms show the period.

    Raises:
        ValueError: For an unknown format.
    """
    if fmt == "json":
        return json.dumps(_as_json(report), ensure_ascii=False, indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(("metric", "value"))
        writer.writerows((_cell(name), _cell(value)) for name, value in _flatten(_as_json(report)))
        return "\ufeff" + buffer.getvalue()
    heading, period = report_heading(report, _text(title), tz)
    sections = figure_sections(report)
    if fmt == "table":
        width = max(cell_len(label) for s in sections for label, _ in s.rows) + 2
        lines = [heading, f"Period: {period}"]
        for section in sections:
            lines += ["", section.title]
            lines += [f"  {_pad(label, width)}{value}" for label, value in section.rows]
        return "\n".join(lines) + "\n"
    if fmt == "md":
        lines = [f"## {_md(heading)}", "", f"Period: {_md(period)}"]
        for section in sections:
            lines += ["", f"### {_md(section.title)}", "", "| Figure | Value |", "| --- | ---: |"]
            lines += [f"| {_md(label)} | {_md(value)} |" for label, value in section.rows]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}: table, csv, json or md")


def bar(count: int, largest: int, width: int = BAR_WIDTH) -> str:
    """A bar of '█' proportional to ``count`` (``largest`` fills ``width``); any
    non-zero count shows at least one block, so a single case is not invisible."""
    if count <= 0 or largest <= 0:
        return ""
    return "█" * max(1, round(count / largest * width))


def render_summary(summary: CaseSummary, *, tz: tzinfo | None = None) -> str:
    """The weekly case summary as plain text with a bar chart per breakdown.

    Args:
        summary: The summary.
        tz: The zone in which to show times (the machine's zone if None).
    """
    start, end = _when(summary.start, tz), _when(summary.end, tz)
    lines = [
        f"Cases this week: {summary.total}",
        f"Period: {start} → {end} ({_zone_label(tz, summary.end)})",
    ]
    for title, counts in (
        ("By category family", summary.by_family),
        ("By responsible party", summary.by_responsible),
    ):
        lines += ["", title]
        if not counts:
            lines.append("  (none)")
            continue
        largest = max(counts.values())
        label_width = max(cell_len(_text(k)) for k in counts) + 2
        count_width = len(str(largest)) + 1
        for key, count in counts.items():
            lines.append(
                f"  {_pad(_text(key), label_width)}{count:>{count_width}}  {bar(count, largest)}"
            )
    if summary.by_family_responsible:
        lines += ["", "Family × responsible party"]
        for family, parties in summary.by_family_responsible.items():
            detail = ", ".join(f"{_text(party)} {n}" for party, n in parties.items())
            lines.append(f"  {_text(family)}: {detail}")
    lines += ["", f"Special cases, to report at once: {len(summary.special)}"]
    for case in summary.special:
        order = f"  order {_text(case.order_id)}" if case.order_id else ""
        lines.append(
            f"  {_when(case.created_at, tz)}  {_text(case.case_id)}  {_text(case.category)}"
            f"  {_text(case.status)}  by {_text(case.created_by)}{order}"
        )
    return "\n".join(lines) + "\n"


# --- one call each for the command line ----------------------------------------------


def run_report(
    ctx: AgentContext,
    kind: str,
    agent: str | None,
    fmt: str,
    now: datetime | None = None,
    tz: tzinfo | None = None,
    *,
    target_s: float = DEFAULT_TARGET_S,
    shift_hours: float = DEFAULT_SHIFT_HOURS,
) -> str:
    """``cs-console report shift|day|week``: compute the period's figures and render them.

    Args:
        ctx: The agent's context.
        kind: ``"shift"``, ``"day"`` or ``"week"``.
        agent: Only this agent's figures; None for everyone.
        fmt: ``"table"``, ``"csv"``, ``"json"`` or ``"md"``.
        now: The end of the period (default: the current time).
        tz: The agent's zone (default: the machine's).
        target_s: The shop's response target in seconds.
        shift_hours: The length of a shift.

    Raises:
        ValueError: For an unknown kind or format (before the store is read).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: table, csv, json or md")
    moment = now or utcnow()
    start, end = period_bounds(kind, moment, tz, shift_hours)
    report = figures(ctx, start=start, end=end, agent=agent, target_s=target_s, now=moment)
    return render(report, fmt, title=f"{kind.capitalize()} report", tz=tz)


def run_summary(ctx: AgentContext, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """The weekly case summary as text (for ``cs-console report cases``)."""
    return render_summary(weekly_summary(ctx, now or utcnow(), tz), tz=tz)
