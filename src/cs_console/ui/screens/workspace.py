"""The workspace: the queue, conversation and customer panes over the status bar.

The screen composes the panes and wires them: what a pane did comes up as a message
(a conversation to show, a queue grown stale), and the screen tells the panes what to
show. Every key comes from the action table (``ui/actions.py``); the case and shift
flows live beside their dialogs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import ActiveBinding
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.screen import Screen

from cs_console.services.events import StoreOpened, Synced, SyncStateChanged
from cs_console.ui.actions import Owner, Situation, bindings_for, check_action, why_not
from cs_console.ui.keys import translate_active_bindings
from cs_console.ui.messages import RepliesLoaded, SessionMessage
from cs_console.ui.panes.attention import Attention
from cs_console.ui.panes.base import (
    CaseWanted,
    Desk,
    GoToConversation,
    OpenConversation,
    QueueStale,
    console_of,
)
from cs_console.ui.panes.conversation_pane import ConversationPane
from cs_console.ui.panes.customer_pane import CustomerPane
from cs_console.ui.panes.queue_pane import QueuePane
from cs_console.ui.widgets.composer import Composer
from cs_console.ui.widgets.key_footer import KeyFooter
from cs_console.ui.widgets.order_pane import OrderPane
from cs_console.ui.widgets.queue_list import QueueList
from cs_console.ui.widgets.status_bar import StatusBar
from cs_console.views import QueueFilter

if TYPE_CHECKING:
    from cs_console.services.context import AgentContext
    from cs_console.sync.engine import SyncReport
    from cs_console.views import Abilities, SyncStatus

#: The widget each owner of the action table stands for (the app and the screen aside).
OWNER_IDS = {
    "queue_pane": "#queue-pane",
    "queue": "#queue",
    "thread": "#thread",
    "composer": "#composer",
    "orders": "#orders",
}

# The case and shift flows, their dialogs and the services are imported where they are
# used: the first frame does not wait for them (the services load SQLAlchemy).


class WorkspaceScreen(Screen[None]):
    """The one screen an agent lives in."""

    CSS_PATH = [
        Path(__file__).with_name("workspace.tcss"),
        QueuePane.CSS_FILE,
        ConversationPane.CSS_FILE,
        CustomerPane.CSS_FILE,
    ]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = bindings_for("workspace")

    def __init__(self) -> None:
        super().__init__()
        self.desk = Desk(
            self,
            selected_order=lambda: self.customer.selected_order,
            thread_messages=lambda: self.conversation.thread.messages,
        )
        self._handover_checked = False

    # --- the panes, and what tests and the app read ----------------------------------

    @property
    def queue(self) -> QueuePane:
        """The queue pane."""
        return self.query_one(QueuePane)

    @property
    def conversation(self) -> ConversationPane:
        """The conversation pane."""
        return self.query_one(ConversationPane)

    @property
    def customer(self) -> CustomerPane:
        """The customer pane."""
        return self.query_one(CustomerPane)

    @property
    def open_id(self) -> str | None:
        """The conversation on screen."""
        return self.desk.open_id

    @property
    def filter(self) -> QueueFilter:
        """The queue's filter."""
        return self.queue.filter

    def situation(self) -> Situation:
        """What decides whether an action applies now (the palette asks too)."""
        return self.desk.situation()

    def action_node(self, owner: Owner) -> DOMNode:
        """Where an action of ``owner`` runs, as its key would run it (the palette)."""
        if owner == "app":
            return self.app
        if owner == "workspace":
            return self
        return self.query_one(OWNER_IDS[owner])

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The bindings the footer shows, in the interface language; a greyed-out
        key's tooltip says why."""
        situation = self.situation()
        return translate_active_bindings(
            super().active_bindings, lambda binding: why_not(binding.action, situation)
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out (None) what does not apply now; the footer shows it dimmed."""
        return check_action(action, self.situation())

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield QueuePane(self.desk, id="queue-pane")
            yield ConversationPane(self.desk, id="middle")
            yield CustomerPane(self.desk, id="customer-pane")
        bar = StatusBar(id="status", clock=console_of(self).clock)
        # Made here, not on mount: the app tells it every key, from the first one.
        self.attention = Attention(self.app, self.desk, bar)
        yield bar
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#queue", QueueList).focus()
        self.set_interval(1.0, self._tick)

    # --- what the session did (the app hands each event down as a message) -------------

    @on(SessionMessage)
    def _session_event(self, message: SessionMessage) -> None:
        event = message.event
        if isinstance(event, StoreOpened):
            self._store_opened(event.context)
        elif isinstance(event, Synced):
            self._synced(event.status, event.report)
        elif isinstance(event, SyncStateChanged):
            self._synced(event.status, None)

    @on(RepliesLoaded)
    def _replies_loaded(self) -> None:
        # The library is ready: bind hotkeys and show suggestions.
        self.conversation.replies.refresh()

    def key_pressed(self) -> None:
        """Any key, anywhere: the agent is at the keyboard (the app tells every key)."""
        if self.is_mounted:
            self.attention.key_pressed()

    def _store_opened(self, context: AgentContext) -> None:
        # The store is open: load the queue.
        self.desk.ctx = context
        self.query_one("#status", StatusBar).agent = context.agent_name
        self.queue.attach(context.agent_name)
        self.refresh_bindings()
        self.run_worker(self._learn_abilities, thread=True, group="abilities", exclusive=True)
        self.attention.store_opened()

    def _synced(self, status: SyncStatus, report: SyncReport | None) -> None:
        # A sync cycle ended (report) or the link changed (None): update the status bar
        # and re-read what may have changed.
        bar = self.query_one("#status", StatusBar)
        bar.sync = status
        if status.agent_name:
            bar.agent = status.agent_name
            self.queue.set_me(status.agent_name)
        if report is not None and not self._handover_checked:
            self._handover_checked = True
            from cs_console.ui.screens.handover import show_shift_start

            show_shift_start(self.desk, self)
        if report is not None and (report.pulled or report.pushed or report.refused):
            self.queue.reload()
            if self.desk.open_id is not None:
                # While the agent is typing, what arrives is not "seen": send safety will
                # show it before the reply goes (the commonest helpdesk slip).
                typing = self.conversation.is_typing
                self.show_conversation(self.desk.open_id, keep_position=True, mark_seen=not typing)
        if report is not None:
            self.attention.synced()

    # --- what the app calls ----------------------------------------------------------

    def save_draft(self) -> None:
        """Save the composer's text now (on quit)."""
        self.conversation.save_draft()

    def show_conversation(
        self, conversation_id: str, *, keep_position: bool = False, mark_seen: bool = True
    ) -> None:
        """Show a conversation in the thread, composer and customer panes."""
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import conversations

        info = conversations.info(ctx, conversation_id)
        had_one = self.desk.open_id is not None
        self.conversation.show(
            conversation_id, info, keep_position=keep_position, mark_seen=mark_seen
        )
        if info is not None:
            self.customer.show(info)
        self.conversation.replies.refresh()
        if not had_one:
            self.refresh_bindings()  # the keys that need a conversation apply now

    def _learn_abilities(self) -> None:
        # A thread: building the backend's client imports httpx (tens of milliseconds).
        found = console_of(self).session.abilities()
        self.app.call_from_thread(self._set_abilities, found)

    def _set_abilities(self, abilities: Abilities) -> None:
        self.desk.abilities = abilities
        self.customer.abilities_known()
        self.attention.abilities_known(abilities)
        self.refresh_bindings()

    def _tick(self) -> None:
        self.attention.tick()
        self.query_one("#queue", QueueList).refresh()
        self.customer.refresh_clock()
        if self.queue.wake_snoozed():
            self.queue.reload()

    # --- what the panes say ------------------------------------------------------------

    @on(QueueList.Highlighted)
    def _highlighted(self, message: QueueList.Highlighted) -> None:
        if message.conversation_id == self.desk.open_id:
            # Already on screen (next-waiting shows it before the cursor lands on it; a
            # reloaded queue keeps it): reading and rendering it again is a keystroke's
            # worth of work for nothing.
            return
        self.show_conversation(message.conversation_id)

    @on(QueueList.Chosen)
    async def _chosen(self, message: QueueList.Chosen) -> None:
        self.show_conversation(message.conversation_id)
        self.query_one("#composer", Composer).focus()
        await self.conversation.mark_read(message.conversation_id)

    @on(QueuePane.Reloaded)
    def _queue_reloaded(self, message: QueuePane.Reloaded) -> None:
        self.query_one("#status", StatusBar).over_alert = message.waiting_too_long
        self.attention.queue_reloaded()

    @on(OpenConversation)
    def _open(self, message: OpenConversation) -> None:
        self.show_conversation(message.conversation_id, keep_position=message.keep_position)

    @on(GoToConversation)
    def _go_to(self, message: GoToConversation) -> None:
        self.queue.reload(jump_to=message.conversation_id)
        self.show_conversation(message.conversation_id)

    @on(QueueStale)
    def _queue_stale(self) -> None:
        self.queue.reload()

    @on(CaseWanted)
    def _case_wanted(self, message: CaseWanted) -> None:
        from cs_console.ui.screens.case_flow import log_case

        log_case(self.desk, self, category=message.category)

    @on(Composer.Left)
    @on(OrderPane.Left)
    def _back_to_queue(self) -> None:
        # In a narrow terminal the orders stand in the queue's place: give it back.
        self.remove_class("-show-orders")
        self.query_one("#queue", QueueList).focus()

    # --- keys --------------------------------------------------------------------------

    def action_focus_pane(self, pane: str) -> None:
        """Focus the queue, thread or composer of this screen. (Textual's ``app.focus``
        looks the id up from the app, which does not reach a pushed screen's widgets.)"""
        self.query_one(f"#{pane}").focus()

    def action_focus_orders(self) -> None:
        """Go to the orders; in a narrow terminal they take the queue's place until
        F6 is pressed again (or Escape goes back to the queue)."""
        if self.has_class("-narrow"):
            showing = not self.has_class("-show-orders")
            self.set_class(showing, "-show-orders")
            if not showing:
                self.query_one("#queue", QueueList).focus()
                return
        self.query_one("#order-list").focus()

    def action_next_waiting(self) -> None:
        """Open the longest-waiting customer, in the composer: the next key is a quick
        reply's hotkey or the first letter of the answer."""
        if self.queue.action_next_waiting():
            self.query_one("#composer", Composer).focus()

    async def action_undo_send(self) -> None:
        """Take the last reply back."""
        await self.conversation.undo_send()

    async def action_retry_failed(self) -> None:
        """Send this conversation's failed messages again."""
        await self.conversation.retry_failed()

    def action_add_remark(self) -> None:
        """Flag the selected order with a remark."""
        self.customer.add_remark()

    def action_link_customer(self) -> None:
        """Link this chat's customer to their order-system record."""
        self.customer.link_customer()

    def action_log_case(self) -> None:
        """Open the case form for this conversation, pre-filled."""
        from cs_console.ui.screens.case_flow import log_case

        log_case(self.desk, self)

    def action_cases(self) -> None:
        """The register and today's follow-ups."""
        from cs_console.ui.screens.cases import open_register

        open_register(self.desk, self)

    def action_end_shift(self) -> None:
        """List what is open and ask for the handover note."""
        from cs_console.ui.screens.handover import end_shift

        end_shift(self.desk, self, started=self.query_one("#status", StatusBar).shift_started)

    def action_search(self) -> None:
        """Search conversations, messages, customers and orders; Enter opens a hit."""
        from cs_console.ui.screens.search_flow import open_search

        open_search(self.desk, self)

    def action_history(self) -> None:
        """Go to the customer's history: earlier conversations, cases, orders."""
        self.customer.focus_history()

    async def action_done_next(self) -> None:
        """Resolve the open conversation and answer the next waiting customer."""
        if await self.queue.resolve_and_next():
            self.query_one("#composer", Composer).focus()

    def action_presence(self) -> None:
        """Choose online, away or offline."""
        from cs_console.ui.presence_flow import choose_presence

        choose_presence(self)

    def action_figures(self) -> None:
        """This shift's figures and the week's cases."""
        from cs_console.ui.screens.shift_report import show_figures

        show_figures(self.desk, self)
