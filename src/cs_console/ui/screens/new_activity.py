"""Send safety: shown when something arrived since the agent last looked."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from cs_console.domain import MessageKind
from cs_console.i18n import N_, _
from cs_console.ui.keys import translate_active_bindings
from cs_console.ui.text import local_time, safe, safe_line
from cs_console.ui.widgets.key_footer import KeyFooter
from cs_console.views import MessageRow


class NewActivityScreen(ModalScreen[bool]):
    """Lists the new messages; Enter sends anyway, Escape goes back to edit."""

    CSS_PATH = "new_activity.tcss"
    BINDINGS = [
        Binding("enter", "send_anyway", N_("Send anyway"), id="send_safety.send"),
        Binding("escape", "back", N_("Back to editing"), id="send_safety.back"),
    ]

    def __init__(self, messages: list[MessageRow]) -> None:
        super().__init__()
        self.new_messages = messages

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The bindings the footer shows, in the interface language."""
        return translate_active_bindings(super().active_bindings)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            others = sum(1 for m in self.new_messages if m.kind is MessageKind.AGENT)
            title = _("New messages arrived while you were typing")
            if others:
                title = _("Another agent replied while you were typing")
            yield Static(Content.styled(title, "bold $warning"), id="title")
            parts = []
            for m in self.new_messages[-8:]:
                parts.append(
                    Content.assemble(
                        (local_time(m.created_at, "%H:%M") + " ", "$text-muted"),
                        (safe_line(m.author), "bold"),
                        ": ",
                        safe(m.body),
                    )
                )
            yield Static(Content("\n").join(parts), id="messages")
            yield Static(
                Content.styled(_("Enter: send anyway   Esc: back to editing"), "$text-muted")
            )
        yield KeyFooter()

    def action_send_anyway(self) -> None:
        self.dismiss(True)

    def action_back(self) -> None:
        self.dismiss(False)
