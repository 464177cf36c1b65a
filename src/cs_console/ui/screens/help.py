"""The help screen: every key of the action table (``ui/actions.py``), by area, as
``[keymap]`` remapped it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from cs_console.i18n import N_
from cs_console.ui.keys import applied_keymap, binding_table


class HelpScreen(ModalScreen[None]):
    """Press Escape or F1 to close."""

    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,f1,q", "close", N_("Close"), id="help.close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            note: str = getattr(self.app, "composer_keys_note", "")
            yield Markdown(binding_table(applied_keymap(self.app), note))

    def action_close(self) -> None:
        self.dismiss(None)
