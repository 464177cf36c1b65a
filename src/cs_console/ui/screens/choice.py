"""A small keyboard-first picker (transfer target, snooze duration)."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cs_console.i18n import N_
from cs_console.ui.text import safe_line


class ChoiceScreen(ModalScreen[str | None]):
    """Pick one option with the arrows and Enter (or its number); Escape cancels."""

    CSS_PATH = "choice.tcss"
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="choice.cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        """``options`` are (value, label); the title and labels may carry shop data (an
        agent's name, an order number) and are shown as literal, sanitised text."""
        super().__init__()
        self.title_text = title
        self.choices = options

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Content.styled(safe_line(self.title_text), "bold"), id="title")
            yield OptionList(
                *[
                    Option(Content(f"{i + 1}  {safe_line(label)}"), id=value)
                    for i, (value, label) in enumerate(self.choices)
                ],
                id="choices",
                markup=False,
            )

    def on_key(self, event: events.Key) -> None:
        key = event.key
        if key.isdigit() and 1 <= int(key) <= len(self.choices):
            # The digit answers this dialog; it must not reach the queue's filter keys.
            event.stop()
            event.prevent_default()
            self.dismiss(self.choices[int(key) - 1][0])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
