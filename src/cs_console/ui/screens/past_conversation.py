"""An earlier conversation of the customer, read only: its thread, no composer.

Opened from the customer's history (Enter on an earlier conversation); Escape closes.
Older messages load as the agent scrolls up, as in the workspace's thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from cs_console.i18n import N_, _
from cs_console.services import conversations
from cs_console.ui.keys import translate_active_bindings
from cs_console.ui.text import group_label, local_time, safe_line, status_label
from cs_console.ui.widgets.key_footer import KeyFooter
from cs_console.ui.widgets.thread_view import ThreadView

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext

#: Messages read at a time (the workspace's page).
PAGE = 60


class PastConversationScreen(ModalScreen[None]):
    """One conversation's thread, to read: nothing here writes."""

    CSS_PATH = "past_conversation.tcss"
    BINDINGS = [Binding("escape,q", "close", N_("Close"), id="past.close")]

    def __init__(self, context: AgentContext, conversation_id: str) -> None:
        """``context``: the open store; ``conversation_id``: the conversation to read."""
        super().__init__()
        self.context = context
        self.conversation_id = conversation_id

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The bindings the footer shows, in the interface language."""
        return translate_active_bindings(super().active_bindings)

    @property
    def thread(self) -> ThreadView:
        """The conversation's messages."""
        return self.query_one("#past-thread", ThreadView)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="past-title")
            yield ThreadView(id="past-thread")
            yield Static(Content.styled(_("Read only · Esc closes"), "$text-muted"), id="past-hint")
        yield KeyFooter()

    def on_mount(self) -> None:
        info = conversations.info(self.context, self.conversation_id)
        rows = conversations.messages(self.context, self.conversation_id, PAGE)
        title = Content.styled(_("Earlier conversation"), "bold")
        if info is not None:
            title = title + Content.styled(
                "  "
                + " · ".join(
                    (
                        safe_line(info.customer_name),
                        status_label(info.status),
                        group_label(info.group),
                    )
                ),
                "$text-muted",
            )
        if rows:
            span = _("{first} to {last}").format(
                first=local_time(rows[0].created_at), last=local_time(rows[-1].created_at)
            )
            title = title + Content.styled("  " + span, "$text-muted")
        self.query_one("#past-title", Static).update(title)
        thread = self.thread
        thread.placeholder = _("No messages in this conversation.")
        thread.show(rows, has_older=len(rows) == PAGE)
        thread.focus()

    @on(ThreadView.NeedOlder)
    def _older(self, message: ThreadView.NeedOlder) -> None:
        message.stop()
        older = conversations.messages(
            self.context, self.conversation_id, PAGE, before_seq=message.before_seq
        )
        self.thread.prepend(older, has_older=len(older) == PAGE)

    def action_close(self) -> None:
        self.dismiss(None)
