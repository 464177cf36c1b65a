"""The shift report: this shift's response figures and the week's after-sales cases.

An agent sees their own figures; a supervisor sees everyone's. The definitions are in
``docs/REPORTS.md``; this screen only shows what :mod:`cs_console.services.reports`
computes, in the sections :mod:`cs_console.render.reports` lays out, so the screen and
``cs-console report`` never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from cs_console.i18n import N_, _
from cs_console.render import reports as report_text
from cs_console.services import reports
from cs_console.services.context import AgentContext
from cs_console.ui.text import case_status_label, fit, responsible_label, safe_line, weekday_label

if TYPE_CHECKING:
    from cs_console.ui.panes.base import Desk

#: Label column width of the figures, in terminal cells.
LABEL_WIDTH = 34
#: Widest bar of the weekly chart, in block characters (the dialog is narrow).
CHART_WIDTH = 20

#: The fixed titles and labels :func:`report_text.figure_sections` and the weekly summary
#: give, marked here so that extraction puts them in the catalogues; the screen
#: translates them as it shows them. (Labels with a value inside, such as the response
#: target, stay in English until the report service marks its own strings.)
REPORT_WORDS = (
    N_("Responses"),
    N_("Conversations handled"),
    N_("First response, median"),
    N_("First response, 90th percentile"),
    N_("First response, answered"),
    N_("First response, unanswered"),
    N_("Average response"),
    N_("Customer turns"),
    N_("Messages sent"),
    N_("Internal notes"),
    N_("Quick replies used"),
    N_("Cases"),
    N_("Cases opened"),
    N_("Cases resolved"),
    N_("Opened, by category"),
    N_("Opened, by responsible party"),
    N_("Resolved, by category"),
    N_("Resolved, by responsible party"),
    N_("Refunds"),
    N_("Compensation"),
    N_("Postage lost"),
    N_("not set"),
    N_("logistics"),
    N_("goods"),
    N_("fulfilment"),
    N_("refund"),
    N_("invoice"),
    N_("service"),
    N_("review"),
    N_("feedback"),
)


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
    BINDINGS = [Binding("escape,q", "close", N_("Close"), id="shift_report.close")]

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
            yield Static(Content.styled(_("Shift report"), "bold"), id="title")
            with VerticalScroll(id="body"):
                yield Static(Content.styled(_("Counting…"), "$text-muted"), id="shift")
                yield Static(Content(""), id="week")
            yield Static(Content.styled(_("Esc: close"), "$text-muted"), id="hint")

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
                    _("Could not count the figures: {error}").format(
                        # The error may quote store data (a name, a message).
                        error=safe_line(f"{type(error).__name__}: {error}")
                    ),
                    "$error",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)

    # --- rendering ---------------------------------------------------------------

    def _figures_content(self, figures: reports.ShiftFigures) -> Content:
        heading, period = report_text.report_heading(figures, _("This shift"), self.tz)
        parts = [Content.styled(heading, "bold"), Content.styled(period, "$text-muted")]
        for section in report_text.figure_sections(figures):
            parts += [Content(""), Content.styled(_(section.title), "bold $accent")]
            by_responsible = section.title.endswith("by responsible party")
            for label, value in section.rows:
                shown = responsible_label(label) if by_responsible else _(label)
                parts.append(
                    Content.assemble(
                        ("  " + fit(shown, LABEL_WIDTH), "$text-muted"), (value, "bold")
                    )
                )
        return Content("\n").join(parts)

    def _summary_content(self, summary: reports.CaseSummary) -> Content:
        start = summary.start.astimezone(self.tz)
        since = f"{weekday_label(start)} {start.strftime('%m-%d %H:%M')}"
        parts = [
            Content(""),
            Content.styled(_("This week's cases: {count}").format(count=summary.total), "bold"),
            Content.styled(_("since {time}").format(time=since), "$text-muted"),
        ]
        for title, counts, label in (
            (_("By category family"), summary.by_family, _),
            (_("By responsible party"), summary.by_responsible, responsible_label),
        ):
            parts += [Content(""), Content.styled(title, "bold $accent")]
            if not counts:
                parts.append(Content.styled("  " + _("none"), "$text-muted"))
                continue
            largest = max(counts.values())
            for key, count in counts.items():
                parts.append(
                    Content.assemble(
                        "  " + fit(label(safe_line(key)), 14),
                        (f"{count:>4}  ", "bold"),
                        (report_text.bar(count, largest, CHART_WIDTH), "$accent"),
                    )
                )
        parts += [
            Content(""),
            Content.styled(
                _("Special cases, report at once: {count}").format(count=len(summary.special)),
                "bold $warning" if summary.special else "bold",
            ),
        ]
        for case in summary.special:
            when = case.created_at.astimezone(self.tz).strftime("%m-%d %H:%M")
            parts.append(
                Content.assemble(
                    (f"  {when}  ", "$text-muted"),
                    (safe_line(case.category), "bold"),
                    "  " + case_status_label(safe_line(case.status)),
                    (
                        "  " + _("by {agent}").format(agent=safe_line(case.created_by)),
                        "$text-muted",
                    ),
                    "  " + safe_line(case.order_id or case.case_id),
                )
            )
        return Content("\n").join(parts)


def show_figures(desk: Desk, node: Widget) -> None:
    """F9: this shift's figures (a supervisor sees everyone's) and the week's cases."""
    ctx = desk.ctx
    if ctx is None:
        return
    target_s = ctx.settings.shift.response_target_minutes * 60
    node.app.push_screen(ShiftReportScreen(ctx, desk.console.clock(), target_s=target_s))
