"""The after-sales register and today's follow-ups, in one keyboard-driven list.

1 open cases · 2 awaiting approval · 3 due today (cases, unpaid orders, orders near the
ship-by deadline) · 4 all. Enter opens the row (a case: its form; an order: the
customer's conversation). A supervisor approves with y and declines with n. Below the
list, the highlighted case's history: who changed what, when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from cs_console.domain import CaseCategory
from cs_console.i18n import N_, _
from cs_console.services import cases, orders
from cs_console.ui.keys import translate_active_bindings
from cs_console.ui.panes.base import GoToConversation
from cs_console.ui.screens.case_flow import edit_case
from cs_console.ui.screens.case_form import CATEGORY_LABELS
from cs_console.ui.text import case_status_label, local_time, money, safe_line
from cs_console.ui.widgets.case_history import CaseHistory
from cs_console.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext
    from cs_console.ui.panes.base import Desk
    from cs_console.views import CaseRow

MODES = {
    "open": N_("Open cases"),
    "approval": N_("Awaiting approval"),
    "due": N_("Due today"),
    "all": N_("All cases"),
}


@dataclass(frozen=True, slots=True)
class OpenTarget:
    """What the agent chose: a case to edit, or a customer to talk to."""

    case: CaseRow | None = None
    customer_id: str | None = None


class CasesScreen(ModalScreen[OpenTarget | None]):
    """The register."""

    CSS_PATH = "cases.tcss"
    BINDINGS = [
        Binding("1", "mode('open')", N_("Open"), id="cases.open"),
        Binding("2", "mode('approval')", N_("Awaiting approval"), id="cases.approval"),
        Binding("3", "mode('due')", N_("Due today"), id="cases.due"),
        Binding("4", "mode('all')", N_("All"), id="cases.all"),
        Binding("y", "decide(True)", N_("Approve"), id="cases.approve"),
        Binding("n", "decide(False)", N_("Decline"), id="cases.decline"),
        Binding("escape,f7", "close", N_("Close"), id="cases.close"),
    ]

    def __init__(self, desk: Desk, context: AgentContext, *, mode: str = "open") -> None:
        """``desk``: the workspace's (clock, sync, the write path); ``context``: its
        open store."""
        super().__init__()
        self.desk = desk
        self.context = context
        self.mode = mode
        self._rows: list[OpenTarget] = []

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The bindings the footer shows, in the interface language."""
        return translate_active_bindings(super().active_bindings)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="title")
            yield DataTable(id="register", cursor_type="row", zebra_stripes=True)
            yield Static(id="empty")
            yield CaseHistory(id="case-history", categories=CATEGORY_LABELS)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def reload(self) -> None:
        """Re-read the register for the current mode."""
        table = self.query_one(DataTable)
        table.clear(columns=True)
        title = Content.styled(_(MODES[self.mode]), "bold")
        if self.context.is_supervisor:
            title = title + Content.styled("   " + _("y approve · n decline"), "$text-muted")
        self.query_one("#title", Static).update(title)
        self._rows = []
        today = self.desk.console.clock().astimezone().date()
        if self.mode == "due":
            table.add_columns(
                _("what"), _("when"), _("order"), _("customer / category"), _("status")
            )
            for case in cases.due(self.context, today):
                self._add_case(
                    table,
                    case,
                    kind="case",
                    when=case.follow_up_on.isoformat() if case.follow_up_on else "",
                )
            for item in orders.follow_ups(self.context, self.desk.console.clock()):
                label = _("remind to pay") if item.kind == "unpaid" else _("ship by")
                when = local_time(item.due_at)
                table.add_row(
                    Text(label),
                    Text(when),
                    Text(safe_line(item.number)),
                    Text(safe_line(item.customer_id)),
                    Text(""),
                )
                self._rows.append(OpenTarget(customer_id=item.customer_id))
        else:
            statuses = {
                "open": ("open", "waiting-customer", "waiting-courier", "awaiting-approval"),
                "approval": ("awaiting-approval",),
                "all": (),
            }[self.mode]
            table.add_columns(
                _("status"), _("updated"), _("order"), _("customer / category"), _("amounts")
            )
            for case in cases.register(self.context, statuses=statuses):
                self._add_case(table, case, kind=case.status, when=local_time(case.updated_at))
        empty = self.query_one("#empty", Static)
        empty.update(Content.styled(_("Nothing here.") if not self._rows else "", "$text-muted"))
        self._show_history()

    def _show_history(self) -> None:
        """The highlighted case's history below the list (nothing for an order row)."""
        target = self._current()
        case = target.case if target is not None else None
        history = self.query_one("#case-history", CaseHistory)
        if case is None:
            history.show(None)
            return
        history.show(cases.history(self.context, case.case_id), currency=case.currency)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._show_history()

    def _add_case(self, table: DataTable[Text], case: CaseRow, *, kind: str, when: str) -> None:
        try:
            category = _(CATEGORY_LABELS[CaseCategory(case.category)])
        except (ValueError, KeyError):
            # A category this version does not know (a newer backend): show it as sent.
            category = safe_line(case.category)
        who = safe_line(case.customer_name or case.customer_id or "—")
        amounts = []
        if case.refund_minor:
            amounts.append(_("refund") + " " + money(case.refund_minor, case.currency))
        if case.compensation_minor:
            amounts.append(_("comp.") + " " + money(case.compensation_minor, case.currency))
        if case.postage_lost_minor:
            amounts.append(_("postage") + " " + money(case.postage_lost_minor, case.currency))
        status = (_("case") if kind == "case" else case_status_label(kind)) + (
            " ◷" if case.delivery.value != "sent" else ""
        )
        table.add_row(
            Text(status),
            Text(when),
            Text(safe_line(case.order_number or "—")),
            Text(f"{who} · {category}"),
            Text(", ".join(amounts)),
        )
        self._rows.append(OpenTarget(case=case))

    def _current(self) -> OpenTarget | None:
        table = self.query_one(DataTable)
        index = table.cursor_row
        return self._rows[index] if 0 <= index < len(self._rows) else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        target = self._current()
        if target is not None:
            self.dismiss(target)

    def action_mode(self, mode: str) -> None:
        self.mode = mode
        self.reload()

    async def action_decide(self, approve: bool) -> None:
        target = self._current()
        if target is None or target.case is None:
            return
        if not self.context.is_supervisor:
            self.notify(_("Only a supervisor approves or declines."), severity="warning")
            return
        if target.case.status != "awaiting-approval":
            self.notify(_("This case is not awaiting approval."), severity="warning")
            return
        case_id, ctx = target.case.case_id, self.context
        label = _("Approve") if approve else _("Decline")
        written = await self.desk.write(
            self,
            lambda: cases.decide(ctx, case_id, approve=approve),
            name=label,
            failed=lambda error: _("{action} failed: {error}").format(action=label, error=error),
            refusals=(PermissionError,),
        )
        if written is None:
            return
        self.notify(_("Approved.") if approve else _("Declined; compensation set to 0."))
        self.desk.console.kick_sync()
        self.reload()

    def action_close(self) -> None:
        self.dismiss(None)


def open_register(desk: Desk, node: Widget) -> None:
    """F7: the register; the row chosen opens its case, or the customer's conversation."""
    ctx = desk.ctx
    if ctx is None:
        return

    def chosen(target: OpenTarget | None) -> None:
        if target is None:
            return
        if target.case is not None:
            edit_case(desk, node, cases.from_row(target.case))
        elif target.customer_id is not None:
            conversation = orders.conversation_of_customer(ctx, target.customer_id)
            if conversation is None:
                node.notify(_("No conversation with this customer yet."))
                return
            node.post_message(GoToConversation(conversation))

    node.app.push_screen(CasesScreen(desk, ctx), chosen)
