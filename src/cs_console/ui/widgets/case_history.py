"""A case's history: who changed what, when, in words and in the agent's local time.

Read only. The register shows it for the highlighted case, the case form at its foot.
Authors, notes and values come from the backend: shown as ``Content``, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from cs_console.domain import CaseCategory
from cs_console.i18n import N_, LazyText, _
from cs_console.ui.text import (
    case_status_label,
    local_time,
    money,
    resolution_label,
    responsible_label,
    safe,
    safe_line,
)

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext
    from cs_console.services.history import CaseChange
    from cs_console.views import CaseEventRow

#: What each history action is called.
_ACTIONS = {
    "created": N_("created the case"),
    "updated": N_("changed"),
    "approved": N_("approved"),
    "declined": N_("declined"),
}

#: A case field as the agent knows it (the case form's words).
_FIELDS = {
    "conversation_id": N_("Conversation"),
    "customer_id": N_("Customer"),
    "order_id": N_("Order"),
    "category": N_("Category"),
    "responsible": N_("Responsible"),
    "resolution": N_("Resolution"),
    "status": N_("Status"),
    "refund_minor": N_("Refund"),
    "compensation_minor": N_("Compensation"),
    "postage_lost_minor": N_("Postage lost"),
    "currency": N_("Currency"),
    "follow_up_on": N_("Follow up on"),
    "evidence_json": N_("Evidence"),
    "notes": N_("Notes"),
    "approved_by": N_("Approved by"),
}

_MONEY_FIELDS = frozenset({"refund_minor", "compensation_minor", "postage_lost_minor"})
#: Long texts: that they changed is the news; the form shows the text itself.
_TEXT_FIELDS = frozenset({"notes", "evidence_json"})
#: How a missing value is stored in the history ("None").
_UNSET = frozenset({"", "None", "null"})

#: Events shown at most (newest); older ones are summed up in a line.
EVENTS_SHOWN = 50


class CaseHistory(VerticalScroll):
    """The history of one case, oldest entry first, scrolled to the newest.

    Args:
        case_id: Load this case's history when mounted, through the console's open
            store (the case form, which has no store of its own); None to be given
            events with :meth:`show` (the register).
        currency: The case's currency, for amounts.
        categories: Category labels (untranslated), for a changed category.
    """

    HELP = LazyText(
        """
## Case history

Who changed what on this case and when, oldest first, in your local time. Read only.
"""
    )

    def __init__(
        self,
        case_id: str | None = None,
        *,
        currency: str = "CNY",
        categories: Mapping[CaseCategory, str] | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.case_id = case_id
        self.currency = currency
        self.categories = categories or {}

    def compose(self) -> ComposeResult:
        yield Static(id="case-history-body")

    def on_mount(self) -> None:
        self.border_title = Content(_("History"))
        if self.case_id is None:
            return
        context = self._open_store()
        if context is None:
            self.show(None)
            return
        from cs_console.services import cases

        self.show(cases.history(context, self.case_id), currency=self.currency)

    def _open_store(self) -> AgentContext | None:
        # The console session's open store; a bare app (a test of the form alone) has none.
        from cs_console.services.context import AgentContext

        found = getattr(getattr(self.app, "session", None), "context", None)
        return found if isinstance(found, AgentContext) else None

    def show(self, events: list[CaseEventRow] | None, *, currency: str | None = None) -> None:
        """Show ``events`` (None: no case; an empty list: nothing synced yet)."""
        if currency is not None:
            self.currency = currency
        body = self.query_one("#case-history-body", Static)
        if events is None:
            body.update(Content.styled(_("No case selected."), "$text-muted"))
            return
        if not events:
            body.update(
                Content.styled(_("No history yet: it arrives with the next sync."), "$text-muted")
            )
            return
        from cs_console.services.history import case_changes

        lines: list[Content] = []
        if len(events) > EVENTS_SHOWN:
            lines.append(
                Content.styled(
                    _("{n} earlier changes not shown").format(n=len(events) - EVENTS_SHOWN),
                    "$text-muted",
                )
            )
        for event in events[-EVENTS_SHOWN:]:
            lines.append(
                Content.assemble(
                    (local_time(event.at) + "  ", "$text-muted"),
                    (safe_line(event.author), "bold"),
                    " ",
                    Content(self._action(event.action)),
                )
            )
            lines.extend(
                Content("    ") + self._change(change) for change in case_changes(event.changes)
            )
        body.update(Content("\n").join(lines))
        self.call_after_refresh(self.scroll_end, animate=False)

    # --- words ---------------------------------------------------------------------------

    @staticmethod
    def _action(action: str) -> str:
        known = _ACTIONS.get(action)
        return _(known) if known is not None else safe_line(action)

    def _change(self, change: CaseChange) -> Content:
        if not change.field:
            return safe(change.new)
        name = _(_FIELDS[change.field]) if change.field in _FIELDS else safe_line(change.field)
        if change.field == "approved_by" and change.new.startswith("(withdrawn"):
            why = change.new.strip("()").partition(":")[2].strip()
            return Content(
                _("Approval by {who} withdrawn: {why}").format(
                    who=safe_line(change.old), why=safe_line(why)
                )
            )
        if change.field in _TEXT_FIELDS:
            return Content(_("{field} edited").format(field=name))
        value = self._value_label(change.field)
        return Content.assemble(
            (name + ": ", "$text-muted"),
            Content(value(change.old)),
            " → ",
            (value(change.new), "bold"),
        )

    def _value_label(self, field: str) -> Callable[[str], str]:
        labels: dict[str, Callable[[str], str]] = {
            "status": case_status_label,
            "resolution": resolution_label,
            "responsible": responsible_label,
            "category": self._category,
        }
        label = labels.get(field, safe_line)
        if field in _MONEY_FIELDS:
            label = self._money

        def shown(value: str) -> str:
            value = value.strip()
            # Unknown values come back as stored: backend text, sanitised here.
            return "—" if value in _UNSET else safe_line(label(value))

        return shown

    def _money(self, value: str) -> str:
        try:
            return money(int(value), self.currency)
        except ValueError:
            return safe_line(value)

    def _category(self, value: str) -> str:
        try:
            label = self.categories.get(CaseCategory(value))
        except ValueError:
            label = None
        return _(label) if label is not None else safe_line(value)
