"""Adding a flagged remark to an order: flag, reason; name and date go in by themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Select, Static

from cs_console.domain import FLAG_SYMBOLS, FlagColour
from cs_console.i18n import N_, _
from cs_console.ui.text import flag_label, safe_line, safe_text


class RemarkFormScreen(ModalScreen[tuple[FlagColour, str] | None]):
    """Returns (flag, reason), or None when cancelled."""

    CSS_PATH = "remark_form.tcss"
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="remark.cancel")]

    def __init__(
        self, order_label: str, meanings: dict[FlagColour, str], *, suggested: FlagColour
    ) -> None:
        super().__init__()
        self.order_label = order_label
        self.meanings = meanings
        self.suggested = suggested
        self._first_key_taken = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                Content.assemble(
                    (_("Remark on order") + " ", "bold"), (safe_line(self.order_label), "bold")
                )
            )
            yield Select(
                [
                    (
                        safe_text(
                            f"{digit} {FLAG_SYMBOLS[f]} {flag_label(f)} — "
                            f"{self.meanings.get(f, '')}"
                        ),
                        f.value,
                    )
                    for digit, f in enumerate(FlagColour, start=1)
                ],
                value=self.suggested.value,
                allow_blank=False,
                id="flag",
            )
            yield Input(placeholder=_("Reason (your name and today's date are added)"), id="reason")
            yield Static(
                Content.styled(
                    _("First key 1–{last}: colour · Enter save · Esc cancel").format(
                        last=len(FlagColour)
                    ),
                    "$text-muted",
                )
            )

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # A digit as the first key picks the colour: f, 2, the reason, Enter. Only the
        # first: after it, digits are text (f, 1, "3 parcels lost").
        if self._first_key_taken:
            return
        self._first_key_taken = True
        colours = list(FlagColour)
        digit = event.value
        if len(digit) == 1 and digit.isdigit() and 1 <= int(digit) <= len(colours):
            self.query_one("#flag", Select).value = colours[int(digit) - 1].value
            event.input.value = ""

    def on_input_submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if not reason:
            self.notify(_("A remark needs a reason."), severity="warning")
            return
        self.dismiss((FlagColour(str(self.query_one("#flag", Select).value)), reason))

    def action_cancel(self) -> None:
        self.dismiss(None)
