"""Link the customer of a chat to their record in the shop's order system, by hand.

Chats and orders can live in two systems (Chatwoot and Vendure, say). Records that share
an email or phone are matched as they sync; this is for the buyer who wrote from another
address or number. The agent searches by name, email or phone and picks the record.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from cs_console.i18n import N_, _
from cs_console.ui.text import safe_line
from cs_console.views import CustomerMatch


class LinkCustomerScreen(ModalScreen[str | None]):
    """Search customers and pick the one to link; dismisses with its id, or None."""

    CSS_PATH = "link_customer.tcss"
    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="link.cancel"),
        Binding("down", "focus_results", N_("Results"), show=False, id="link.results"),
    ]

    def __init__(
        self,
        customer_name: str,
        linked: list[str],
        search: Callable[[str], list[CustomerMatch]],
    ) -> None:
        """``search(text)`` returns matches (a service call bound by the caller, so the
        screen holds no store); ``linked`` are the ids already counted as this person."""
        super().__init__()
        self.customer_name = customer_name
        self.linked = set(linked)
        self._search = search

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                Content.assemble(
                    (_("Link a record to"), "bold"), " ", (safe_line(self.customer_name), "bold")
                ),
                id="title",
            )
            yield Static(_("Search by name, email or phone; Enter links, Esc cancels."), id="hint")
            yield Input(placeholder=_("name, email or phone"), id="query")
            yield OptionList(id="results", markup=False)

    @on(Input.Changed, "#query")
    def _search_changed(self, event: Input.Changed) -> None:
        results = self.query_one("#results", OptionList)
        results.clear_options()
        if len(event.value.strip()) < 2:
            return
        for match in self._search(event.value):
            if match.customer_id in self.linked:
                continue
            contact = " · ".join(safe_line(v) for v in (match.email, match.phone) if v)
            label = Content.assemble(
                (safe_line(match.name), "bold"),
                "  ",
                contact,
                "  ",
                (safe_line(match.customer_id), "dim"),
            )
            results.add_option(Option(label, id=match.customer_id))
        if results.option_count:
            results.highlighted = 0

    @on(Input.Submitted, "#query")
    def _submitted(self) -> None:
        results = self.query_one("#results", OptionList)
        if results.highlighted is not None and results.option_count:
            self.dismiss(results.get_option_at_index(results.highlighted).id)

    @on(OptionList.OptionSelected, "#results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_focus_results(self) -> None:
        self.query_one("#results", OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
