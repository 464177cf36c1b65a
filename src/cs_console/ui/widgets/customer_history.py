"""The customer's history beside the chat: earlier conversations, cases, remarks, and
how often they asked for a refund or complained. Enter opens a row; Escape leaves.

Everything shown here is the customer's or a backend's text: it goes in as ``Content``
through the sanitising helpers, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain import FLAG_SYMBOLS, CaseCategory
from cs_console.i18n import N_, LazyText, _, ngettext
from cs_console.ui.text import (
    case_status_label,
    group_label,
    local_time,
    resolution_label,
    safe_line,
    status_label,
)

if TYPE_CHECKING:
    from cs_console.services.history import CustomerHistory as History
    from cs_console.services.history import PastConversation
    from cs_console.views import CaseRow

#: The first line of an earlier conversation, cut to this many characters.
FIRST_LINE_CHARS = 80
#: Remarks listed (the order pane has every remark of the highlighted order).
REMARKS_SHOWN = 5

_CONVERSATION = "conversation:"
_CASE = "case:"


def case_category_label(value: str) -> str:
    """A case category (its wire value) in the interface language; unknown ones as sent."""
    # The case form's table: imported here so the workspace's first frame does not wait
    # for the form's widgets.
    from cs_console.ui.screens.case_form import CATEGORY_LABELS

    try:
        return _(CATEGORY_LABELS[CaseCategory(value)])
    except (ValueError, KeyError):
        return safe_line(value)


class CustomerHistory(Vertical, can_focus=False):
    """The person's history, in one keyboard list below their orders."""

    HELP = LazyText(
        """
## Customer history

Earlier conversations, the cases about this customer (open ones first) and the latest
remarks on their orders, counted at the top with their refunds and complaints. Records
of the same person in another system count too.

Up/Down moves, Enter opens an earlier conversation (read only) or a case; Escape goes
back to the queue.
"""
    )

    BINDINGS = [Binding("escape", "leave", N_("Queue"), id="history.leave")]

    @dataclass
    class ConversationChosen(Message):
        """Open this earlier conversation, read only."""

        conversation_id: str

    @dataclass
    class CaseChosen(Message):
        """Open this case."""

        case_id: str

    @dataclass
    class Left(Message):
        """The agent went back to the queue."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: History | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="history-summary")
        yield OptionList(id="history-list", markup=False)

    def on_mount(self) -> None:
        self.show(None)

    @property
    def entries(self) -> OptionList:
        """The list of conversations, cases and remarks."""
        return self.query_one("#history-list", OptionList)

    def show(self, history: History | None) -> None:
        """Show ``history`` (None: no conversation open); keeps the highlighted row."""
        self.history = history
        summary = self.query_one("#history-summary", Static)
        entries = self.entries
        previous = self._highlighted_id()
        entries.clear_options()
        if history is None:
            summary.update(Content.styled(_("No conversation open."), "$text-muted"))
            return
        summary.update(self._summary(history))
        options: list[Option] = []
        if history.conversations:
            options.append(self._heading(_("Earlier conversations")))
            options.extend(
                Option(self._conversation_label(c), id=_CONVERSATION + c.conversation_id)
                for c in history.conversations
            )
        if history.cases:
            options.append(self._heading(_("Cases")))
            options.extend(Option(self._case_label(c), id=_CASE + c.case_id) for c in history.cases)
        if history.remarks:
            options.append(self._heading(_("Latest remarks")))
            for item in history.remarks[:REMARKS_SHOWN]:
                remark = item.remark
                label = Content.assemble(
                    (f"{FLAG_SYMBOLS[remark.flag]} ", f"$flag-{remark.flag.value}"),
                    Content(safe_line(remark.text)),
                    (
                        f" — {safe_line(item.order_number)} · {safe_line(remark.author)} "
                        f"{local_time(remark.created_at, '%m-%d')}",
                        "$text-muted",
                    ),
                )
                # Read here; the order pane flags and lists them.
                options.append(Option(label, disabled=True))
        if not options:
            options.append(
                self._heading(_("First time: no earlier conversations, cases or remarks."))
            )
        entries.add_options(options)
        ids = [o.id for o in options]
        if previous is not None and previous in ids:
            entries.highlighted = ids.index(previous)
        else:
            entries.highlighted = next((i for i, o in enumerate(options) if not o.disabled), None)

    def focus_list(self) -> bool:
        """Focus the list; False when it has nothing to open (it is focused anyway)."""
        entries = self.entries
        entries.focus()
        return any(not entries.get_option_at_index(i).disabled for i in range(entries.option_count))

    def action_leave(self) -> None:
        self.post_message(self.Left())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id.startswith(_CONVERSATION):
            self.post_message(self.ConversationChosen(option_id.removeprefix(_CONVERSATION)))
        elif option_id.startswith(_CASE):
            self.post_message(self.CaseChosen(option_id.removeprefix(_CASE)))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()

    # --- labels --------------------------------------------------------------------------

    def _highlighted_id(self) -> str | None:
        entries = self.entries
        index = entries.highlighted
        if index is None or not 0 <= index < entries.option_count:
            return None
        return entries.get_option_at_index(index).id

    @staticmethod
    def _heading(text: str) -> Option:
        return Option(Content.styled(text, "bold underline"), disabled=True)

    @staticmethod
    def _summary(history: History) -> Content:
        open_cases = len(history.open_cases)
        # The orders are counted by the order pane above: not again here.
        counts = [
            ngettext(
                "{n} earlier conversation", "{n} earlier conversations", len(history.conversations)
            ).format(n=len(history.conversations)),
            _("cases: {open} open, {past} past").format(
                open=open_cases, past=len(history.past_cases)
            ),
        ]
        lines = [Content(" · ".join(counts))]
        lines.append(
            Content.assemble(
                (
                    ngettext("{n} refund", "{n} refunds", history.refunds).format(
                        n=history.refunds
                    ),
                    "bold $warning" if history.refunds else "$text-muted",
                ),
                " · ",
                (
                    ngettext("{n} complaint", "{n} complaints", history.complaints).format(
                        n=history.complaints
                    ),
                    "bold $warning" if history.complaints else "$text-muted",
                ),
            )
        )
        if len(history.records) > 1:
            others = [r for r in history.records if r != history.customer_id]
            lines.append(
                Content.styled(
                    _("Same person: {records}").format(
                        records=", ".join(safe_line(r) for r in others)
                    ),
                    "$text-muted",
                )
            )
        return Content("\n").join(lines)

    @staticmethod
    def _conversation_label(conversation: PastConversation) -> Content:
        outcome = [status_label(conversation.status), group_label(conversation.group)]
        outcome.extend(resolution_label(r) for r in conversation.resolutions)
        first = safe_line(conversation.first_line)
        if len(first) > FIRST_LINE_CHARS:
            first = first[: FIRST_LINE_CHARS - 1] + "…"
        return Content.assemble(
            (local_time(conversation.started_at) + "  ", "bold"),
            (" · ".join(outcome), "$text-muted"),
            "\n  ",
            Content(first)
            if first
            else Content.styled(_("(no message from the customer)"), "italic"),
        )

    @staticmethod
    def _case_label(case: CaseRow) -> Content:
        style = "$text-muted" if case.status == "resolved" else "bold $warning"
        line = Content.assemble(
            (case_status_label(case.status), style),
            "  ",
            Content(case_category_label(case.category)),
        )
        details = [local_time(case.updated_at)]
        if case.order_number:
            details.append(safe_line(case.order_number))
        if case.resolution:
            details.append(resolution_label(case.resolution))
        return line + Content.styled("\n  " + " · ".join(details), "$text-muted")
