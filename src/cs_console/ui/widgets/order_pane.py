"""The customer and their orders: timeline, ship-by countdown, flagged remarks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from cs_console.domain import FLAG_SYMBOLS, OrderEventKind, OrderStatus
from cs_console.i18n import LazyText, _, ngettext
from cs_console.timeutil import humanize_duration
from cs_console.ui.actions import bindings_for
from cs_console.ui.text import (
    event_label,
    flag_label,
    group_label,
    local_time,
    money,
    order_status_label,
    safe,
    safe_line,
    status_label,
)
from cs_console.views import ConversationInfo, OrderRow

URGENT_HOURS = 6


class OrderPane(VerticalScroll):
    """Right-hand pane: who the customer is, their orders, the selected order's story."""

    HELP = LazyText(
        """
## Customer and orders

Up/Down picks an order; its timeline, ship-by deadline and remarks show below.
Escape goes back to the queue.
"""
    )

    BINDINGS = bindings_for("orders")

    @dataclass
    class Left(Message):
        """The agent went back to the queue."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        ship_by: Callable[[OrderRow], datetime | None],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.ship_by = ship_by
        self.orders: list[OrderRow] = []
        #: Why no orders can show (the backend keeps none), instead of "No orders."
        self.unavailable: str | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content(_("No conversation open.")), id="customer-card")
        yield OptionList(id="order-list", markup=False)
        yield Static(id="order-detail")

    def action_leave(self) -> None:
        self.post_message(self.Left())

    def set_unavailable(self, reason: str | None) -> None:
        """Say ``reason`` where the orders would be (the backend keeps none)."""
        self.unavailable = reason
        if self.is_mounted:
            self._show_detail()

    def show(self, info: ConversationInfo | None, orders: list[OrderRow]) -> None:
        """Show a customer and their orders (keeps the selected order if it is still there)."""
        card = self.query_one("#customer-card", Static)
        if info is None:
            card.update(Content(_("No conversation open.")))
        else:
            lines = [Content.styled(safe_line(info.customer_name), "bold")]
            contact = " · ".join(
                safe_line(x) for x in (info.customer_email, info.customer_phone) if x
            )
            if contact:
                lines.append(Content(contact))
            lines.append(
                Content.styled(
                    _("{desk} · {status} · language {language}").format(
                        desk=group_label(info.group),
                        status=status_label(info.status),
                        language=safe_line(info.customer_language),
                    ),
                    "$text-muted",
                )
            )
            if info.customer_notes:
                lines.append(safe(info.customer_notes))
            card.update(Content("\n").join(lines))
        option_list = self.query_one("#order-list", OptionList)
        previous = self.selected_order
        self.orders = orders
        option_list.clear_options()
        option_list.add_options([Option(self._order_label(o), id=o.order_id) for o in orders])
        if orders:
            index = next(
                (i for i, o in enumerate(orders) if previous and o.order_id == previous.order_id), 0
            )
            option_list.highlighted = index
        self._show_detail()

    @property
    def selected_order(self) -> OrderRow | None:
        """The highlighted order."""
        option_list = self.query_one("#order-list", OptionList)
        index = option_list.highlighted
        if index is None or not 0 <= index < len(self.orders):
            return None
        return self.orders[index]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_detail()

    def refresh_clock(self) -> None:
        """Re-render the ship-by countdown."""
        self._show_detail()

    def _order_label(self, order: OrderRow) -> Content:
        label = Content.assemble(
            (safe_line(order.number), "bold"),
            "  ",
            (order_status_label(order.status), self._status_style(order)),
            "  ",
            money(order.total_minor, order.currency),
        )
        if order.remarks:
            flags = "".join(FLAG_SYMBOLS[r.flag] for r in order.remarks[-3:])
            label = label + Content("  ") + Content(flags)
        return label

    def _status_style(self, order: OrderRow) -> str:
        if order.status in (OrderStatus.REFUND_REQUESTED, OrderStatus.RETURN_REQUESTED):
            return "$warning"
        if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED):
            return "$text-muted"
        return "$text"

    def _show_detail(self) -> None:
        detail = self.query_one("#order-detail", Static)
        order = self.selected_order
        if order is None:
            if self.orders:
                detail.update("")
            elif self.unavailable:
                detail.update(Content.styled(safe_line(self.unavailable), "$text-muted"))
            else:
                detail.update(Content.styled(_("No orders."), "$text-muted"))
            return
        now = self.clock()
        parts: list[Content] = []
        for item in order.items:
            parts.append(
                Content(
                    f"{item.quantity} × {safe_line(item.name)}  "
                    f"{money(item.unit_price_minor, order.currency)}"
                )
            )
        if order.carrier or order.tracking_number:
            parts.append(
                Content.assemble(
                    (_("Carrier") + " ", "$text-muted"),
                    safe_line(order.carrier or "?"),
                    "  ",
                    (_("Tracking") + " ", "$text-muted"),
                    safe_line(order.tracking_number or "—"),
                )
            )
        deadline = self.ship_by(order)
        if deadline is not None:
            left = (deadline - now).total_seconds()
            urgent = left < URGENT_HOURS * 3600 or order.status is OrderStatus.REFUND_REQUESTED
            if left <= 0:
                late = humanize_duration(-left)
                text = _("Ship-by deadline passed {late} ago ({deadline})").format(
                    late=late, deadline=local_time(deadline)
                )
            else:
                text = _("Ship by {deadline}: {left} left").format(
                    deadline=local_time(deadline), left=humanize_duration(left)
                )
            if order.status is OrderStatus.REFUND_REQUESTED:
                text += " · " + _("refund request pending")
            parts.append(
                Content.styled(
                    ("⚠ " if urgent else "") + text, "bold $error" if urgent else "$warning"
                )
            )
        if order.delivered_at is not None:
            days = max(0, (now - order.delivered_at).days)
            parts.append(
                Content.styled(
                    ngettext(
                        "Signed for {days} day ago", "Signed for {days} days ago", days
                    ).format(days=days),
                    "$text-muted",
                )
            )
        last_remark = max((r.created_at for r in order.remarks), default=None)
        for event in order.events:
            needs_remark = event.kind in (OrderEventKind.ADDRESS_CHANGED, OrderEventKind.CANCELLED)
            if needs_remark and (last_remark is None or last_remark < event.at):
                label = event_label(event.kind)
                parts.append(
                    Content.styled(
                        "⚑ " + _("{event}: leave a remark (f)").format(event=label), "bold $warning"
                    )
                )
                break
        parts.append(Content.styled(_("Timeline"), "bold underline"))
        for event in order.events:
            line = Content.assemble(
                (local_time(event.at) + "  ", "$text-muted"), (event_label(event.kind), "bold")
            )
            if event.detail:
                line = line + Content("  ") + Content(safe_line(event.detail))
            parts.append(line)
        if order.remarks:
            parts.append(Content.styled(_("Remarks"), "bold underline"))
            for remark in order.remarks:
                parts.append(
                    Content.assemble(
                        (
                            f"{FLAG_SYMBOLS[remark.flag]} {flag_label(remark.flag)} ",
                            f"$flag-{remark.flag.value}",
                        ),
                        Content(safe_line(remark.text)),
                        (
                            f" — {safe_line(remark.author)} "
                            f"{local_time(remark.created_at, '%m-%d')}",
                            "$text-muted",
                        ),
                    )
                )
        detail.update(Content("\n").join(parts))
