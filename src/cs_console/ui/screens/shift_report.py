"""The shift report: this shift's response figures and the week's after-sales cases.

An agent sees their own figures; a supervisor sees everyone's. The definitions are in
``docs/REPORTS.md``; this screen only shows what :mod:`cs_console.services.reports`
computes, so the screen and ``cs-console report`` never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from cs_console.services import reports
from cs_console.services.context import AgentContext
from cs_console.ui.text import fit, safe_line

#: Label column width of the figures, in terminal cells.
LABEL_WIDTH = 34
#: Widest bar of the weekly chart, in block characters (the dialog is narrow).
CHART_WIDTH = 20


class ShiftReportScreen(ModalScreen[None]):
    """Escape (or q) closes. The figures are counted in a thread: reading the store must
    not stall the key handling, however small the queries are today.

    Args:
        context: The agent's context (store, who the agent is).
        now: The end of the shift, aware; passed in so that tests can freeze the clock.
        tz: The agent's zone for the week's start and the times shown (None: local).
        target_s: The shop's response target in seconds.
    """

    CSS_PATH = "shift_report.tcss"
    BINDINGS = [Binding("escape,q", "close", "Close", id="shift_report.close")]

    @dataclass
    class FiguresCounted(Message):
        """The worker has the shift's figures and the week's case summary."""

        figures: reports.ShiftFigures
        summary: reports.CaseSummary

    def __init__(
        self,
        context: AgentContext,
        now: datetime,
        *,
        tz: tzinfo | None = None,
        target_s: float = reports.DEFAULT_TARGET_S,
    ) -> None:
        super().__init__()
        self.context = context
        self.now = now
        self.tz = tz
        self.target_s = target_s

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content.styled("Shift report", "bold"), id="title")
            with VerticalScroll(id="body"):
                yield Static(Content.styled("Counting…", "$text-muted"), id="shift")
                yield Static(Content(""), id="week")
            yield Static(Content.styled("Esc: close", "$text-muted"), id="hint")

    def on_mount(self) -> None:
        self.count()

    @work(thread=True, exclusive=True, group="shift_report", exit_on_error=False)
    def count(self) -> None:
        """Read the store and post the result; never touches a widget (thread)."""
        agent = None if self.context.is_supervisor else self.context.agent_name
        start, end = reports.period_bounds("shift", self.now, self.tz)
        figures = reports.figures(
            self.context,
            start=start,
            end=end,
            agent=agent,
            target_s=self.target_s,
            now=self.now,
        )
        summary = reports.weekly_summary(self.context, self.now, self.tz)
        self.post_message(self.FiguresCounted(figures, summary))

    def on_shift_report_screen_figures_counted(self, message: FiguresCounted) -> None:
        self.query_one("#shift", Static).update(self._figures_content(message.figures))
        self.query_one("#week", Static).update(self._summary_content(message.summary))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Say so in the dialog if counting failed, rather than show "Counting…" forever."""
        if event.worker.group == "shift_report" and event.state is WorkerState.ERROR:
            error = event.worker.error
            self.query_one("#shift", Static).update(
                Content.styled(
                    f"Could not count the figures: {type(error).__name__}: {error}", "$error"
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)

    # --- rendering ---------------------------------------------------------------

    def _figures_content(self, figures: reports.ShiftFigures) -> Content:
        heading, period = reports.report_heading(figures, "This shift", self.tz)
        parts = [Content.styled(heading, "bold"), Content.styled(period, "$text-muted")]
        for section in reports.figure_sections(figures):
            parts += [Content(""), Content.styled(section.title, "bold $accent")]
            for label, value in section.rows:
                parts.append(
                    Content.assemble(
                        ("  " + fit(label, LABEL_WIDTH), "$text-muted"), (value, "bold")
                    )
                )
        return Content("\n").join(parts)

    def _summary_content(self, summary: reports.CaseSummary) -> Content:
        since = summary.start.astimezone(self.tz).strftime("%a %m-%d %H:%M")
        parts = [
            Content(""),
            Content.styled(f"This week's cases: {summary.total}", "bold"),
            Content.styled(f"since {since}", "$text-muted"),
        ]
        for title, counts in (
            ("By category family", summary.by_family),
            ("By responsible party", summary.by_responsible),
        ):
            parts += [Content(""), Content.styled(title, "bold $accent")]
            if not counts:
                parts.append(Content.styled("  none", "$text-muted"))
                continue
            largest = max(counts.values())
            for key, count in counts.items():
                parts.append(
                    Content.assemble(
                        "  " + fit(safe_line(key), 14),
                        (f"{count:>4}  ", "bold"),
                        (reports.bar(count, largest, CHART_WIDTH), "$accent"),
                    )
                )
        parts += [
            Content(""),
            Content.styled(
                f"Special cases, report at once: {len(summary.special)}",
                "bold $warning" if summary.special else "bold",
            ),
        ]
        for case in summary.special:
            when = case.created_at.astimezone(self.tz).strftime("%m-%d %H:%M")
            parts.append(
                Content.assemble(
                    (f"  {when}  ", "$text-muted"),
                    (safe_line(case.category), "bold"),
                    "  " + safe_line(case.status),
                    ("  by " + safe_line(case.created_by), "$text-muted"),
                    "  " + safe_line(case.order_id or case.case_id),
                )
            )
        return Content("\n").join(parts)
