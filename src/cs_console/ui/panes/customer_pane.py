"""The customer pane: who the customer is, their orders and each order's story, their
history (earlier conversations, cases, remarks, refunds and complaints); flagged remarks
on an order, and linking the chat's customer to their order-system record."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.content import Content
from textual.worker import get_current_worker

from cs_console.domain import FlagColour
from cs_console.i18n import _
from cs_console.ui.panes.base import OpenConversation, Pane
from cs_console.ui.widgets.customer_history import CustomerHistory
from cs_console.ui.widgets.order_pane import OrderPane

# Services are imported where they are used: they load SQLAlchemy, which the first frame
# does not wait for; so are the dialogs.

if TYPE_CHECKING:
    from cs_console.services.history import CustomerHistory as CustomerHistoryView
    from cs_console.views import ConversationInfo, OrderRow


class CustomerPane(Pane):
    """Right-hand pane; the order pane inside it draws the customer and orders, the
    history below it what they did before."""

    CSS_FILE = Path(__file__).with_suffix(".tcss")

    def compose(self) -> ComposeResult:
        console = self.desk.console
        yield OrderPane(id="orders", clock=console.clock, ship_by=console.ship_by)
        yield CustomerHistory(id="history")

    def on_mount(self) -> None:
        # Border titles are markup: "&" and translations must not be read as tags.
        self.orders.border_title = Content(_("Customer & orders"))
        self.history.border_title = Content(_("History"))

    @property
    def orders(self) -> OrderPane:
        """The order pane widget."""
        return self.query_one("#orders", OrderPane)

    @property
    def history(self) -> CustomerHistory:
        """The customer's history widget."""
        return self.query_one("#history", CustomerHistory)

    @property
    def selected_order(self) -> OrderRow | None:
        """The highlighted order."""
        return self.orders.selected_order

    def show(self, info: ConversationInfo) -> None:
        """Show the conversation's customer, their orders and their history."""
        if self.desk.ctx is None:
            return
        from cs_console.services import orders

        ctx = self.desk.ctx
        their_orders = orders.for_customer(ctx, info.customer_id)
        self.orders.show(info, their_orders)
        self._read_history(info, their_orders)

    @work(thread=True, exclusive=True, group="history")
    def _read_history(self, info: ConversationInfo, their_orders: list[OrderRow]) -> None:
        # A thread: a long-standing customer's history takes ~10 ms to read on a large
        # store, which paging through the queue should not wait for. Only the newest
        # conversation's history is shown (the cursor may have moved on meanwhile).
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import history

        found = history.for_customer(
            ctx, info.customer_id, leave_out=info.conversation_id, orders=their_orders
        )
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_history, info.conversation_id, found)

    def _show_history(self, conversation_id: str, found: CustomerHistoryView) -> None:
        if self.desk.open_id == conversation_id:
            self.history.show(found)

    def focus_history(self) -> None:
        """Go to the customer's history list (``h`` in the queue, "Customer: history").

        Enter on an earlier conversation opens it read only; Enter on a case opens its
        form, with its history at the foot; Escape goes back to the queue.
        """
        if self.desk.ctx is None or self.desk.open_id is None:
            self.notify(_("Open a conversation first."), severity="warning")
            return
        screen = self.screen
        # In a narrow terminal the pane is hidden: it takes the queue's place, as F6 does.
        if screen.has_class("-narrow"):
            screen.add_class("-show-orders")
        if not self.history.focus_list():
            self.notify(_("First time: no earlier conversations or cases."))

    @on(CustomerHistory.ConversationChosen)
    def _read_earlier(self, message: CustomerHistory.ConversationChosen) -> None:
        message.stop()
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.ui.screens.past_conversation import PastConversationScreen

        self.app.push_screen(PastConversationScreen(ctx, message.conversation_id))

    @on(CustomerHistory.CaseChosen)
    def _open_case(self, message: CustomerHistory.CaseChosen) -> None:
        message.stop()
        ctx = self.desk.ctx
        if ctx is None:
            return
        from cs_console.services import cases
        from cs_console.ui.screens.case_flow import edit_case

        case = cases.get(ctx, message.case_id)
        if case is None:
            self.notify(_("This case is no longer in the store."), severity="warning")
            return
        edit_case(self.desk, self, cases.from_row(case))

    @on(CustomerHistory.Left)
    def _left(self, message: CustomerHistory.Left) -> None:
        # The workspace takes the agent back to the queue as from the orders.
        message.stop()
        self.post_message(OrderPane.Left())

    def abilities_known(self) -> None:
        """Say where the orders would be when the backend keeps none."""
        self.orders.set_unavailable(self.desk.missing("orders"))

    def refresh_clock(self) -> None:
        """Move the ship-by countdown on."""
        self.orders.refresh_clock()

    def add_remark(self) -> None:
        """Flag the selected order with a remark."""
        ctx, order = self.desk.ctx, self.selected_order
        if ctx is None or order is None:
            self.notify(_("Select an order first."), severity="warning")
            return
        from cs_console.services import orders
        from cs_console.ui.screens.remark_form import RemarkFormScreen  # a dialog

        meanings = dict(ctx.settings.flags.meanings)
        # The seeds' convention: purple for a change to an unshipped order, blue once shipped.
        suggested = FlagColour.BLUE if order.shipped_at else FlagColour.PURPLE

        async def chosen(result: tuple[FlagColour, str] | None) -> None:
            if result is None:
                return
            flag, text = result
            written = await self.desk.write(
                self,
                lambda: orders.add_remark(ctx, order.order_id, flag, text),
                name=_("Remark"),
                failed=lambda error: _("Remark not saved: {error}").format(error=error),
                refusals=(ValueError,),  # a remark needs a reason
            )
            if written is None:
                return
            self.notify(_("Remark added."))
            self.desk.console.kick_sync()
            if self.desk.open_id is not None:
                self.post_message(OpenConversation(self.desk.open_id, keep_position=True))

        self.app.push_screen(RemarkFormScreen(order.number, meanings, suggested=suggested), chosen)

    def link_customer(self) -> None:
        """Link this chat's customer to their record in the order system, by hand."""
        ctx, conversation_id = self.desk.ctx, self.desk.open_id
        if ctx is None or conversation_id is None:
            self.notify(_("Open a conversation first."), severity="warning")
            return
        from cs_console.services import conversations, customers
        from cs_console.ui.screens.link_customer import LinkCustomerScreen  # a dialog

        info = conversations.info(ctx, conversation_id)
        if info is None:
            return
        customer_id = info.customer_id

        async def chosen(other_id: str | None) -> None:
            if other_id is None:
                return
            written = await self.desk.write(
                self,
                lambda: customers.link(ctx, customer_id, other_id),
                name=_("Link customer"),
                failed=lambda error: _("Not linked: {error}").format(error=error),
                refusals=(customers.LinkError,),
            )
            if written is None:
                return
            self.notify(_("Linked: their orders now show here."))
            self.post_message(OpenConversation(conversation_id, keep_position=True))

        self.app.push_screen(
            LinkCustomerScreen(
                info.customer_name,
                customers.same_person(ctx, customer_id),
                lambda text: customers.find(ctx, text),
            ),
            chosen,
        )
