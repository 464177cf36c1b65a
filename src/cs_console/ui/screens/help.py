"""The help screen: every binding that applies, read from the live bindings (so a
remapped key shows as remapped), plus each pane's own help text."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from cs_console.i18n import N_
from cs_console.ui.keys import binding_table


class HelpScreen(ModalScreen[None]):
    """Press Escape or F1 to close."""

    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,f1,q", "close", N_("Close"), id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(binding_table(self.app))

    def action_close(self) -> None:
        self.dismiss(None)
